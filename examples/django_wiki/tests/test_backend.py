"""``WardenBackend``'s other methods, and bad input."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from tests.conftest import Wiki
from warden.django import ids
from warden.django.backend import WardenBackend
from warden.django.querysets import users_with_perm
from wiki.models import Page, RoleAssignment


def test_get_all_permissions_lists_the_programs_permissions(wiki: Wiki) -> None:
    ivan = wiki.user("ivan")
    RoleAssignment.objects.create(user=ivan, role="editor", project=wiki.apollo)
    assert ivan.get_all_permissions(wiki.launch) == {
        "wiki.change_page",
        "wiki.view_page",
    }
    assert ivan.get_all_permissions(wiki.apollo) == {
        "wiki.add_page",
        "wiki.view_project",
    }
    assert ivan.get_all_permissions(wiki.crew) == set()
    root = wiki.user("root", is_superuser=True)
    # A superuser holds every permission the program knows, and only those.
    everything = WardenBackend().get_all_permissions(root, wiki.crew)
    assert {"wiki.change_page", "wiki.publish_page", "wiki.delete_page"} <= everything
    assert all(p.startswith("wiki.") for p in everything), everything


def test_with_perm_lists_the_users_allowed(wiki: Wiki) -> None:
    ivan, jo, root = (
        wiki.user("ivan"),
        wiki.user("jo"),
        wiki.user("root", is_superuser=True),
    )
    wiki.user("nobody")
    RoleAssignment.objects.create(user=ivan, role="editor", project=wiki.apollo)
    RoleAssignment.objects.create(user=jo, role="editor", project=wiki.gemini)
    users = get_user_model().objects.with_perm(  # type: ignore[attr-defined]
        "wiki.change_page",
        obj=wiki.launch,
        backend="warden.django.backend.WardenBackend",
    )
    assert set(users) == {ivan, root}
    backend = WardenBackend()
    assert set(backend.with_perm("wiki.change_page", include_superusers=False, obj=wiki.launch)) == {ivan}


def test_objects_are_named_by_model_and_primary_key(wiki: Wiki) -> None:
    assert ids.constant(wiki.launch) == f"page:{wiki.launch.pk}"
    assert ids.constant(wiki.apollo) == f"project:{wiki.apollo.pk}"
    assert ids.constant(wiki.staff) == f"group:{wiki.staff.pk}"
    assert ids.constant(None) == "*"
    assert ids.literal('doc:a"b\\c') == '"doc:a\\"b\\\\c"'


def test_misuse_is_a_clear_error_never_a_crash(wiki: Wiki) -> None:
    ann = wiki.user("ann")
    with pytest.raises(TypeError, match="cannot name"):
        ann.has_perm("wiki.view_page", 3.5)
    with pytest.raises(ValueError, match="not saved"):
        ann.has_perm("wiki.view_page", Page(project=wiki.apollo))
    # Odd permission strings and constants are just denied.
    assert not ann.has_perm('wiki.view_page") ; superuser ann; ("', wiki.launch)
    assert not ann.has_perm("wiki.view_page", 'page:1"; superuser "ann')


def test_a_group_name_with_quotes_cannot_change_a_statement(wiki: Wiki) -> None:
    odd = Group.objects.create(name='x"; superuser "user:1')
    ann = wiki.user("ann")
    ann.groups.add(odd)
    assert not ann.has_perm("wiki.delete_page", wiki.crew)


def test_two_models_named_alike_are_refused(wiki: Wiki) -> None:
    from django.core.exceptions import ImproperlyConfigured
    from django.db import models

    class Page(models.Model):  # blog.Page: `page:<pk>`, like wiki.Page
        class Meta:
            app_label = "blog"

    with pytest.raises(ImproperlyConfigured, match=r"wiki\.Page and blog\.Page"):
        ids.check_prefixes([wiki_page_model(), Page])


def wiki_page_model() -> type:
    return Page


def test_the_admin_shows_an_app_to_whoever_holds_one_of_its_permissions(wiki: Wiki) -> None:
    ivan, nobody = wiki.user("ivan"), wiki.user("nobody")
    RoleAssignment.objects.create(user=ivan, role="viewer", project=wiki.apollo)
    assert ivan.has_module_perms("wiki")
    assert not nobody.has_module_perms("wiki")


def test_authorized_filters_a_queryset_like_has_perm_on_each_row(wiki: Wiki) -> None:
    ivan, root = wiki.user("ivan"), wiki.user("root", is_superuser=True)
    nobody, glob = wiki.user("nobody"), wiki.user("glob")
    RoleAssignment.objects.create(user=ivan, role="editor", project=wiki.apollo)
    RoleAssignment.objects.create(user=glob, role="editor")
    wiki.launch.locked = True
    wiki.launch.save()
    unknown = Page.objects.create(project=wiki.gemini, title="New", url="/gemini/new/")
    for user in (ivan, root, nobody, glob):
        for perm in ("wiki.view_page", "wiki.change_page", "wiki.delete_page"):
            expected = {p.pk for p in Page.objects.all() if user.has_perm(perm, p)}
            got = set(Page.objects.authorized(user, perm).values_list("pk", flat=True))
            assert got == expected, (user, perm)
    # A superuser and a global role see every page but a locked one, new pages included.
    assert unknown in Page.objects.authorized(glob, "wiki.change_page")
    assert wiki.launch not in Page.objects.authorized(glob, "wiki.change_page")


def test_names_that_are_no_rows_key_never_widen_a_listing(wiki: Wiki) -> None:
    from warden.django.querysets import _keys

    pk = Page._meta.pk
    assert _keys(["page:7", "page:07", "page:+7", "page:7_0", "page:home", "doc:7"], "page", pk) == [7]


def test_users_with_perm_are_the_users_has_perm_allows(wiki: Wiki) -> None:
    ivan, jo, root = wiki.user("ivan"), wiki.user("jo"), wiki.user("root", is_superuser=True)
    glob, gone, staffer = wiki.user("glob"), wiki.user("gone"), wiki.user("staffer")
    staffer.groups.add(wiki.staff)
    RoleAssignment.objects.create(user=ivan, role="editor", project=wiki.apollo)
    RoleAssignment.objects.create(user=jo, role="editor", project=wiki.gemini)
    RoleAssignment.objects.create(user=glob, role="viewer")
    RoleAssignment.objects.create(user=gone, role="editor")
    gone.is_active = False
    gone.save()
    for perm in ("wiki.view_page", "wiki.change_page", "wiki.delete_page"):
        for obj in (wiki.launch, wiki.crew, None):
            expected = {u for u in get_user_model().objects.all() if u.has_perm(perm, obj)}
            assert set(users_with_perm(perm, obj)) == expected, (perm, obj)
    assert root in users_with_perm("wiki.view_page", wiki.launch)
    assert root not in users_with_perm("wiki.view_page", wiki.launch, include_superusers=False)
