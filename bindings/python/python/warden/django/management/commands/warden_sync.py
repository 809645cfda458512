"""``manage.py warden_sync``: reloads the policies and every fact from the database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from warden.django import conf, sync


class Command(BaseCommand):
    help = "Rebuilds this process's Warden program from the policies and the database, and counts the facts."

    def handle(self, *args: Any, **options: Any) -> None:
        conf.reset()
        conf.engine()
        self.stdout.write(f"synced {sync.applied_count()} facts from {len(sync.synced_models())} models")
