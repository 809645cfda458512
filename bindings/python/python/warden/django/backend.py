"""``WardenBackend``: Django's permission checks, decided by the policy.

``AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend",
"warden.django.backend.WardenBackend"]``: ``ModelBackend`` authenticates,
Warden authorizes (put only Warden there to stop Django's own model
permissions from granting beside the policy; they are synced as global
``grant``s anyway). ``user.has_perm(perm)`` without an object asks the
object-less question: may the user ``perm`` every object?
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Model, QuerySet

from warden import PolicyError
from warden.django import conf, ids
from warden.django.middleware import current_context
from warden.django.querysets import users_with_perm

log = logging.getLogger("warden.django")


def _target(obj: object) -> str:
    """The object of a query: ``*`` (every object) or its quoted constant."""
    name = ids.constant(obj)
    return "*" if name == ids.EVERY_OBJECT else ids.literal(name)


class WardenBackend(BaseBackend):
    """Answers ``has_perm`` and friends from the Warden policy; authenticates nobody."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def has_perm(self, user_obj: Any, perm: str, obj: object = None) -> bool:
        """Whether the policy allows ``user_obj`` ``perm`` on ``obj`` (``None``: every object).

        Inactive and anonymous users get nothing; a denial returns False (it
        never raises ``PermissionDenied``, so other backends still run). An
        ``obj`` Warden cannot name is a ``TypeError``/``ValueError``.
        """
        if not getattr(user_obj, "is_active", False):
            return False
        subject, target = ids.subject(user_obj), ids.constant(obj)
        try:
            return conf.engine().is_allowed(subject, perm, target, at=conf.now(), ctx=current_context())
        except PolicyError:
            log.exception("the Warden policy does not load: denying %s %s %s", subject, perm, target)
            return False

    def get_all_permissions(self, user_obj: Any, obj: object = None) -> set[str]:
        """Every permission of the program that ``user_obj`` holds on ``obj``."""
        if not getattr(user_obj, "is_active", False):
            return set()
        query = f"allowed({ids.literal(ids.subject(user_obj))}, P, {_target(obj)})"
        try:
            answer = conf.engine().query(query, at=conf.now(), ctx=current_context())
        except PolicyError:
            log.exception("the Warden policy does not load: no permissions for %s", user_obj)
            return set()
        return {str(perm) for (perm,) in answer.rows}

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        """Whether ``user_obj`` holds any permission of ``app_label`` on any
        object (the admin shows the app to it then)."""
        if not getattr(user_obj, "is_active", False):
            return False
        query = f"allowed({ids.literal(ids.subject(user_obj))}, P, O)"
        try:
            answer = conf.engine().query(query, at=conf.now(), ctx=current_context())
        except PolicyError:
            log.exception("the Warden policy does not load: no module permissions for %s", user_obj)
            return False
        return any(str(perm).startswith(f"{app_label}.") for perm, _ in answer.rows)

    def with_perm(
        self,
        perm: str | Permission,
        is_active: bool = True,
        include_superusers: bool = True,
        obj: Model | None = None,
        backend: str | None = None,
    ) -> QuerySet[Any]:
        """The users the policy allows ``perm`` on ``obj`` (``None``: every
        object); see :func:`warden.django.querysets.users_with_perm`."""
        if isinstance(perm, Permission):
            perm = f"{perm.content_type.app_label}.{perm.codename}"
        return users_with_perm(perm, obj, is_active=is_active, include_superusers=include_superusers)


class AuthenticationOnlyBackend(ModelBackend):
    """Django's ``ModelBackend`` for logging in, with its permission checks
    silenced, so that only the policy grants (a deny rule cannot be bypassed
    by a model permission; those are synced as global ``grant``s anyway)."""

    def get_user_permissions(self, user_obj: Any, obj: object = None) -> set[str]:
        return set()

    def get_group_permissions(self, user_obj: Any, obj: object = None) -> set[str]:
        return set()

    def get_all_permissions(self, user_obj: Any, obj: object = None) -> set[str]:
        return set()

    def has_perm(self, user_obj: Any, perm: str, obj: object = None) -> bool:
        return False

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return False

    def with_perm(
        self, perm: Any, is_active: bool = True, include_superusers: bool = True, obj: Any = None
    ) -> Any:
        return get_user_model()._default_manager.none()
