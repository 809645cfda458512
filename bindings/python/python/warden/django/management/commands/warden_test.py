"""``manage.py warden_test``: runs the policies' ``test`` blocks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from warden import Warden
from warden.django import conf


class Command(BaseCommand):
    help = "Runs the test blocks of the policies in WARDEN['POLICIES'] (their own facts, not the database's)."

    def handle(self, *args: Any, **options: Any) -> None:
        policies = [str(p) for p in conf.setting("POLICIES")]
        results = Warden.from_paths(policies, extern_fns=conf.extern_fns()).run_tests()
        for name, failure in results:
            self.stdout.write(f"PASS {name}" if failure is None else f"FAIL {name}\n  {failure}")
        failed = sum(1 for _, failure in results if failure is not None)
        self.stdout.write(f"{len(results) - failed} passed, {failed} failed")
        if failed:
            raise SystemExit(1)
