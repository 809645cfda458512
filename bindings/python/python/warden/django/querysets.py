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

``users_with_perm(perm, page)`` is the other question, "who may edit this
page?" (django-guardian's ``get_users_with_perms``), from
``Warden.list_subjects``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models

from warden import PolicyError
from warden.django import conf, ids
from warden.django.middleware import current_context

log = logging.getLogger("warden.django")


def _keys(constants: list[str], prefix: str, field: Any) -> list[Any]:
    """The keys of ``prefix:<key>`` names, each only when it names exactly one
    row (``page:07`` is not ``page:7``: the program names it differently)."""
    head = f"{prefix}:"
    keys = []
    for name in constants:
        if not name.startswith(head):
            continue
        text = name.removeprefix(head)
        try:
            key = field.to_python(text)
        except (TypeError, ValueError, ValidationError):
            continue
        if str(key) == text:
            keys.append(key)
    return keys


def _user_id_field(user_model: Any) -> Any:
    """The field ``WARDEN["USER_ID"]`` names (``pk``: the primary key)."""
    name = conf.setting("USER_ID")
    return user_model._meta.pk if name == "pk" else user_model._meta.get_field(name)


def authorized(queryset: models.QuerySet[Any], user: Any, perm: str) -> models.QuerySet[Any]:
    """The rows of ``queryset`` that ``user`` may ``perm``."""
    if not getattr(user, "is_active", False):
        return queryset.none()
    if getattr(user, "is_superuser", False):
        # As Django's own `User.has_perm`: an active superuser has every
        # permission, before any backend (or deny rule) is asked.
        return queryset
    model = queryset.model
    is_user = (model._meta.concrete_model or model)._meta.label == conf.user_model_label()
    # Users are named by WARDEN["USER_ID"] (`user:<pk>` or `user:<username>`).
    prefix = "user" if is_user else ids.prefix(model)
    field = _user_id_field(model) if is_user else model._meta.pk
    lookup = f"{field.name}__in"
    try:
        listing = conf.engine().list_objects(
            ids.subject(user), perm, prefix, at=conf.now(), ctx=current_context()
        )
    except (PolicyError, ValueError):
        # The policy does not load, or a limit stopped the listing: no rows.
        log.exception("Warden could not list %s for %s", perm, user)
        return queryset.none()
    if listing.every:
        # A name that is no row's key excludes nothing; one that is stays out.
        return queryset.exclude(**{lookup: _keys(listing.excluded, prefix, field)})
    return queryset.filter(**{lookup: _keys(listing.objects, prefix, field)})


def users_with_perm(
    perm: str, obj: object = None, is_active: bool | None = True, include_superusers: bool = True
) -> models.QuerySet[Any]:
    """The users the policy lets ``perm`` on ``obj`` (``None``: the
    object-less question), each decided as the program decides
    ``has_perm(perm, obj)`` for them, users no fact names included when the
    policy lets anyone in; with ``include_superusers``, Django's superusers
    too (Django answers for them before any backend).
    """
    user_model = get_user_model()
    field = _user_id_field(user_model)
    lookup = f"{field.name}__in"
    users = user_model._default_manager.all()
    if is_active is not None:
        users = users.filter(is_active=is_active)
    superusers = models.Q(is_superuser=True) if include_superusers else models.Q(pk__in=[])
    target = ids.constant(obj)  # an unsaved object raises, as in `has_perm`
    try:
        listing = conf.engine().list_subjects(
            perm, target, subject_type="user", at=conf.now(), ctx=current_context()
        )
    except (PolicyError, ValueError):
        # The policy does not load, or a limit stopped the listing: nobody by the policy.
        log.exception("Warden could not list who may %s %r", perm, obj)
        return users.filter(superusers)
    if listing.every:
        allowed = ~models.Q(**{lookup: _keys(listing.excluded, "user", field)})
    else:
        allowed = models.Q(**{lookup: _keys(listing.subjects, "user", field)})
    if not include_superusers:
        return users.filter(allowed).exclude(is_superuser=True)
    return users.filter(allowed | superusers)


class WardenQuerySet(models.QuerySet):  # type: ignore[type-arg]
    """A queryset with ``.authorized(user, perm)``."""

    def authorized(self, user: Any, perm: str) -> WardenQuerySet:
        """The rows ``user`` may ``perm``."""
        return authorized(self, user, perm)  # type: ignore[return-value]
