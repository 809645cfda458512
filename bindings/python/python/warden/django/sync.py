"""Facts from the ORM, loaded once and kept fresh.

Each synced instance owns the facts it implies: a user its ``superuser`` /
``inactive`` status, its group memberships and its own permissions (global
``grant``s); a group its permissions; an instance of a model named in
``WARDEN["RELATIONS"]`` its foreign keys; any model with a ``warden_facts()``
method what that returns. On ``post_save``, ``post_delete`` and
``m2m_changed`` the owner's facts are recomputed when the transaction
commits (``transaction.on_commit``: a rolled-back transaction changes
nothing) and the difference is applied as one atomic ``update``. If an update
is refused, the program is dropped and rebuilt from the database on next use,
so it never keeps granting what the database took away.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from warden import PolicyError, Warden
from warden.django import conf, facts
from warden.django.ids import constant, literal

log = logging.getLogger("warden.django")

Key = tuple[str, Any]

_lock = threading.RLock()
# The facts last applied for each instance, by (model label, pk).
_applied: dict[Key, frozenset[str]] = {}


def _key(instance: models.Model) -> Key:
    return (instance._meta.label, instance.pk)


def _perm_name(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def _relations(model: type[models.Model]) -> list[dict[str, str]]:
    configured: list[dict[str, str]] = conf.setting("RELATIONS")
    return [r for r in configured if r["model"] == model._meta.label]


def synced_models() -> list[type[models.Model]]:
    """The models whose instances own facts."""
    out: list[type[models.Model]] = []
    if conf.setting("SYNC_AUTH"):
        out += [get_user_model(), Group]
    for model in apps.get_models():
        if model not in out and (_relations(model) or hasattr(model, "warden_facts")):
            out.append(model)
    return out


def facts_of(instance: models.Model) -> frozenset[str]:
    """Every fact ``instance`` implies, as statement text."""
    out: set[str] = set()
    model = type(instance)
    if conf.setting("SYNC_AUTH") and model is get_user_model():
        if getattr(instance, "is_superuser", False):
            out.add(facts.superuser(instance))
        if not getattr(instance, "is_active", True):
            out.add(facts.inactive(instance))
        out.update(facts.member(instance, g) for g in instance.groups.all())  # type: ignore[attr-defined]
        perms = instance.user_permissions.select_related("content_type")  # type: ignore[attr-defined]
        out.update(facts.grant(instance, _perm_name(p)) for p in perms)
    if conf.setting("SYNC_AUTH") and model is Group:
        perms = instance.permissions.select_related("content_type")  # type: ignore[attr-defined]
        out.update(facts.grant(instance, _perm_name(p)) for p in perms)
    for relation in _relations(model):
        target = getattr(instance, relation["field"])
        if target is None:
            continue
        if relation["relation"] == "in":
            out.add(facts.member(instance, target))
        else:
            out.add(facts.fact(relation["relation"], target, instance))
    if hasattr(instance, "warden_facts"):
        out.update(instance.warden_facts())
    return frozenset(out)


def _all_instances(model: type[models.Model]) -> Iterable[models.Model]:
    query = model._default_manager.all()
    if conf.setting("SYNC_AUTH") and model is get_user_model():
        query = query.prefetch_related("groups", "user_permissions__content_type")
    elif conf.setting("SYNC_AUTH") and model is Group:
        query = query.prefetch_related("permissions__content_type")
    return query.iterator(chunk_size=2000)


def load_all(warden: Warden) -> int:
    """Inserts every synced instance's facts in one batch; returns how many."""
    everything: set[str] = set()
    with _lock:
        _applied.clear()
        for model in synced_models():
            for instance in _all_instances(model):
                owned = facts_of(instance)
                _applied[_key(instance)] = owned
                everything |= owned
    warden.update(insert=sorted(everything))
    return len(everything)


def applied_count() -> int:
    """How many facts the synced instances own."""
    with _lock:
        return len(set().union(*_applied.values()))


def forget() -> None:
    """Forgets what was applied (the program is being rebuilt)."""
    with _lock:
        _applied.clear()


def _apply(key: Key, now: frozenset[str]) -> None:
    """Applies the difference between what ``key`` owned and owns ``now``."""
    with _lock:
        before = _applied.get(key, frozenset())
        if before == now:
            return
        try:
            conf.engine().update(insert=sorted(now - before), remove=sorted(before - now))
        except PolicyError:
            log.exception("Warden refused the facts of %s; the program is rebuilt on next use", key)
            conf.reset()
            return
        if now:
            _applied[key] = now
        else:
            _applied.pop(key, None)


def refresh(instance: models.Model) -> None:
    """Recomputes ``instance``'s facts from the database and applies the change."""
    if conf.loaded():
        _apply(_key(instance), facts_of(instance))


def _on_save(sender: type[models.Model], instance: models.Model, **_: Any) -> None:
    if sender in synced_models():
        transaction.on_commit(lambda: refresh(instance))


def _on_delete(sender: type[models.Model], instance: models.Model, **_: Any) -> None:
    if sender in synced_models():
        key = _key(instance)
        transaction.on_commit(lambda: conf.loaded() and _apply(key, frozenset()))


def _owners_mentioning(constant: str) -> list[Key]:
    with _lock:
        return [key for key, owned in _applied.items() if any(constant in fact for fact in owned)]


def _on_m2m(
    sender: type[models.Model], instance: models.Model, action: str, reverse: bool, **kwargs: Any
) -> None:
    """A many-to-many field changed: refresh the instances that own its facts.

    Forward (``user.groups.add(g)``) the owner is ``instance``; in reverse
    (``group.user_set.add(u)``) the owners are the other side's rows.
    """
    if not action.startswith("post_"):
        return
    synced = synced_models()
    if not reverse:
        if type(instance) in synced:
            transaction.on_commit(lambda: refresh(instance))
        return
    owner_model: type[models.Model] = kwargs["model"]
    if owner_model not in synced:
        return
    pks = set(kwargs.get("pk_set") or ())
    if action == "post_clear":
        mentioned = literal(_perm_name(instance) if isinstance(instance, Permission) else constant(instance))
        pks |= {pk for label, pk in _owners_mentioning(mentioned) if label == owner_model._meta.label}

    def refresh_owners() -> None:
        for owner in owner_model._default_manager.filter(pk__in=pks):
            refresh(owner)

    transaction.on_commit(refresh_owners)


def connect() -> None:
    """Connects the signal handlers (``WardenConfig.ready``)."""
    post_save.connect(_on_save, dispatch_uid="warden.django.sync.save")
    post_delete.connect(_on_delete, dispatch_uid="warden.django.sync.delete")
    m2m_changed.connect(_on_m2m, dispatch_uid="warden.django.sync.m2m")
