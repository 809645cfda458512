"""The Django app: ``INSTALLED_APPS = [..., "warden.django"]``."""

from django.apps import AppConfig


class WardenConfig(AppConfig):
    """Checks that no two models share a name prefix; connects the ORM sync."""

    name = "warden.django"
    label = "warden"
    verbose_name = "Warden"

    def ready(self) -> None:
        from django.apps import apps

        from warden.django import ids, sync

        ids.check_prefixes(list(apps.get_models()))
        sync.connect()
