"""The admin: object permissions from the policy, and a "Why?" page.

``class PageAdmin(WardenAdminMixin, admin.ModelAdmin)`` asks Warden for the
view, change and delete permissions of each object (Django's admin asks
``has_perm`` without the object). The changelist and the add form ask the
object-less question (a permission on every object). Each object gets a
``why/`` page (``<admin>/<app>/<model>/<pk>/why/?user=<pk>&perm=<perm>``)
that shows ``explain`` for a user, a permission and the object.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from warden.django import conf, ids


class WardenAdminMixin:
    """Object permissions for a ``ModelAdmin``, decided by the policy."""

    opts: Any
    admin_site: admin.AdminSite
    model: type[Model]

    def _warden_allows(self, request: HttpRequest, action: str, obj: Model | None) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{action}_{self.opts.model_name}", obj)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._warden_allows(request, "view", obj) or self._warden_allows(request, "change", obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._warden_allows(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._warden_allows(request, "delete", obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._warden_allows(request, "add", None)

    def get_urls(self) -> list[URLPattern]:
        why = path(
            "<path:object_id>/why/",
            self.admin_site.admin_view(self.why_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_why",
        )
        return [why, *super().get_urls()]  # type: ignore[misc]

    def why_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """``explain`` for ``?user=<pk>&perm=<perm>`` on this object: one's
        own, or anyone's for a superuser (a proof shows what a user holds)."""
        obj = get_object_or_404(self.model, pk=object_id)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        asked = request.GET.get("user", str(request.user.pk))
        if asked != str(request.user.pk) and not request.user.is_superuser:
            raise PermissionDenied
        user = get_object_or_404(get_user_model(), pk=asked)
        perm = request.GET.get("perm") or f"{self.opts.app_label}.change_{self.opts.model_name}"
        subject, target = ids.literal(ids.subject(user)), ids.literal(ids.constant(obj))
        atom = f"allowed({subject}, {ids.literal(perm)}, {target})"
        explanation = conf.engine().explain(atom)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Why? {user} / {perm} / {obj}",
            "explanation": explanation,
            "opts": self.opts,
            "object": obj,
        }
        return TemplateResponse(request, "warden/why.html", context)
