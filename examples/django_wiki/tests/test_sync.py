"""The ORM sync: committed changes reach the program, rolled-back ones do not."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from tests.conftest import Wiki
from warden.django import conf, facts, ids, sync
from wiki.models import Draft, Page, ProjectPermission, RoleAssignment


class Boom(Exception):
    pass


def test_the_first_use_loads_auth_data_and_relations(wiki: Wiki) -> None:
    ann = wiki.user("ann", is_superuser=True)
    ann.groups.add(wiki.staff)
    wiki.launch.owner = ann
    wiki.launch.save()
    engine = conf.engine()
    subject, launch, apollo = (
        f"user:{ann.pk}",
        f"page:{wiki.launch.pk}",
        f"project:{wiki.apollo.pk}",
    )
    assert engine.query(f'within("{launch}", "{apollo}")').holds
    assert engine.query(f'within("{subject}", "group:{wiki.staff.pk}")').holds
    assert engine.query(f'owner("{subject}", "{launch}")').holds
    assert engine.is_allowed(subject, "anything", launch)  # superuser
    assert sync.applied_count() > 0


def test_a_rolled_back_transaction_changes_nothing(wiki: Wiki) -> None:
    bob = wiki.user("bob")
    assert not bob.has_perm("wiki.change_page", wiki.launch)
    with pytest.raises(Boom), transaction.atomic():
        RoleAssignment.objects.create(user=bob, role="editor", project=wiki.apollo)
        raise Boom
    assert not bob.has_perm("wiki.change_page", wiki.launch)
    with transaction.atomic():
        assignment = RoleAssignment.objects.create(user=bob, role="editor", project=wiki.apollo)
        # Inside the transaction the program is unchanged: it sees commits only.
        assert not bob.has_perm("wiki.change_page", wiki.launch)
    assert bob.has_perm("wiki.change_page", wiki.launch)
    assignment.delete()
    assert not bob.has_perm("wiki.change_page", wiki.launch)


def test_an_edited_row_replaces_its_facts(wiki: Wiki) -> None:
    bob = wiki.user("bob")
    assignment = RoleAssignment.objects.create(user=bob, role="editor", project=wiki.apollo)
    assert bob.has_perm("wiki.change_page", wiki.launch)
    assignment.project = wiki.gemini
    assignment.save()
    assert not bob.has_perm("wiki.change_page", wiki.launch)
    assert bob.has_perm("wiki.change_page", wiki.crew)
    # A page moved to another project follows it.
    wiki.launch.project = wiki.gemini
    wiki.launch.save()
    assert bob.has_perm("wiki.change_page", wiki.launch)


def test_memberships_and_permissions_follow_m2m_changes_both_ways(wiki: Wiki) -> None:
    carol = wiki.user("carol")
    RoleAssignment.objects.create(group=wiki.staff, role="editor", project=wiki.apollo)
    wiki.staff.user_set.add(carol)  # reverse side
    assert carol.has_perm("wiki.change_page", wiki.launch)
    wiki.staff.user_set.clear()
    assert not carol.has_perm("wiki.change_page", wiki.launch)
    carol.groups.add(wiki.staff)  # forward side
    assert carol.has_perm("wiki.change_page", wiki.launch)
    carol.groups.remove(wiki.staff)
    assert not carol.has_perm("wiki.change_page", wiki.launch)
    view = Permission.objects.get(codename="view_page")
    wiki.staff.user_set.add(carol)
    view.group_set.add(wiki.staff)  # a global grant to the group, from the permission's side
    assert carol.has_perm("wiki.view_page", wiki.crew)
    view.group_set.clear()
    assert not carol.has_perm("wiki.view_page", wiki.crew)
    grant = ProjectPermission.objects.create(project=wiki.gemini, permission=view)
    carol.projectpermission_set.add(grant)  # type: ignore[attr-defined]
    assert carol.has_perm("wiki.view_page", wiki.crew)
    carol.projectpermission_set.clear()  # type: ignore[attr-defined]
    assert not carol.has_perm("wiki.view_page", wiki.crew)


def test_superuser_and_active_flags_follow_saves(wiki: Wiki) -> None:
    dan = wiki.user("dan")
    assert not dan.has_perm("wiki.delete_page", wiki.crew)
    dan.is_superuser = True
    dan.save()
    assert dan.has_perm("wiki.delete_page", wiki.crew)
    dan.is_superuser = False
    dan.save()
    assert not dan.has_perm("wiki.delete_page", wiki.crew)
    RoleAssignment.objects.create(user=dan, role="admin")
    assert dan.has_perm("wiki.delete_page", wiki.crew)
    dan.is_active = False
    dan.save()
    subject = f"user:{dan.pk}"
    # Both Django (the backend) and the program (an `inactive` fact) deny.
    assert not dan.has_perm("wiki.delete_page", wiki.crew)
    assert not conf.engine().is_allowed(subject, "wiki.delete_page", f"page:{wiki.crew.pk}")


def test_deleting_a_page_removes_its_facts(wiki: Wiki) -> None:
    pk = wiki.crew.pk
    Page.objects.filter(pk=pk).get().delete()
    assert not conf.engine().query(f'within("page:{pk}", "project:{wiki.gemini.pk}")').holds


def test_a_row_saved_then_deleted_in_one_transaction_grants_nothing(wiki: Wiki) -> None:
    bob = wiki.user("bob")
    assert not bob.has_perm("wiki.delete_page", wiki.crew)
    with transaction.atomic():
        assignment = RoleAssignment.objects.create(user=bob, role="admin")
        assignment.delete()
    assert not bob.has_perm("wiki.delete_page", wiki.crew)


def test_deleting_a_group_takes_away_what_it_gave_its_members(wiki: Wiki) -> None:
    carol = wiki.user("carol")
    carol.groups.add(wiki.staff)
    grant = ProjectPermission.objects.create(
        project=wiki.apollo, permission=Permission.objects.get(codename="view_page")
    )
    grant.groups.add(wiki.staff)
    RoleAssignment.objects.create(user=carol, role="viewer", project=wiki.gemini)
    assert carol.has_perm("wiki.view_page", wiki.launch)
    Group.objects.filter(pk=wiki.staff.pk).delete()
    assert not carol.has_perm("wiki.view_page", wiki.launch)
    assert carol.has_perm("wiki.view_page", wiki.crew)  # her own role stays


def test_a_proxy_model_is_its_concrete_model(wiki: Wiki) -> None:
    owner = wiki.user("olga")
    wiki.launch.owner = owner
    wiki.launch.save()
    assert owner.has_perm("wiki.change_page", wiki.launch)
    draft = Draft.objects.get(pk=wiki.launch.pk)
    assert ids.constant(draft) == f"page:{wiki.launch.pk}"
    draft.locked = True
    draft.save()
    assert not owner.has_perm("wiki.change_page", wiki.launch)
    assert not owner.has_perm("wiki.change_page", draft)


def test_a_change_committed_before_the_first_load_is_in_it(wiki: Wiki) -> None:
    bob = wiki.user("bob")
    conf.reset()
    RoleAssignment.objects.create(user=bob, role="editor", project=wiki.apollo)
    assert not conf.loaded()
    assert bob.has_perm("wiki.change_page", wiki.launch)


def test_a_role_as_data_grants_like_a_role_in_the_policy(wiki: Wiki) -> None:
    # authentik-style roles are rows: `facts.role` states one as a live update.
    bob = wiki.user("bob")
    launch = f"page:{wiki.launch.pk}"
    engine = conf.engine()
    curator = facts.role("curator", extends=["viewer"], permissions=[("wiki.delete_page", "page")])
    engine.update(insert=[curator, facts.assign(bob, "curator", scope=wiki.apollo)])
    assert bob.has_perm("wiki.delete_page", wiki.launch)
    assert not engine.is_allowed(f"user:{bob.pk}", "wiki.delete_page", f"project:{wiki.apollo.pk}")
    engine.update(remove=[curator])
    assert not engine.is_allowed(f"user:{bob.pk}", "wiki.delete_page", launch)
