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


class WardenPermission(BasePermission):
    """The policy decides every request of an authenticated user.

    ``has_permission`` lets reads through to the objects (a list view should
    filter its queryset by the same policy) and asks creates of the view's
    ``warden_create_target(request)`` (a project, say) or of every object;
    ``has_object_permission`` checks the object.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method != "POST":
            return True
        perm = permission("POST", _model(view))
        target_of = getattr(view, "warden_create_target", None)
        target = target_of(request) if target_of is not None else None
        return perm is not None and user.has_perm(perm, target)

    def has_object_permission(self, request: Request, view: Any, obj: Model) -> bool:
        perm = permission(request.method or "", type(obj))
        return perm is not None and request.user.has_perm(perm, obj)
