"""A seeded random walk of ORM changes: after each step, ``has_perm`` through
the backend (a program kept fresh by the signals) equals ``check`` on a
program loaded from scratch from the same database."""

from __future__ import annotations

import random
from datetime import timedelta

from django.contrib.auth.models import Group, Permission, User

from tests.conftest import MORNING, Wiki
from warden import Warden
from warden.django import conf, ids, sync
from wiki.models import ObjectPermission, Page, ProjectPermission, RoleAssignment

PERMS = [
    "wiki.view_page",
    "wiki.change_page",
    "wiki.delete_page",
    "wiki.publish_page",
    "wiki.review_page",
]


def from_scratch() -> Warden:
    """The policies plus every fact of the database, loaded anew."""
    warden = Warden.from_paths([str(p) for p in conf.setting("POLICIES")], privileged_updates=True)
    everything = set().union(
        *(sync.facts_of(i) for m in sync.synced_models() for i in m._default_manager.all())
    )
    warden.update(insert=sorted(everything))
    return warden


def step(rng: random.Random, wiki: Wiki, users: list[User], groups: list[Group]) -> None:
    """One random change, through the ORM."""
    user, group = rng.choice(users), rng.choice(groups)
    page = rng.choice(list(Page.objects.all()))
    project = rng.choice([wiki.apollo, wiki.gemini])
    match rng.randrange(10):
        case 0:
            user.groups.add(group) if rng.random() < 0.6 else group.user_set.remove(user)
        case 1:
            expires = MORNING + timedelta(hours=rng.choice([-1, 1])) if rng.random() < 0.3 else None
            role = rng.choice(["viewer", "editor", "publisher", "admin"])
            scope = project if rng.random() < 0.7 else None
            subject = {"user": user} if rng.random() < 0.7 else {"group": group}
            RoleAssignment.objects.create(role=role, project=scope, expires_at=expires, **subject)
        case 2:
            victim = RoleAssignment.objects.order_by("?").first()
            if victim is not None:
                victim.delete()
        case 3:
            page.owner = user if rng.random() < 0.7 else None
            page.locked = rng.random() < 0.3
            page.save()
        case 4:
            page.project = project
            page.save()
        case 5:
            ObjectPermission.objects.create(
                page=page,
                user=user,
                permission=rng.choice(["review_page", "change_page"]),
                approved=rng.random() < 0.7,
            )
        case 6:
            grant, _ = ProjectPermission.objects.get_or_create(
                project=project,
                permission=Permission.objects.get(codename=rng.choice(["view_page", "change_page"])),
            )
            grant.users.add(user) if rng.random() < 0.5 else grant.groups.add(group)
        case 7:
            user.is_active = rng.random() < 0.8
            user.is_superuser = rng.random() < 0.1
            user.save()
        case 8:
            perm = Permission.objects.get(codename=rng.choice(["view_page", "delete_page"]))
            group.permissions.add(perm) if rng.random() < 0.5 else group.permissions.clear()
        case _:
            Page.objects.create(project=project, title="p", url=f"/p/{rng.randrange(10**9)}/")


def test_the_kept_fresh_program_equals_one_loaded_from_scratch(wiki: Wiki) -> None:
    rng = random.Random(20261130)
    users = [wiki.user(f"u{i}") for i in range(5)]
    groups = [wiki.staff, Group.objects.create(name="interns")]
    compared = 0
    for _ in range(8):
        for _ in range(6):
            step(rng, wiki, users, groups)
        reference = from_scratch()
        pages = list(Page.objects.all())
        for _ in range(40):
            user = User.objects.get(pk=rng.choice(users).pk)
            perm, page = rng.choice(PERMS), rng.choice([*pages, None])
            expected = (
                user.is_active
                and reference.check(ids.subject(user), perm, ids.constant(page), at=MORNING).allowed
            )
            assert user.has_perm(perm, page) == expected, (user, perm, page)
            compared += 1
    assert compared == 320
