"""Facts from the ORM, loaded once and kept fresh.

Each synced row owns the facts it implies: a user its ``superuser`` /
``inactive`` status, its group memberships and its own permissions (global
``grant``s); a group its permissions; a row of a model named in
``WARDEN["RELATIONS"]`` its foreign keys; a row of a model with a
``warden_facts()`` method what that returns.

On ``post_save``, ``post_delete`` and ``m2m_changed`` the owners' keys are
recorded, and when the transaction commits (``transaction.on_commit``: a
rolled-back transaction changes nothing) each owner is read again from the
database, its facts recomputed and the difference applied as one atomic
``update``, under one lock, so that commits apply in order. A change that
commits while the program loads is applied right after the load. If anything
fails, the program is dropped and rebuilt from the database on next use, so
it never keeps granting what the database took away.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from warden import Warden
from warden.django import conf, facts
from warden.django.ids import constant, literal

log = logging.getLogger("warden.django")

Model = type[models.Model]
Key = tuple[str, Any]

# The facts last applied for each owner, by (concrete model label, pk).
_applied: dict[Key, frozenset[str]] = {}
# Owners changed while the program was not loaded yet.
_queued: set[tuple[Model, Any]] = set()


def _concrete(model: Model) -> Model:
    concrete: Model = model._meta.concrete_model or model
    return concrete


def _key(model: Model, pk: Any) -> Key:
    return (_concrete(model)._meta.label, pk)


def _perm_name(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def _relations(model: Model) -> list[dict[str, str]]:
    configured: list[dict[str, str]] = conf.setting("RELATIONS")
    return [r for r in configured if r["model"] == _concrete(model)._meta.label]


def synced_models() -> list[Model]:
    """The (concrete) models whose rows own facts."""
    out: list[Model] = []
    if conf.setting("SYNC_AUTH"):
        out += [_concrete(get_user_model()), Group]
    for model in apps.get_models():
        if model._meta.proxy or model in out:
            continue
        if _relations(model) or hasattr(model, "warden_facts"):
            out.append(model)
    return out


def facts_of(instance: models.Model) -> frozenset[str]:
    """Every fact ``instance`` implies, as statement text."""
    out: set[str] = set()
    model = _concrete(type(instance))
    if conf.setting("SYNC_AUTH") and model is _concrete(get_user_model()):
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


def _all_rows(model: Model) -> Iterable[models.Model]:
    """Every row of a synced model, with what its facts read fetched in bulk
    (its foreign keys joined, its many-to-many fields prefetched)."""
    query = model._default_manager.all()
    if conf.setting("SYNC_AUTH") and model is _concrete(get_user_model()):
        return query.prefetch_related("groups", "user_permissions__content_type").iterator(chunk_size=2000)
    if conf.setting("SYNC_AUTH") and model is Group:
        return query.prefetch_related("permissions__content_type").iterator(chunk_size=2000)
    foreign = [f.name for f in model._meta.concrete_fields if f.many_to_one]
    many = [f.name for f in model._meta.many_to_many]
    return query.select_related(*foreign).prefetch_related(*many).iterator(chunk_size=2000)


def load_all(warden: Warden) -> int:
    """Inserts every synced row's facts in one batch; returns how many."""
    everything: set[str] = set()
    with conf.lock:
        _applied.clear()
        for model in synced_models():
            for row in _all_rows(model):
                owned = facts_of(row)
                _applied[_key(model, row.pk)] = owned
                everything |= owned
        warden.update(insert=sorted(everything))
    return len(everything)


def drain(warden: Warden) -> None:
    """Applies the changes that committed while the program loaded."""
    with conf.lock:
        queued = list(_queued)
        _queued.clear()
        for model, pk in queued:
            _refresh(model, pk)


def applied_count() -> int:
    """How many facts the synced rows own."""
    with conf.lock:
        return len(set().union(*_applied.values()))


def forget() -> None:
    """Forgets what was applied (the program is being rebuilt)."""
    with conf.lock:
        _applied.clear()
        _queued.clear()


def _refresh(model: Model, pk: Any) -> None:
    """Reads one owner again and applies the change of its facts (under the lock)."""
    row = _concrete(model)._default_manager.filter(pk=pk).first()
    key = _key(model, pk)
    now = facts_of(row) if row is not None else frozenset()
    before = _applied.get(key, frozenset())
    if before == now:
        return
    conf.engine().update(insert=sorted(now - before), remove=sorted(before - now))
    if now:
        _applied[key] = now
    else:
        _applied.pop(key, None)


def refresh(owners: Iterable[tuple[Model, Any]]) -> None:
    """Applies the committed state of ``owners`` (model, pk): into the
    program when it is loaded, else after it loads. Any failure drops the
    program, to be rebuilt from the database."""
    try:
        with conf.lock:
            for model, pk in owners:
                if conf.loaded():
                    _refresh(model, pk)
                else:
                    _queued.add((_concrete(model), pk))
    except Exception:
        log.exception("Warden could not apply a change; the program is rebuilt on next use")
        conf.reset()


def _after_commit(owners: list[tuple[Model, Any]]) -> None:
    if owners:
        transaction.on_commit(lambda: refresh(owners))


def _owners_mentioning(instance: models.Model) -> list[tuple[Model, Any]]:
    """The owners whose facts name ``instance`` (a group, a permission, a page)."""
    try:
        mention = literal(_perm_name(instance) if isinstance(instance, Permission) else constant(instance))
    except (TypeError, ValueError):
        return []
    by_label = {m._meta.label: m for m in synced_models()}
    with conf.lock:
        keys = [key for key, owned in _applied.items() if any(mention in fact for fact in owned)]
    return [(by_label[label], pk) for label, pk in keys if label in by_label]


def _through_owners(instance: models.Model) -> list[tuple[Model, Any]]:
    """The synced rows on either side of an automatic many-to-many row."""
    synced = synced_models()
    out = []
    for field in instance._meta.concrete_fields:
        target = getattr(field, "related_model", None)
        if target is not None and _concrete(target) in synced:
            out.append((_concrete(target), getattr(instance, field.attname)))
    return out


def _on_save(sender: Model, instance: models.Model, **_: Any) -> None:
    if _concrete(sender) in synced_models():
        _after_commit([(sender, instance.pk)])


def _on_delete(sender: Model, instance: models.Model, **_: Any) -> None:
    owners: list[tuple[Model, Any]] = []
    if sender._meta.auto_created:
        owners += _through_owners(instance)  # a membership or a permission link, cascaded
    elif _concrete(sender) in synced_models():
        owners.append((sender, instance.pk))
    if isinstance(instance, Group | Permission):
        # Facts of other owners that name it: its links go by the automatic
        # rows above; this also covers a warden_facts() that names it.
        owners += _owners_mentioning(instance)
    _after_commit(owners)


def _on_m2m(sender: Model, instance: models.Model, action: str, reverse: bool, **kwargs: Any) -> None:
    """A many-to-many field changed: refresh the rows that own its facts.

    Forward (``user.groups.add(g)``) the owner is ``instance``; in reverse
    (``group.user_set.add(u)``) the owners are the other side's rows.
    """
    if not action.startswith("post_"):
        return
    synced = synced_models()
    if not reverse:
        if _concrete(type(instance)) in synced:
            _after_commit([(type(instance), instance.pk)])
        return
    owner_model = _concrete(kwargs["model"])
    if owner_model not in synced:
        return
    owners = [(owner_model, pk) for pk in kwargs.get("pk_set") or ()]
    if action == "post_clear":
        owners += [(m, pk) for m, pk in _owners_mentioning(instance) if m is owner_model]
    _after_commit(owners)


HANDLERS: list[tuple[Any, Callable[..., None], str]] = [
    (post_save, _on_save, "warden.django.sync.save"),
    (post_delete, _on_delete, "warden.django.sync.delete"),
    (m2m_changed, _on_m2m, "warden.django.sync.m2m"),
]


def connect() -> None:
    """Connects the signal handlers (``WardenConfig.ready``)."""
    for signal, handler, uid in HANDLERS:
        signal.connect(handler, dispatch_uid=uid)
