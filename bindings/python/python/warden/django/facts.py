"""Statements about Django objects, for ``warden_facts()`` and the sync.

Each helper takes model instances or str constants (see
:func:`warden.django.ids.constant`) and returns one statement as text, every
constant quoted, ready for :meth:`warden.Warden.update`::

    class RoleAssignment(models.Model):
        def warden_facts(self) -> list[str]:
            return [facts.assign(self.user, self.role, scope=self.project, until=self.expires_at)]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from warden.django.ids import constant, literal, timestamp

Named = object  # a model instance, or a str constant
Value = object  # also an int or a bool, in a plain fact


def _name(value: Named) -> str:
    return literal(constant(value))


def _bounds(start: datetime | None, until: datetime | None) -> str:
    text = ""
    if start is not None:
        text += f" from {timestamp(start)}"
    if until is not None:
        text += f" until {timestamp(until)}"
    return text


def member(child: Named, parent: Named) -> str:
    """``child in parent``: a user in a group, a page in a project."""
    return f"{_name(child)} in {_name(parent)}"


def assign(
    subject: Named,
    role: str,
    scope: Named | None = None,
    until: datetime | None = None,
    start: datetime | None = None,
) -> str:
    """``assign subject role [on scope] [from start] [until until]``."""
    on = f" on {_name(scope)}" if scope is not None else ""
    return f"assign {_name(subject)} {literal(role)}{on}{_bounds(start, until)}"


def grant(
    subject: Named,
    perm: str,
    obj: Named | None = None,
    until: datetime | None = None,
    start: datetime | None = None,
) -> str:
    """``grant subject perm [on obj] [from start] [until until]``."""
    on = f" on {_name(obj)}" if obj is not None else ""
    return f"grant {_name(subject)} {literal(perm)}{on}{_bounds(start, until)}"


def superuser(subject: Named) -> str:
    """``superuser subject``."""
    return f"superuser {_name(subject)}"


def inactive(subject: Named) -> str:
    """``inactive subject``."""
    return f"inactive {_name(subject)}"


def role(name: str, extends: Sequence[str] = (), permissions: Sequence[str | tuple[str, str]] = ()) -> str:
    """``role name extends ... { perm; perm on type; }``: a role as data.

    ``permissions`` holds permission names, or ``(perm, type)`` pairs for
    entries limited to objects of one type. Inserting the statement declares
    the role with its edges and entries; removing it takes the edges and
    entries away. Changing what a role grants is a privileged update
    (``privileged_updates=True``).
    """
    heads = f" extends {', '.join(literal(r) for r in extends)}" if extends else ""
    entries = []
    for entry in permissions:
        if isinstance(entry, tuple):
            perm, on = entry
            if not on.isidentifier():
                raise ValueError(f"{on!r} is not a type name")
            entries.append(f"{literal(perm)} on {on};")
        else:
            entries.append(f"{literal(entry)};")
    return f"role {literal(name)}{heads} {{ {' '.join(entries)} }}"


def fact(relation: str, *values: Value) -> str:
    """``relation(v1, v2, ...)``: ints and bools as such, the rest named."""
    if not relation.replace("_", "a").isalnum() or not relation[:1].islower():
        raise ValueError(f"{relation!r} is not a relation name (lower-case letters, digits and _)")
    return f"{relation}({', '.join(_value(v) for v in values)})"


def _value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return timestamp(value)
    return _name(value)
