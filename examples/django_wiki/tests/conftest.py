"""Fixtures: a fresh Warden program per test, a fixed clock, the wiki's people."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from django.contrib.auth.models import Group, User

from warden.django import conf
from wiki.models import Page, Project

MORNING = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
AFTERNOON = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)


class Clock:
    """The time checks are made at (``WARDEN["CLOCK"]``)."""

    now = MORNING

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def clock(settings: pytest.FixtureRequest) -> Iterator[Clock]:
    """Every test starts with a program freshly loaded from its database, at 09:00."""
    clock = Clock()
    settings.WARDEN = {**settings.WARDEN, "CLOCK": clock}  # type: ignore[attr-defined]
    conf.reset()
    yield clock
    conf.reset()


@dataclass
class Wiki:
    apollo: Project
    gemini: Project
    launch: Page  # in apollo
    budget: Page  # in apollo
    crew: Page  # in gemini
    staff: Group

    @staticmethod
    def user(name: str, **fields: object) -> User:
        return User.objects.create_user(name, password="pw", **fields)  # type: ignore[arg-type]


@pytest.fixture
def wiki(transactional_db: None) -> Wiki:
    """Two projects with pages and a group, committed (so that the sync's
    ``on_commit`` handlers run as in production)."""
    apollo, gemini = (
        Project.objects.create(name="apollo"),
        Project.objects.create(name="gemini"),
    )
    return Wiki(
        apollo=apollo,
        gemini=gemini,
        launch=Page.objects.create(project=apollo, title="Launch", url="/apollo/launch/"),
        budget=Page.objects.create(project=apollo, title="Budget", url="/staff/budget/"),
        crew=Page.objects.create(project=gemini, title="Crew", url="/gemini/crew/"),
        staff=Group.objects.create(name="staff"),
    )
