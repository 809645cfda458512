"""The REST API (``WardenPermission``), the ``ctx`` middleware, the template
tags and the admin's "Why?" page, through Django's test client."""

from __future__ import annotations

from django.db import connection
from django.template import Context, Template
from django.test import Client

from tests.conftest import Wiki
from warden.django import conf, ids
from wiki.models import Page, RoleAssignment

OFFICE_IP = "10.20.1.5"


def client_for(user: object, **extra: str) -> Client:
    client = Client(**extra)
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_the_api_lists_and_changes_what_the_policy_allows(wiki: Wiki) -> None:
    ivan = wiki.user("ivan")
    RoleAssignment.objects.create(user=ivan, role="editor", project=wiki.apollo)
    api = client_for(ivan)
    listed = api.get("/api/pages/").json()
    assert [p["title"] for p in listed] == ["Launch", "Budget"]
    # Not among the pages ivan may view: a detail view of it is not found.
    assert api.get(f"/api/pages/{wiki.crew.pk}/").status_code == 404
    changed = api.patch(
        f"/api/pages/{wiki.launch.pk}/",
        {"title": "Liftoff"},
        content_type="application/json",
    )
    assert changed.status_code == 200
    assert api.delete(f"/api/pages/{wiki.launch.pk}/").status_code == 403
    created = api.post(
        "/api/pages/",
        {"project": wiki.apollo.pk, "title": "New", "url": "/apollo/new/"},
    )
    assert created.status_code == 201
    elsewhere = api.post("/api/pages/", {"project": wiki.gemini.pk, "title": "X", "url": "/gemini/x/"})
    assert elsewhere.status_code == 403
    assert Client().get("/api/pages/").status_code == 403


def test_the_page_list_shows_what_the_policy_lets_the_user_view(wiki: Wiki) -> None:
    ivan, root = wiki.user("ivan"), wiki.user("root", is_superuser=True)
    RoleAssignment.objects.create(user=ivan, role="viewer", project=wiki.gemini)
    assert client_for(ivan).get("/pages/").content.decode() == "Crew\n"
    assert client_for(root).get("/pages/").content.decode() == "Budget\nCrew\nLaunch\n"
    assert client_for(wiki.user("nobody")).get("/pages/").content.decode() == ""
    assert Client().get("/pages/").status_code == 302  # to the login page


def test_a_sql_filter_runs_on_a_django_cursor(wiki: Wiki) -> None:
    ivan = wiki.user("ivan")
    RoleAssignment.objects.create(user=ivan, role="viewer", project=wiki.apollo)
    user, perm = ids.subject(ivan), "wiki.view_page"
    target = {"column": "wiki_page.id", "placeholder": "format"}
    sql = conf.engine().filter_sql(user, perm, "page", **target, at=conf.now())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM wiki_page WHERE {sql.condition}", sql.params)
        selected = Page.objects.filter(pk__in=[pk for (pk,) in cursor.fetchall()]).order_by("title")
    # The wiki's policy looks into urls (`starts_with`): the condition keeps
    # every row with a key, and each is checked.
    assert sql.residual == "per_row" and sql.check_each_row
    titles = [page.title for page in selected if ivan.has_perm("wiki.view_page", page)]
    assert titles == ["Budget", "Launch"]


def test_the_request_is_the_context_of_a_check(wiki: Wiki) -> None:
    ivan = wiki.user("ivan")
    RoleAssignment.objects.create(user=ivan, role="editor", project=wiki.apollo)
    url = f"/api/pages/{wiki.budget.pk}/"  # a /staff/ page: changed from the office only
    body = {"title": "Budget 2027"}
    outside = client_for(ivan).patch(url, body, content_type="application/json")
    assert outside.status_code == 403
    inside = client_for(ivan, REMOTE_ADDR=OFFICE_IP).patch(url, body, content_type="application/json")
    assert inside.status_code == 200
    # Outside a request (a shell, a command) there is no ip: a literal that
    # reads a missing ctx key is false (SPEC section 5), so the deny is off.
    assert ivan.has_perm("wiki.change_page", wiki.budget)


def test_template_tags_ask_for_the_current_user(wiki: Wiki) -> None:
    ivan = wiki.user("ivan")
    RoleAssignment.objects.create(user=ivan, role="viewer", project=wiki.apollo)
    template = Template(
        "{% load warden %}{% warden_perms page as perms %}"
        "{% if perms.can_view_page %}view {% endif %}{% if perms.can_change_page %}change{% endif %}"
        '{% if perms|has:"wiki.view_page" %} yes{% endif %}'
    )
    assert template.render(Context({"user": ivan, "page": wiki.launch})) == "view  yes"
    assert template.render(Context({"user": ivan, "page": wiki.crew})) == ""


def test_the_admin_asks_per_object_and_explains(wiki: Wiki) -> None:
    ivan = wiki.user("ivan", is_staff=True)
    RoleAssignment.objects.create(user=ivan, role="editor", project=wiki.apollo)
    admin = client_for(ivan)
    assert admin.get(f"/admin/wiki/page/{wiki.launch.pk}/change/").status_code == 200
    assert admin.get(f"/admin/wiki/page/{wiki.crew.pk}/change/").status_code == 403
    why = admin.get(f"/admin/wiki/page/{wiki.launch.pk}/why/", {"perm": "wiki.delete_page"})
    assert why.status_code == 200
    text = why.content.decode()
    assert "Denied." in text and "wiki.delete_page" in text


def test_a_request_without_an_address_cannot_switch_a_rule_off(wiki: Wiki) -> None:
    ivan = wiki.user("ivan")
    RoleAssignment.objects.create(user=ivan, role="editor", project=wiki.apollo)
    url = f"/api/pages/{wiki.budget.pk}/"
    nowhere = client_for(ivan, REMOTE_ADDR="").patch(url, {"title": "x"}, content_type="application/json")
    assert nowhere.status_code == 403


def test_moving_a_page_needs_add_in_the_project_it_moves_to(wiki: Wiki) -> None:
    ivan = wiki.user("ivan")
    RoleAssignment.objects.create(user=ivan, role="editor", project=wiki.apollo)
    api = client_for(ivan)
    moved = api.patch(
        f"/api/pages/{wiki.launch.pk}/", {"project": wiki.gemini.pk}, content_type="application/json"
    )
    assert moved.status_code == 403
    stays = api.patch(
        f"/api/pages/{wiki.launch.pk}/", {"project": wiki.apollo.pk}, content_type="application/json"
    )
    assert stays.status_code == 200


def test_one_may_ask_why_for_oneself_only(wiki: Wiki) -> None:
    ivan, jo = wiki.user("ivan", is_staff=True), wiki.user("jo")
    RoleAssignment.objects.create(user=ivan, role="editor", project=wiki.apollo)
    admin = client_for(ivan)
    url = f"/admin/wiki/page/{wiki.launch.pk}/why/"
    assert admin.get(url, {"user": jo.pk}).status_code == 403
    assert admin.get(url, {"user": ivan.pk}).status_code == 200


def test_the_management_commands_check_and_explain(wiki: Wiki) -> None:
    from io import StringIO

    import pytest
    from django.core.management import call_command

    ivan = wiki.user("ivan")
    RoleAssignment.objects.create(user=ivan, role="editor", project=wiki.apollo)
    out = StringIO()
    call_command("warden_check", "ivan", "wiki.change_page", f"page:{wiki.launch.pk}", stdout=out)
    assert out.getvalue().startswith(f"allowed: user:{ivan.pk} may wiki.change_page page:{wiki.launch.pk}")
    with pytest.raises(SystemExit):
        call_command("warden_check", "ivan", "wiki.delete_page", f"page:{wiki.launch.pk}", stdout=StringIO())
    out = StringIO()
    call_command(
        "warden_explain", f'allowed("user:{ivan.pk}", wiki.change_page, page:{wiki.launch.pk})', stdout=out
    )
    assert "true" in out.getvalue().splitlines()[0]
    out = StringIO()
    call_command("warden_sync", stdout=out)
    assert out.getvalue().startswith("synced ")
