"""Settings (``settings.WARDEN``) and the process's Warden program.

``WARDEN`` keys (all optional but ``POLICIES``):

- ``POLICIES``: policy and data files or directories.
- ``EXTERN_FNS``: ``{"in_office": "myapp.checks.in_office"}``, Python
  callables (or their dotted paths) for the policy's ``extern fn``s.
- ``USER_ID``: ``"pk"`` (default) or ``"username"``: users are ``user:<it>``.
- ``MODELS``: ``{"wiki.Page": "page"}``, typed-id prefixes by model label
  (default: the model's name).
- ``RELATIONS``: foreign keys synced as facts, e.g.
  ``{"model": "wiki.Page", "field": "project", "relation": "in"}`` gives
  ``page:7 in project:2``; another relation name ``r`` gives
  ``r(<target>, <instance>)`` (``owner(user:3, page:7)``).
- ``SYNC_AUTH``: sync Django's users, groups and permissions (default True).
- ``CLOCK``: a callable (or its dotted path) returning the aware datetime
  checks are made at (default: the wall clock); for tests and replays.
- ``SOURCE``: a source file (``warden.toml``) binding relations to SQL
  queries on an SQLite database: those facts are read from the database
  itself, and read again when it changed (``PRAGMA data_version``), at most
  every ``REFRESH_SECONDS`` (default 0: before every check), so every
  process of a deployment sees every committed write, not only the writes
  of its own ORM signals. Do not bind the rows the ORM sync also sends.
- ``REFRESH_SECONDS``: see ``SOURCE``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from warden import Warden

DEFAULTS: dict[str, Any] = {
    "POLICIES": [],
    "EXTERN_FNS": {},
    "USER_ID": "pk",
    "MODELS": {},
    "RELATIONS": [],
    "SYNC_AUTH": True,
    "CLOCK": None,
    "SOURCE": None,
    "REFRESH_SECONDS": 0.0,
}

log = logging.getLogger("warden")

# One re-entrant lock for the program and the sync's bookkeeping (two locks
# taken in either order would deadlock a reset against a sync).
lock = threading.RLock()
_warden: Warden | None = None
# The last failed load and when it failed: checks deny without reloading
# until RETRY_SECONDS have passed.
_failure: tuple[Exception, float] | None = None
# When the source database was last looked at (``SOURCE``).
_refreshed = 0.0
RETRY_SECONDS = 5.0


def setting(name: str) -> Any:
    """One ``WARDEN`` setting, or its default."""
    configured: dict[str, Any] = getattr(settings, "WARDEN", {})
    if name not in DEFAULTS:
        raise KeyError(f"WARDEN has no setting {name!r}")
    return configured.get(name, DEFAULTS[name])


def user_model_label() -> str:
    """The label of the user model (``auth.User``)."""
    return str(settings.AUTH_USER_MODEL)


def extern_fns() -> dict[str, Callable[..., Any]]:
    """The configured ``extern fn``s, dotted paths imported."""
    configured: dict[str, Any] = setting("EXTERN_FNS")
    return {name: import_string(fn) if isinstance(fn, str) else fn for name, fn in configured.items()}


def now() -> datetime | None:
    """The request time of checks: ``CLOCK()``, or ``None`` for the wall clock."""
    clock = setting("CLOCK")
    if clock is None:
        return None
    value: datetime = (import_string(clock) if isinstance(clock, str) else clock)()
    return value


def engine() -> Warden:
    """The process's Warden program: the policies, plus every fact synced
    from the database (loaded on first use).

    Raises ``PolicyError`` when the policies or the facts do not load; a
    failed load is retried after ``RETRY_SECONDS``, not on every check.
    """
    global _warden, _failure
    warden = _warden
    if warden is not None:
        _refresh(warden)
        return warden
    with lock:
        if _warden is not None:
            return _warden
        if _failure is not None and time.monotonic() - _failure[1] < RETRY_SECONDS:
            raise _failure[0]
        from warden.django import sync

        source = setting("SOURCE")
        try:
            warden = Warden.from_paths(
                [str(p) for p in setting("POLICIES")],
                extern_fns=extern_fns(),
                privileged_updates=True,
                source=None if source is None else str(source),
            )
            sync.load_all(warden)
        except Exception as error:
            _failure = (error, time.monotonic())
            raise
        _failure = None
        _warden = warden
        sync.drain(warden)
        return warden


def _refresh(warden: Warden) -> None:
    """Reads the source database again if it changed (``SOURCE``); a read
    that fails keeps the last good one and is logged."""
    global _refreshed
    if setting("SOURCE") is None or time.monotonic() - _refreshed < setting("REFRESH_SECONDS"):
        return
    _refreshed = time.monotonic()
    try:
        warden.refresh()
    except Exception:
        log.warning("the source database could not be read; checks use its last good read", exc_info=True)


def loaded() -> bool:
    """Whether the program is loaded (facts are synced only into a loaded one)."""
    return _warden is not None


def reset() -> None:
    """Forgets the program: the next use reloads the policies and resyncs
    (after the database changed behind the signals' back, or in tests)."""
    global _warden, _failure, _refreshed
    with lock:
        _warden = None
        _failure = None
        _refreshed = 0.0
        from warden.django import sync

        sync.forget()
