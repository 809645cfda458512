"""The wiki's plain Django views: the page list a signed-in user sees."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from wiki.models import Page


@login_required
def page_list(request: HttpRequest) -> HttpResponse:
    """The titles of the pages the user may view, one a line, filtered in
    the database by the policy (``Page.objects.authorized``)."""
    pages = Page.objects.authorized(request.user, "wiki.view_page").order_by("title")
    return HttpResponse("".join(f"{page.title}\n" for page in pages), content_type="text/plain")
