"""Facts read from a real SQLite file through a source file, kept fresh by ``refresh()``."""

import sqlite3
from pathlib import Path

import pytest

from warden import PolicyError, Warden

POLICY = """
role viewer { read; }
relation owner(user, page);
allow U delete on P if owner(U, P);
page:1 in project:a;
"""

SOURCES = """
[database]
sqlite = "app.sqlite3"

[sources]
assign = "SELECT 'user:' || user_id, role, scope, valid_from, valid_until FROM assignment"
owner = { query = "SELECT owner_id, id FROM page", types = ["user", "page"] }
"""

AT = "2026-03-02T09:00:00Z"


@pytest.fixture
def app(tmp_path: Path) -> tuple[Warden, sqlite3.Connection]:
    (tmp_path / "p.warden").write_text(POLICY)
    (tmp_path / "warden.toml").write_text(SOURCES)
    db = sqlite3.connect(tmp_path / "app.sqlite3", isolation_level=None)
    db.executescript(
        """
        CREATE TABLE assignment (user_id INTEGER, role TEXT, scope TEXT, valid_from TEXT, valid_until TEXT);
        CREATE TABLE page (id INTEGER, owner_id INTEGER);
        INSERT INTO assignment VALUES (1, 'viewer', 'project:a', NULL, '2026-06-01 00:00:00');
        INSERT INTO page VALUES (1, 2);
        """
    )
    warden = Warden.from_paths([tmp_path / "p.warden"], source=tmp_path / "warden.toml")
    return warden, db


def test_the_first_read_decides(app: tuple[Warden, sqlite3.Connection]) -> None:
    warden, _ = app
    assert warden.is_allowed("user:1", "read", "page:1", at=AT)
    assert not warden.is_allowed("user:1", "read", "page:1", at="2026-06-01T00:00:00Z")
    assert warden.is_allowed("user:2", "delete", "page:1", at=AT)
    assert not warden.is_allowed("user:1", "delete", "page:1", at=AT)


def test_a_refresh_applies_a_committed_write(app: tuple[Warden, sqlite3.Connection]) -> None:
    warden, db = app
    version = warden.version
    assert warden.refresh() is False
    db.execute("UPDATE page SET owner_id = 1")
    assert warden.refresh() is True
    assert warden.version > version
    assert warden.is_allowed("user:1", "delete", "page:1", at=AT)
    assert not warden.is_allowed("user:2", "delete", "page:1", at=AT)


def test_a_bad_row_keeps_the_last_good_read(app: tuple[Warden, sqlite3.Connection]) -> None:
    warden, db = app
    db.execute("INSERT INTO page VALUES (2, NULL)")
    with pytest.raises(PolicyError, match=r"source `owner`, row 2 .*column 1 is NULL"):
        warden.refresh()
    assert warden.is_allowed("user:2", "delete", "page:1", at=AT)
