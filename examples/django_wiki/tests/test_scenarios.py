"""Each scenario of ``shared/scenarios`` through Django's own API:
``user.has_perm(perm, obj)`` with ``WardenBackend``, facts from SQLite."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AnonymousUser, Permission

from tests.conftest import AFTERNOON, Clock, Wiki
from wiki.models import ObjectPermission, ProjectPermission, RoleAssignment


def perm(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="wiki", codename=codename)


def test_000_a_per_object_permission_table(wiki: Wiki) -> None:
    ann = wiki.user("ann")
    ObjectPermission.objects.create(page=wiki.launch, user=ann, permission="review_page")
    assert ann.has_perm("wiki.review_page", wiki.launch)
    assert not ann.has_perm("wiki.review_page", wiki.budget)
    assert not ann.has_perm("wiki.review_page")  # not on every page
    # The namespace is part of the permission.
    ObjectPermission.objects.create(page=wiki.crew, user=ann, permission="review_page", namespace="blog")
    assert not ann.has_perm("wiki.review_page", wiki.crew)
    assert ann.has_perm("blog.review_page", wiki.crew)


def test_001_project_permissions_are_inherited_with_a_global_fallback(
    wiki: Wiki,
) -> None:
    bob, carol, dave = wiki.user("bob"), wiki.user("carol"), wiki.user("dave")
    carol.groups.add(wiki.staff)
    grant = ProjectPermission.objects.create(project=wiki.apollo, permission=perm("view_page"))
    grant.users.add(bob)
    grant.groups.add(wiki.staff)
    for user in (bob, carol):
        assert user.has_perm("wiki.view_page", wiki.launch)  # a page of apollo
        assert not user.has_perm("wiki.view_page", wiki.crew)  # a page of gemini
        assert not user.has_perm("wiki.view_page")
    # A permission of the user (Django's model permission) holds everywhere.
    dave.user_permissions.add(perm("view_page"))
    assert dave.has_perm("wiki.view_page", wiki.crew)
    assert dave.has_perm("wiki.view_page")


def test_002_per_object_rows_must_be_approved_and_publishing_is_for_mornings(
    wiki: Wiki, clock: Clock
) -> None:
    eve, pat = wiki.user("eve"), wiki.user("pat")
    row = ObjectPermission.objects.create(
        page=wiki.launch, user=eve, permission="review_page", approved=False
    )
    assert not eve.has_perm("wiki.review_page", wiki.launch)
    row.approved = True
    row.save()
    assert eve.has_perm("wiki.review_page", wiki.launch)
    RoleAssignment.objects.create(user=pat, role="publisher")
    assert pat.has_perm("wiki.publish_page", wiki.launch)
    clock.now = AFTERNOON
    assert not pat.has_perm("wiki.publish_page", wiki.launch)
    assert pat.has_perm("wiki.change_page", wiki.launch)  # the rest of the role holds all day


def test_003_a_role_tree_with_scoped_and_expiring_assignments(wiki: Wiki, clock: Clock) -> None:
    ivan, jo, kim = wiki.user("ivan"), wiki.user("jo"), wiki.user("kim")
    RoleAssignment.objects.create(user=ivan, role="editor", project=wiki.apollo)
    assert ivan.has_perm("wiki.change_page", wiki.launch)
    assert ivan.has_perm("wiki.view_page", wiki.launch)  # editor extends viewer
    assert ivan.has_perm("wiki.add_page", wiki.apollo)
    assert not ivan.has_perm("wiki.change_page", wiki.crew)
    assert not ivan.has_perm("wiki.delete_page", wiki.launch)
    # Just-in-time: admin on gemini for the next hour.
    RoleAssignment.objects.create(
        user=jo,
        role="admin",
        project=wiki.gemini,
        expires_at=clock.now + timedelta(hours=1),
    )
    assert jo.has_perm("wiki.delete_page", wiki.crew)
    clock.now += timedelta(hours=2)
    assert not jo.has_perm("wiki.delete_page", wiki.crew)
    # A group's role holds for its members.
    kim.groups.add(wiki.staff)
    RoleAssignment.objects.create(group=wiki.staff, role="viewer")
    assert kim.has_perm("wiki.view_page", wiki.crew)
    assert kim.has_perm("wiki.view_page", wiki.launch)
    # The object-less question asks for every object, pages or not, and
    # viewer grants view_page `on page` only.
    assert not kim.has_perm("wiki.view_page")


def test_004_one_entry_point_for_every_rule(wiki: Wiki) -> None:
    root = wiki.user("root", is_superuser=True)
    owner = wiki.user("olga")
    wiki.crew.owner = owner
    wiki.crew.save()
    gone = wiki.user("gone", is_active=False)
    RoleAssignment.objects.create(user=gone, role="admin")
    assert root.has_perm("wiki.delete_page", wiki.crew) and root.has_perm("wiki.anything")
    assert owner.has_perm("wiki.change_page", wiki.crew)
    assert not owner.has_perm("wiki.change_page", wiki.launch)
    assert not gone.has_perm("wiki.view_page", wiki.crew)
    assert not AnonymousUser().has_perm("wiki.view_page", wiki.crew)


def test_a_deny_rule_overrides_every_grant(wiki: Wiki) -> None:
    owner = wiki.user("olga")
    wiki.launch.owner = owner
    wiki.launch.locked = True
    wiki.launch.save()
    RoleAssignment.objects.create(user=owner, role="admin")
    assert not owner.has_perm("wiki.change_page", wiki.launch)
    assert owner.has_perm("wiki.delete_page", wiki.launch)
