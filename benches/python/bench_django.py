"""Warden from Python and Django against django-guardian and django-rules.

Run by ``benches/python/run`` (which builds the release extension and
exports the workload of ``shared/BENCH.md`` from the Rust bench tool):

    benches/python/run [small|default]

The workload is loaded into the example wiki's models on SQLite (users,
projects, pages, role assignments, per-object permission rows); Warden gets
it through the ORM sync (``warden.django``), django-guardian as per-object
permission rows (a project-scoped role expanded to each page of the
project), django-rules as predicates over the same tables. Every engine's
decisions are compared with the hand-written baseline's before any is
timed. Global assignments cannot be expressed per object in guardian, so
the comparison runs over the checks of users with project-scoped roles only.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import django

django.setup()

import rules  # noqa: E402
from django.contrib.auth.models import Permission, User  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Q  # noqa: E402
from django.db.models.signals import post_save  # noqa: E402
from guardian.backends import ObjectPermissionBackend  # noqa: E402
from guardian.models import UserObjectPermission  # noqa: E402
from guardian.shortcuts import get_objects_for_user  # noqa: E402
from rules.permissions import ObjectPermissionBackend as RulesBackend  # noqa: E402

from warden.django import conf, sync  # noqa: E402
from warden.django.backend import WardenBackend  # noqa: E402
from wiki.models import ObjectPermission, Page, Project, RoleAssignment  # noqa: E402

Check = tuple[int, int, int]
# User primary keys start past django-guardian's anonymous user (pk 1).
USER_PK = 10


def role_masks(workload: dict[str, Any]) -> list[int]:
    masks = [sum(1 << p for p in set(g)) for g in workload["grants"]]
    for r, parents in enumerate(workload["inherits"]):
        for parent in parents:
            masks[r] |= masks[parent]
    return masks


def write_policy(workload: dict[str, Any], directory: Path) -> None:
    """The workload's roles, permissions named ``wiki.<perm>``, plus the wiki's rules."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for r, (parents, grants) in enumerate(zip(workload["inherits"], workload["grants"], strict=True)):
        extends = f" extends {', '.join(f'r{p}' for p in parents)}" if parents else ""
        entries = "".join(f" wiki.{workload['perms'][p]} on page;" for p in grants)
        lines.append(f"role r{r}{extends} {{{entries} }}")
    lines.append("allow U Perm on P if object_permission(U, Perm, P, true);")
    # The wiki's models sync these relations (Page.warden_facts and the per-object rows).
    lines.append("relation object_permission(user, string, page, bool);")
    lines.append("relation page_url(page, string);")
    lines.append("relation locked(page);")
    (directory / "bench.warden").write_text("\n".join(lines) + "\n")


def load_tables(workload: dict[str, Any]) -> None:
    """The workload as rows of the wiki's tables (primary keys: index + 1)."""
    scale = workload["scale"]
    per_project = scale["pages_per_project"]
    users = [User(pk=u + USER_PK, username=f"u{u}") for u in range(scale["users"])]
    User.objects.bulk_create(users, batch_size=5000)
    Project.objects.bulk_create([Project(pk=j + 1, name=f"p{j}") for j in range(scale["projects"])])
    pages = [
        Page(pk=g + 1, project_id=g // per_project + 1, title=f"page {g}", url=f"/p/{g}/")
        for g in range(scale["projects"] * per_project)
    ]
    Page.objects.bulk_create(pages, batch_size=5000)
    assignments = [
        RoleAssignment(
            user_id=u + USER_PK, role=f"r{role}", project_id=None if project is None else project + 1
        )
        for u, listed in enumerate(workload["assignments"])
        for role, project in listed
    ]
    RoleAssignment.objects.bulk_create(assignments, batch_size=5000)
    perms = workload["perms"]
    direct = [
        ObjectPermission(page_id=g + 1, user_id=u + USER_PK, permission=perms[p], namespace="wiki")
        for u, p, g in workload["direct"]
    ]
    ObjectPermission.objects.bulk_create(direct, batch_size=5000)


def load_guardian(workload: dict[str, Any], masks: list[int]) -> int:
    """Per-object rows for guardian: each scoped role expanded to its project's pages."""
    page_type = ContentType.objects.get_for_model(Page)
    perms = workload["perms"]
    permission = {
        p: Permission.objects.get_or_create(codename=name, content_type=page_type, defaults={"name": name})[0]
        for p, name in enumerate(perms)
    }
    per_project = workload["scale"]["pages_per_project"]
    rows: set[tuple[int, int, int]] = set()
    for u, listed in enumerate(workload["assignments"]):
        for role, project in listed:
            if project is None:
                continue
            for p in range(len(perms)):
                if masks[role] & (1 << p):
                    rows.update((u, p, project * per_project + k) for k in range(per_project))
    rows.update((u, p, g) for u, p, g in workload["direct"])
    objects = [
        UserObjectPermission(
            user_id=u + USER_PK, permission=permission[p], content_type=page_type, object_pk=str(g + 1)
        )
        for u, p, g in rows
    ]
    UserObjectPermission.objects.bulk_create(objects, batch_size=10000)
    return len(objects)


def add_rules(workload: dict[str, Any], masks: list[int]) -> None:
    """django-rules predicates over the same tables (the role closure precomputed)."""

    def predicate(roles: list[str], name: str) -> Callable[[User, Page], bool]:
        def holds(user: User, page: Page) -> bool:
            scoped = RoleAssignment.objects.filter(user=user, role__in=roles).filter(
                Q(project__isnull=True) | Q(project_id=page.project_id)
            )
            direct = ObjectPermission.objects.filter(user=user, page=page, permission=name, approved=True)
            return scoped.exists() or direct.exists()

        return holds

    for p, name in enumerate(workload["perms"]):
        roles = [f"r{r}" for r, mask in enumerate(masks) if mask & (1 << p)]
        rules.add_perm(f"wiki.{name}", rules.predicate(predicate(roles, name)))


def timed(
    label: str, checks: list[Any], decide: Callable[[Any], bool], expected: list[bool]
) -> dict[str, Any]:
    """Per-check latency of ``decide`` over ``checks``; every decision must be ``expected``."""
    times = []
    for check, want in zip(checks, expected, strict=True):
        started = time.perf_counter_ns()
        got = decide(check)
        times.append(time.perf_counter_ns() - started)
        if got != want:
            raise SystemExit(f"{label}: {check} decided {got}, the baseline {want}")
    times.sort()
    return {
        "engine": label,
        "checks": len(checks),
        "p50_us": times[len(times) // 2] / 1000,
        "p99_us": times[len(times) * 99 // 100] / 1000,
        "mean_us": statistics.fmean(times) / 1000,
    }


def expected_pages(workload: dict[str, Any], masks: list[int], u: int, p: int) -> set[int]:
    """The baseline's answer to "which pages may user ``u`` ``p``?" (page primary keys)."""
    per_project = workload["scale"]["pages_per_project"]
    pages = {
        project * per_project + k + 1
        for role, project in workload["assignments"][u]
        if project is not None and masks[role] & (1 << p)
        for k in range(per_project)
    }
    pages.update(g + 1 for du, dp, g in workload["direct"] if (du, dp) == (u, p))
    return pages


def listings(
    workload: dict[str, Any], masks: list[int], users: dict[int, User], warden: Any, scoped_users: list[int]
) -> list[dict[str, Any]]:
    """ "Which pages may this user see?", by each engine, for users with
    project-scoped roles; every answer is compared with the baseline's."""
    perms = workload["perms"]
    questions = []
    for u in scoped_users:
        held = [p for p in range(len(perms)) if expected_pages(workload, masks, u, p)]
        if held:
            questions.append((u, held[0]))
    expected = [expected_pages(workload, masks, u, p) for u, p in questions]
    backend = WardenBackend()
    every_page = list(Page.objects.all())

    def engines() -> list[tuple[str, Callable[[User, str], set[int]], int]]:
        return [
            (
                "Warden.list_objects, every page (in memory)",
                lambda user, perm: {
                    int(o.removeprefix("page:"))
                    for o in warden.list_objects(f"user:{user.pk}", perm, "page").objects
                },
                len(questions),
            ),
            (
                "Page.objects.authorized(user, perm) (one SQL query)",
                lambda user, perm: set(Page.objects.authorized(user, perm).values_list("pk", flat=True)),
                len(questions),
            ),
            (
                "guardian get_objects_for_user (one SQL query)",
                lambda user, perm: set(
                    get_objects_for_user(user, perm, klass=Page, accept_global_perms=False).values_list(
                        "pk", flat=True
                    )
                ),
                len(questions),
            ),
            (
                "per-row loop: has_perm on every page (a DRF list view)",
                lambda user, perm: {page.pk for page in every_page if backend.has_perm(user, perm, page)},
                min(5, len(questions)),
            ),
        ]

    results = []
    for label, answer, count in engines():
        times = []
        for (u, p), want in list(zip(questions, expected, strict=True))[:count]:
            user, perm = users[u + USER_PK], f"wiki.{perms[p]}"
            started = time.perf_counter_ns()
            got = answer(user, perm)
            times.append(time.perf_counter_ns() - started)
            if got != want:
                raise SystemExit(f"{label}: user {u} {perm}: {len(got)} pages, the baseline {len(want)}")
        times.sort()
        results.append(
            {
                "engine": label,
                "lists": count,
                "pages": statistics.fmean(len(e) for e in expected[:count]),
                "p50_ms": times[len(times) // 2] / 1e6,
            }
        )
    return results


def main() -> None:
    export, policies = Path(sys.argv[1]), Path(os.environ.get("BENCH_POLICIES", "/tmp/warden-bench-policies"))
    workload = json.loads(export.read_text())
    masks = role_masks(workload)
    write_policy(workload, policies)
    call_command("migrate", verbosity=0, run_syncdb=True)
    started = time.perf_counter()
    load_tables(workload)
    print(f"tables: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    conf.reset()
    warden = conf.engine()
    elapsed = time.perf_counter() - started
    print(f"warden: policies + ORM sync of {sync.applied_count()} facts in {elapsed:.1f} s")
    started = time.perf_counter()
    rows = load_guardian(workload, masks)
    print(f"guardian: {rows} per-object rows in {time.perf_counter() - started:.1f} s")
    add_rules(workload, masks)

    global_users = {
        u for u, listed in enumerate(workload["assignments"]) if any(p is None for _, p in listed)
    }
    perms = workload["perms"]
    checks: list[Check] = [tuple(c) for c in workload["checks"]]  # type: ignore[misc]
    decisions: list[bool] = workload["decisions"]
    scoped = [(c, d) for c, d in zip(checks, decisions, strict=True) if c[0] not in global_users]
    print(f"checks: {len(checks)}, of users with scoped roles only: {len(scoped)}")
    users = {u.pk: u for u in User.objects.all()}
    pages = {p.pk: p for p in Page.objects.all()}
    named = [(f"user:{u + USER_PK}", f"wiki.{perms[p]}", f"page:{g + 1}") for u, p, g in checks]
    results = [
        timed("Warden.is_allowed (strings)", named, lambda c: warden.is_allowed(*c), decisions),
    ]
    objects = [(users[u + USER_PK], f"wiki.{perms[p]}", pages[g + 1]) for u, p, g in checks]
    results.append(
        timed("user.has_perm via WardenBackend", objects, lambda c: c[0].has_perm(c[1], c[2]), decisions)
    )
    prefix = int(os.environ.get("BENCH_PEER_CHECKS", "3000"))
    scoped_objects = [
        (users[u + USER_PK], f"wiki.{perms[p]}", pages[g + 1]) for (u, p, g), _ in scoped[:prefix]
    ]
    scoped_expected = [d for _, d in scoped[:prefix]]
    warden_backend, guardian_backend, rules_backend = (
        WardenBackend(),
        ObjectPermissionBackend(),
        RulesBackend(),
    )
    results.append(
        timed(
            "WardenBackend.has_perm (scoped subset)",
            scoped_objects,
            lambda c: warden_backend.has_perm(*c),
            scoped_expected,
        )
    )
    results.append(
        timed(
            "guardian ObjectPermissionBackend",
            scoped_objects,
            lambda c: guardian_backend.has_perm(*c),
            scoped_expected,
        )
    )
    results.append(
        timed(
            "rules ObjectPermissionBackend",
            scoped_objects,
            lambda c: rules_backend.has_perm(*c),
            scoped_expected,
        )
    )

    listed = listings(workload, masks, users, warden, sorted({c[0] for c, _ in scoped})[:50])

    # The sync's cost per save: creating an assignment with and without it.
    def saves(count: int) -> float:
        started = time.perf_counter_ns()
        for i in range(count):
            RoleAssignment.objects.create(user_id=i % 100 + USER_PK, role="r0", project_id=i % 10 + 1)
        return (time.perf_counter_ns() - started) / count / 1000

    with_sync = saves(300)
    post_save.disconnect(dispatch_uid="warden.django.sync.save")
    without_sync = saves(300)
    sync.connect()
    connection.close()

    baseline = results[0]["p50_us"]
    print()
    print("| engine | checks | p50 µs | p99 µs | mean µs | p50 vs Warden.is_allowed |")
    print("|---|---|---|---|---|---|")
    for r in results:
        ratio = r["p50_us"] / baseline
        cells = [r["engine"], r["checks"], f"{r['p50_us']:.2f}", f"{r['p99_us']:.2f}", f"{r['mean_us']:.2f}"]
        print(f"| {' | '.join(map(str, cells))} | {ratio:.1f}x |")
    guardian_ratio = results[3]["p50_us"] / results[2]["p50_us"]
    rules_ratio = results[4]["p50_us"] / results[2]["p50_us"]
    print()
    print(
        f"per object check on the same SQLite data: guardian {guardian_ratio:.0f}x, rules {rules_ratio:.0f}x"
    )
    print()
    print("| which pages may a user see | lists | pages each (mean) | p50 ms | p50 vs guardian |")
    print("|---|---|---|---|---|")
    guardian_p50 = listed[2]["p50_ms"]
    for r in listed:
        cells = [r["engine"], r["lists"], f"{r['pages']:.0f}", f"{r['p50_ms']:.3f}"]
        print(f"| {' | '.join(map(str, cells))} | {r['p50_ms'] / guardian_p50:.2f}x |")
    print(f"one save() of a role assignment: {with_sync:.0f} µs with the sync, {without_sync:.0f} µs without")


if __name__ == "__main__":
    main()
