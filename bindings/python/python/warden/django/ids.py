"""Django objects as Warden constants, and statements as text.

A model instance is ``<prefix>:<pk>``: the prefix is the model's name
(``page`` for ``wiki.Page``) unless ``WARDEN["MODELS"]`` names another; a user
is ``user:<pk>`` (``WARDEN["USER_ID"] = "username"``: ``user:<username>``), a
group ``group:<pk>``. A Django permission string (``wiki.change_page``) is the
Warden permission as it stands.

Constants are written into statements as quoted strings (``"page:7"`` is the
same constant as ``page:7``), so a primary key with a colon or a quote, or a
permission with odd characters, can never change what a statement says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from warden.django import conf

EVERY_OBJECT = "*"


def literal(value: str) -> str:
    """``value`` as a policy string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    escaped = "".join(c if c.isprintable() or c in "\\" else f"\\u{{{ord(c):x}}}" for c in escaped)
    return f'"{escaped}"'


def timestamp(value: datetime) -> str:
    """An aware datetime as an RFC 3339 timestamp constant."""
    if value.utcoffset() is None:
        raise ValueError(f"a naive datetime ({value}) has no time zone: use an aware one (USE_TZ = True)")
    return value.isoformat().replace("+00:00", "Z")


def prefix(model: type[models.Model]) -> str:
    """The typed-id prefix of a model's instances (a proxy's is its concrete model's)."""
    concrete = model._meta.concrete_model or model
    names: dict[str, str] = conf.setting("MODELS")
    return names.get(concrete._meta.label, concrete._meta.model_name or concrete.__name__.lower())


def check_prefixes(models_: list[type[models.Model]]) -> None:
    """Refuses two models named by one prefix (``blog.Post`` and
    ``forum.Post`` would both be ``post:7``: a grant on one would grant the
    other); ``user`` and ``group`` are the auth user's and group's."""
    taken: dict[str, str] = {"user": conf.user_model_label(), "group": "auth.Group"}
    for model in models_:
        if model._meta.proxy:
            continue
        label, name = model._meta.label, prefix(model)
        owner = taken.setdefault(name, label)
        if owner != label:
            other = label.replace(".", "_").lower()
            raise ImproperlyConfigured(
                f"Warden would name both {owner} and {label} `{name}:<pk>`: "
                f'give one another prefix in WARDEN["MODELS"], e.g. {{"{label}": "{other}"}}'
            )


def subject(user: Any) -> str:
    """The Warden subject of a Django user (``user:<pk>``)."""
    if getattr(user, "is_anonymous", False):
        return "anonymous"
    key = getattr(user, conf.setting("USER_ID"))
    if key is None:
        raise ValueError(f"the user {user!r} has no {conf.setting('USER_ID')} (is it saved?)")
    return f"user:{key}"


def group(group: Group) -> str:
    """The Warden constant of a Django group (``group:<pk>``)."""
    return f"group:{group.pk}"


def constant(obj: object) -> str:
    """The Warden constant of what ``has_perm`` was given as ``obj``.

    ``None`` is every object (the object-less question); a model instance is
    ``<prefix>:<pk>``; a str is taken as a Warden constant as it stands.
    """
    if obj is None:
        return EVERY_OBJECT
    if isinstance(obj, str):
        return obj
    if isinstance(obj, Group):
        return group(obj)
    if isinstance(obj, models.Model):
        if obj.pk is None:
            raise ValueError(f"{obj!r} is not saved: it has no primary key to name it by")
        if (obj._meta.concrete_model or type(obj))._meta.label == conf.user_model_label():
            return subject(obj)
        return f"{prefix(type(obj))}:{obj.pk}"
    raise TypeError(f"Warden cannot name a {type(obj).__name__}: pass a model instance, a str or None")
