"""Warden: an explainable authorization engine.

>>> from warden import Warden
>>> w = Warden.from_source("p.warden", "role viewer { read; } assign alice viewer;")
>>> w.is_allowed("alice", "read", "page:1")
True

``warden.django`` integrates it with Django (an authentication backend, facts
synced from the ORM, DRF permissions, template tags and admin views).
"""

from warden._warden import (
    Answer,
    Decision,
    Explanation,
    ObjectList,
    PolicyError,
    SqlFilter,
    SubjectList,
    Warden,
)

__all__ = [
    "Answer",
    "Decision",
    "Explanation",
    "ObjectList",
    "PolicyError",
    "SqlFilter",
    "SubjectList",
    "Warden",
]
