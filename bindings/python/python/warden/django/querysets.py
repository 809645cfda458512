"""Which objects may this user see: querysets filtered by the policy.

``authorized(Page.objects.all(), user, "wiki.view_page")`` keeps the pages
the policy lets ``user`` view, in one ``WHERE``: Warden lists the objects
of the model's type the user may act on (``Warden.list_objects``), or says
the user may act on every one of them but a few (a global role, a
superuser), and the queryset is filtered by primary key. It decides exactly
like ``user.has_perm`` on each row (an active superuser sees every row, as
Django's ``has_perm`` answers before asking any backend); a row the program
has no fact about is decided like any object the program does not know.

``WardenQuerySet`` adds it as a method (``Page.objects.authorized(user,
perm)`` with ``objects = WardenQuerySet.as_manager()``), and
``WardenFilterBackend`` applies it to DRF list views.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import models

from warden import PolicyError
from warden.django import conf, ids
from warden.django.middleware import current_context

log = logging.getLogger("warden.django")


def _pks(constants: list[str], prefix: str) -> list[str]:
    head = f"{prefix}:"
    return [c.removeprefix(head) for c in constants if c.startswith(head)]


def authorized(queryset: models.QuerySet[Any], user: Any, perm: str) -> models.QuerySet[Any]:
    """The rows of ``queryset`` that ``user`` may ``perm``."""
    if not getattr(user, "is_active", False):
        return queryset.none()
    if getattr(user, "is_superuser", False):
        # As Django's own `User.has_perm`: an active superuser has every
        # permission, before any backend (or deny rule) is asked.
        return queryset
    prefix = ids.prefix(queryset.model)
    try:
        listing = conf.engine().list_objects(
            ids.subject(user), perm, prefix, at=conf.now(), ctx=current_context()
        )
    except (PolicyError, ValueError):
        # The policy does not load, or a limit stopped the listing: no rows.
        log.exception("Warden could not list %s for %s", perm, user)
        return queryset.none()
    if listing.every:
        return queryset.exclude(pk__in=_pks(listing.excluded, prefix))
    return queryset.filter(pk__in=_pks(listing.objects, prefix))


class WardenQuerySet(models.QuerySet):  # type: ignore[type-arg]
    """A queryset with ``.authorized(user, perm)``."""

    def authorized(self, user: Any, perm: str) -> WardenQuerySet:
        """The rows ``user`` may ``perm``."""
        return authorized(self, user, perm)  # type: ignore[return-value]
