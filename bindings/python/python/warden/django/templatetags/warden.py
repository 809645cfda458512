"""Template tags: ``{% load warden %}``.

``{% warden_perms page as perms %}`` then ``{% if perms.can_change_page %}``
(the permission ``<app_label>.change_page`` on ``page``) or
``{% if perms|has:"wiki.publish_page" %}``.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Model

register = template.Library()


class ObjectPerms:
    """What the current user may do on one object, asked lazily."""

    def __init__(self, user: Any, obj: Model) -> None:
        self.user = user
        self.obj = obj

    def __getattr__(self, name: str) -> bool:
        if not name.startswith("can_"):
            raise AttributeError(name)
        return self.has(f"{self.obj._meta.app_label}.{name.removeprefix('can_')}")

    def has(self, perm: str) -> bool:
        """Whether the user holds ``perm`` on the object."""
        return bool(self.user is not None and self.user.has_perm(perm, self.obj))


@register.simple_tag(takes_context=True)
def warden_perms(context: template.Context, obj: Model) -> ObjectPerms:
    """The permissions of the request's user on ``obj``."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return ObjectPerms(user, obj)


@register.filter
def has(perms: ObjectPerms, perm: str) -> bool:
    """``perms|has:"wiki.publish_page"``."""
    return perms.has(perm)
