"""``warden.django.middleware.WardenContextMiddleware``: the request as ``ctx``.

While a request is served, checks through the backend see ``ctx.ip`` (the
client address, empty when the server gives none), ``ctx.path`` and
``ctx.method``. Outside a request (a
management command, a shell) ``ctx`` is empty, and a literal that reads a
missing key is false (SPEC section 5): an ``allow`` that needs it does not
grant, and a ``deny`` that needs it does not deny.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_request: ContextVar[HttpRequest | None] = ContextVar("warden_request", default=None)


class WardenContextMiddleware:
    """Makes the current request the context of Warden's checks."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def current_context() -> dict[str, str]:
    """``ctx`` for a check made while serving a request (empty outside one)."""
    request = _request.get()
    if request is None:
        return {}
    # `ip` is always set while serving: a request without an address (ASGI
    # over a unix socket) must not switch off a rule that reads it; an empty
    # ip makes such a rule err, and an error never grants.
    return {"path": request.path, "method": request.method or "", "ip": request.META.get("REMOTE_ADDR") or ""}
