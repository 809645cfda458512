"""``manage.py warden_explain QUERY``: why a query holds, or why not."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from warden.django import conf


class Command(BaseCommand):
    help = "Explains a query such as 'allowed(\"user:3\", wiki.change_page, page:7)' over the synced facts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("query")
        parser.add_argument("--at", help="an RFC 3339 request time (default: now)")
        parser.add_argument("--json", action="store_true", help="print the explanation as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        explanation = conf.engine().explain(options["query"], at=options["at"])
        self.stdout.write(explanation.json if options["json"] else explanation.text)
