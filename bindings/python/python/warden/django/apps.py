"""The Django app: ``INSTALLED_APPS = [..., "warden.django"]``."""

from django.apps import AppConfig


class WardenConfig(AppConfig):
    """Connects the ORM sync's signal handlers."""

    name = "warden.django"
    label = "warden"
    verbose_name = "Warden"

    def ready(self) -> None:
        from warden.django import sync

        sync.connect()
