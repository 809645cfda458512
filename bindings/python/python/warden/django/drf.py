"""Django REST framework: ``permission_classes = [WardenPermission]``.

The permission of a request is ``<app_label>.<action>_<model_name>``, with
the action by method as in DRF's ``DjangoObjectPermissions`` (GET: view,
POST: add, PUT/PATCH: change, DELETE: delete). An object is checked on the
object; a create asks the object-less question unless the view names the
container the new object goes into (``warden_create_target``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


def permission(method: str, model: type[Model]) -> str | None:
    """The Django permission a request of ``method`` on ``model`` needs."""
    action = ACTIONS.get(method.upper())
    return None if action is None else f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def _model(view: Any) -> type[Model]:
    queryset = view.get_queryset() if hasattr(view, "get_queryset") else view.queryset
    return queryset.model


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _is_detail(view: Any) -> bool:
    """Whether the view works on one object (it will call ``get_object``)."""
    lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
    return lookup is not None and lookup in getattr(view, "kwargs", {})


def _target(request: Request, view: Any) -> object:
    """The container a new or moved object goes into, if the view names it."""
    target_of = getattr(view, "warden_create_target", None)
    return target_of(request) if target_of is not None else None


class WardenPermission(BasePermission):
    """The policy decides every request of an authenticated user.

    - A read lets the view through to its objects: a detail view checks the
      object; a list view must filter its queryset by the same policy.
    - A create asks ``<app>.add_<model>`` on the view's
      ``warden_create_target(request)`` (the project, say), or on every
      object when the view names none.
    - A change or a delete of one object checks that object (and, when the
      request moves it into another container, ``add`` there too); one that
      names no object (a bulk action) asks the object-less question.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        method = (request.method or "").upper()
        if method in SAFE_METHODS:
            return True
        model = _model(view)
        if method == "POST":
            perm = permission("POST", model)
            return perm is not None and user.has_perm(perm, _target(request, view))
        if _is_detail(view):
            target = _target(request, view)
            add = permission("POST", model)
            return target is None or (add is not None and user.has_perm(add, target))
        perm = permission(method, model)
        return perm is not None and user.has_perm(perm, None)

    def has_object_permission(self, request: Request, view: Any, obj: Model) -> bool:
        perm = permission(request.method or "", type(obj))
        return perm is not None and request.user.has_perm(perm, obj)


class WardenFilterBackend:
    """``filter_backends = [WardenFilterBackend]``: a list shows the objects
    the user may view (``<app>.view_<model>``), filtered in the database."""

    def filter_queryset(self, request: Request, queryset: Any, view: Any) -> Any:
        from warden.django.querysets import authorized

        perm = permission("GET", queryset.model)
        return authorized(queryset, request.user, perm) if perm is not None else queryset.none()
