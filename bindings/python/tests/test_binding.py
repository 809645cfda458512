"""The native binding: every method against a real policy, and bad input."""

import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from warden import Decision, PolicyError, Warden

POLICY = """
role viewer { read; }
role editor extends viewer { write on page; publish on page if in_office(ctx.ip); }
assign alice editor on project:a;
assign bob viewer until 2026-06-01T00:00:00Z;
page:1 in project:a;
superuser root;
extern fn in_office(ip);
allow U comment on page:1 if hour(now) >= 8 && hour(now) < 12;
"""

AT = "2026-03-02T09:00:00Z"


def office(ip: str) -> bool:
    return ip.startswith("10.")


@pytest.fixture
def warden() -> Warden:
    return Warden.from_source("wiki.warden", POLICY, extern_fns={"in_office": office})


def test_check_gives_the_decision_and_its_reason(warden: Warden) -> None:
    decision = warden.check("alice", "write", "page:1", at=AT)
    assert isinstance(decision, Decision)
    assert decision.allowed and bool(decision)
    assert decision.reason == "allowed: alice may write page:1"
    denied = warden.check("alice", "write", "page:2", at=AT)
    assert not denied.allowed and denied.reason


def test_expiry_follows_at_as_a_string_or_an_aware_datetime(warden: Warden) -> None:
    assert warden.is_allowed("bob", "read", "page:9", at="2026-05-31T23:00:00Z")
    assert not warden.is_allowed("bob", "read", "page:9", at=datetime(2026, 6, 2, tzinfo=timezone.utc))
    plus_two = timezone(timedelta(hours=2))
    assert warden.is_allowed("bob", "read", "page:9", at=datetime(2026, 6, 1, 1, 30, tzinfo=plus_two))


def test_a_naive_datetime_or_a_bad_time_denies_with_the_reason(warden: Warden) -> None:
    naive = warden.check("root", "read", "page:1", at=datetime(2026, 1, 1))
    assert not naive.allowed and "naive" in naive.reason
    garbage = warden.check("root", "read", "page:1", at="yesterday")
    assert not garbage.allowed and "invalid" in garbage.reason
    assert not warden.is_allowed("root", "read", "page:1", at=42)  # type: ignore[arg-type]


def test_ctx_values_are_typed_and_a_python_check_decides(warden: Warden) -> None:
    assert warden.is_allowed("alice", "publish", "page:1", at=AT, ctx={"ip": "10.0.0.7"})
    assert not warden.is_allowed("alice", "publish", "page:1", at=AT, ctx={"ip": "192.168.1.1"})
    # A str stays a string even when it reads as a number.
    assert not warden.is_allowed("alice", "publish", "page:1", at=AT, ctx={"ip": 10})
    bad = warden.check("alice", "publish", "page:1", at=AT, ctx={"ip": object()})  # type: ignore[dict-item]
    assert not bad.allowed and "ctx" in bad.reason


def test_an_exception_or_a_wrong_result_in_an_extern_fn_denies_with_the_reason() -> None:
    def broken(ip: str) -> bool:
        raise RuntimeError("directory unreachable")

    def wrong(ip: str) -> object:
        return [ip]

    for fn, words in [(broken, "directory unreachable"), (wrong, "returned list")]:
        warden = Warden.from_source("wiki.warden", POLICY, extern_fns={"in_office": fn})
        decision = warden.check("alice", "publish", "page:1", at=AT, ctx={"ip": "10.0.0.7"})
        assert not decision.allowed
        assert any(words in e for e in decision.errors), decision.errors
        # What does not use the function is unaffected.
        assert warden.is_allowed("alice", "write", "page:1", at=AT)


def test_an_unregistered_extern_fn_denies() -> None:
    warden = Warden.from_source("wiki.warden", POLICY)
    decision = warden.check("alice", "publish", "page:1", at=AT, ctx={"ip": "10.0.0.7"})
    assert not decision.allowed and decision.errors


def test_check_many_is_one_call_for_many_checks(warden: Warden) -> None:
    requests = [("alice", "write", "page:1"), ("alice", "write", "page:2"), ("root", "anything", "x:1")]
    assert warden.check_many(requests, at=AT) == [True, False, True]
    assert warden.check_many(requests, at="not a time") == [False, False, False]


def test_the_object_less_question(warden: Warden) -> None:
    assert warden.is_allowed("root", "read", "*", at=AT)
    assert not warden.is_allowed("alice", "read", "*", at=AT)
    assert warden.is_allowed("bob", "read", "*", at=AT)


def test_query_answers_python_values_page_by_page(warden: Warden) -> None:
    answer = warden.query("allowed(alice, P, page:1)", at=AT)
    assert answer.variables == ["P"]
    assert answer.rows == [("comment",), ("read",), ("write",)]
    assert answer.holds and len(answer) == 3
    first = warden.query("allowed(alice, P, page:1)", at=AT, limit=2)
    assert first.rows == [("comment",), ("read",)] and first.total == 3 and first.next
    rest = warden.query("allowed(alice, P, page:1)", at=AT, limit=2, after=first.next)
    assert rest.rows == [("write",)] and rest.next is None
    ground = warden.query("allowed(alice, read, page:1)", at=AT)
    assert ground.holds and ground.rows == [()]


def test_query_values_keep_their_kinds() -> None:
    warden = Warden.from_source("v.warden", 'size(page:1, 42, true, "a \\"quoted\\" name");')
    assert warden.query("size(P, N, B, S)").rows == [("page:1", 42, True, 'a "quoted" name')]


def test_explain_gives_the_text_and_the_json(warden: Warden) -> None:
    explanation = warden.explain("allowed(alice, write, page:1)", at=AT)
    assert explanation.holds
    assert "editor" in explanation.text
    data = json.loads(explanation.json)
    assert data["holds"] is True and data["query"] == "allowed(alice, write, page:1)"
    denied = warden.explain("allowed(bob, write, page:1)", at=AT)
    assert not denied.holds
    # The short text leads with the nearest miss; the verbose one has every rule tried.
    assert "fails:" not in denied.text and "fails:" in denied.verbose_text


def test_a_bad_query_raises_policy_error_with_the_location(warden: Warden) -> None:
    with pytest.raises(PolicyError):
        warden.query("allowed(alice, ", at=AT)


def test_update_is_one_atomic_batch(warden: Warden) -> None:
    warden.update(insert=["assign carol editor on project:a"], remove=["assign alice editor on project:a"])
    assert warden.is_allowed("carol", "write", "page:1", at=AT)
    assert not warden.is_allowed("alice", "write", "page:1", at=AT)
    with pytest.raises(PolicyError):
        warden.update(insert=["assign dave editor on project:a", "this is not a statement"])
    assert not warden.is_allowed("dave", "write", "page:1", at=AT)
    # Live updates cannot make superusers.
    with pytest.raises(PolicyError, match="superuser"):
        warden.update(insert=["superuser mallory"])


def test_roles_as_data_need_privileged_updates() -> None:
    refused = Warden.from_source("wiki.warden", POLICY, extern_fns={"in_office": office})
    with pytest.raises(PolicyError, match="privileged"):
        refused.update(insert=["role curator extends viewer { archive on page; }"])
    warden = Warden.from_source(
        "wiki.warden", POLICY, extern_fns={"in_office": office}, privileged_updates=True
    )
    warden.update(insert=["role curator extends viewer { archive on page; }", "assign dora curator"])
    assert warden.is_allowed("dora", "archive", "page:1", at=AT)
    assert warden.is_allowed("dora", "read", "project:a", at=AT)
    assert not warden.is_allowed("dora", "archive", "project:a", at=AT)
    warden.update(remove=["role curator extends viewer { archive on page; }"])
    assert not warden.is_allowed("dora", "archive", "page:1", at=AT)


def test_load_errors_point_at_the_line(tmp_path: Path) -> None:
    policy = tmp_path / "bad.warden"
    policy.write_text("role viewer { read; }\nassign alice viewer\n")
    with pytest.raises(PolicyError) as error:
        Warden.from_paths([policy])
    assert "bad.warden:" in str(error.value)


def test_a_failed_reload_keeps_the_running_program(tmp_path: Path) -> None:
    policy = tmp_path / "p.warden"
    policy.write_text("role viewer { read; }\nassign alice viewer;\n")
    warden = Warden.from_paths([tmp_path])
    assert warden.is_allowed("alice", "read", "page:1")
    policy.write_text("role viewer { read; }\nassign alice viewer\n")
    with pytest.raises(PolicyError):
        warden.reload()
    assert warden.is_allowed("alice", "read", "page:1")
    policy.write_text("role viewer { read; }\nassign bob viewer;\n")
    warden.reload()
    assert not warden.is_allowed("alice", "read", "page:1")
    assert warden.is_allowed("bob", "read", "page:1")


def test_extern_fns_must_be_callable() -> None:
    with pytest.raises(ValueError, match="not callable"):
        Warden.from_source("p.warden", POLICY, extern_fns={"in_office": 3})  # type: ignore[dict-item]


def test_checks_from_many_threads_while_a_writer_updates(warden: Warden) -> None:
    failures: list[str] = []

    def checker() -> None:
        for _ in range(500):
            if not warden.is_allowed("alice", "write", "page:1", at=AT):
                failures.append("alice lost write")

    def writer() -> None:
        for i in range(50):
            warden.update(insert=[f"assign user{i} viewer"])

    threads = [threading.Thread(target=checker) for _ in range(3)] + [threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert warden.is_allowed("user49", "read", "page:1")


def test_list_objects_decides_each_object_like_a_check(warden: Warden) -> None:
    listed = warden.list_objects("alice", "write", "page", at=AT)
    assert not listed.every and listed.objects == ["page:1"]
    everything = warden.list_objects("root", "write", "page", at=AT)
    assert everything.every and everything.excluded == []
    assert warden.list_objects("nobody", "write", "page", at=AT).objects == []


def test_list_subjects_names_who_may_act_on_an_object(warden: Warden) -> None:
    writers = warden.list_subjects("write", "page:1", at=AT)
    assert not writers.every
    assert writers.subjects == ["alice", "root"]
    for name in writers.subjects:
        assert warden.is_allowed(name, "write", "page:1", at=AT)


def test_listings_come_a_page_at_a_time(warden: Warden) -> None:
    first = warden.list_subjects("read", "page:1", at=AT, limit=1)
    assert first.subjects == ["alice"] and first.next == "alice"
    rest = warden.list_subjects("read", "page:1", at=AT, limit=2, after=first.next)
    assert rest.subjects == ["bob", "root"] and rest.next is None


def test_a_sql_filter_selects_the_rows_a_check_allows(warden: Warden, tmp_path: Path) -> None:
    import sqlite3

    database = sqlite3.connect(tmp_path / "app.sqlite3")
    database.execute("CREATE TABLE page (id INTEGER PRIMARY KEY, title TEXT)")
    database.executemany("INSERT INTO page VALUES (?, ?)", [(n, f"page {n}") for n in range(1, 6)])
    for user in ["alice", "bob", "root", "nobody"]:
        for perm in ["read", "write", "comment"]:
            sql = warden.filter_sql(user, perm, "page", at=AT)
            rows = database.execute(f"SELECT id FROM page WHERE {sql.condition} ORDER BY id", sql.params)
            allowed = [n for n in range(1, 6) if warden.is_allowed(user, perm, f"page:{n}", at=AT)]
            selected = [n for (n,) in rows if not sql.check_each_row or n in allowed]
            assert selected == allowed, (user, perm, sql.residual, sql.condition)
    assert warden.filter_sql("alice", "write", "page", at=AT).residual == "only"
    with pytest.raises(ValueError, match="no column"):
        warden.filter_sql("alice", "write", "page", column="id; --", at=AT)
    for bad in [{"dialect": "mysql"}, {"key": "uuid"}, {"placeholder": "named"}, {"first_param": 0}]:
        with pytest.raises(ValueError):
            warden.filter_sql("alice", "write", "page", at=AT, **bad)  # type: ignore[arg-type]
    with pytest.raises(PolicyError):
        warden.list_objects("alice", "write", "page", at=AT, limit=0)
