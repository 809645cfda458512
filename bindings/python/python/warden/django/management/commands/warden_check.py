"""``manage.py warden_check USER PERM [OBJECT]``: one decision and its reason."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from warden.django import conf, ids


class Command(BaseCommand):
    help = "Asks the policy whether USER may PERM OBJECT (a constant such as page:7; none: every object)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="a username, or a Warden subject such as user:3")
        parser.add_argument("perm", help="a permission such as wiki.change_page")
        parser.add_argument("object", nargs="?", default="*", help="a constant such as page:7 (default: *)")
        parser.add_argument("--at", help="an RFC 3339 request time (default: now)")

    def handle(self, *args: Any, **options: Any) -> None:
        subject = subject_of(options["user"])
        decision = conf.engine().check(subject, options["perm"], options["object"], at=options["at"])
        self.stdout.write(decision.reason)
        for line in decision.errors + decision.notes:
            self.stdout.write(f"  {line}")
        if not decision.allowed:
            raise SystemExit(1)


def subject_of(text: str) -> str:
    """A username as its Warden subject; a Warden constant as it stands."""
    if ":" in text:
        return text
    user = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: text}).first()
    if user is None:
        raise CommandError(f"no user {text!r}")
    return ids.subject(user)
