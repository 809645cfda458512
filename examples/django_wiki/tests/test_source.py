"""``WARDEN["SOURCE"]``: role assignments read from another SQLite database
(as a second process, or another service, would write them), seen by the
next check without a signal or a restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Wiki
from warden.django import conf

SOURCES = """
[database]
sqlite = "grants.sqlite3"

[sources]
assign = "SELECT 'user:' || user_id, role, 'project:' || project_id, NULL, valid_until FROM editor_of"
"""


@pytest.fixture
def grants(tmp_path: Path, settings: pytest.FixtureRequest) -> sqlite3.Connection:
    db = sqlite3.connect(tmp_path / "grants.sqlite3", isolation_level=None)
    db.execute("CREATE TABLE editor_of (user_id INTEGER, role TEXT, project_id INTEGER, valid_until TEXT)")
    (tmp_path / "warden.toml").write_text(SOURCES)
    settings.WARDEN = {**settings.WARDEN, "SOURCE": tmp_path / "warden.toml"}  # type: ignore[attr-defined]
    conf.reset()
    return db


def test_a_write_to_the_source_database_is_seen_by_the_next_check(
    wiki: Wiki, grants: sqlite3.Connection
) -> None:
    ann = wiki.user("ann")
    assert not ann.has_perm("wiki.change_page", wiki.launch)
    grants.execute("INSERT INTO editor_of VALUES (?, 'editor', ?, NULL)", (ann.pk, wiki.apollo.pk))
    assert ann.has_perm("wiki.change_page", wiki.launch)
    assert not ann.has_perm("wiki.change_page", wiki.crew), "only apollo's pages"
    grants.execute("UPDATE editor_of SET valid_until = '2026-03-02 08:00:00'")
    assert not ann.has_perm("wiki.change_page", wiki.launch), "expired at 08:00, checked at 09:00"


def test_a_bad_row_keeps_the_last_good_read_and_never_grants(wiki: Wiki, grants: sqlite3.Connection) -> None:
    bob = wiki.user("bob")
    grants.execute("INSERT INTO editor_of VALUES (?, 'editor', ?, NULL)", (bob.pk, wiki.apollo.pk))
    assert bob.has_perm("wiki.change_page", wiki.launch)
    grants.execute("INSERT INTO editor_of VALUES (?, NULL, ?, NULL)", (bob.pk, wiki.gemini.pk))
    assert bob.has_perm("wiki.change_page", wiki.launch), "the last good read stays"
    assert not bob.has_perm("wiki.change_page", wiki.crew)
