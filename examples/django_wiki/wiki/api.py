"""The wiki's REST API: every request decided by the policy (``WardenPermission``)."""

from __future__ import annotations

from rest_framework import serializers, viewsets
from rest_framework.request import Request

from warden.django.drf import WardenFilterBackend
from wiki.models import Page, Project


class PageSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Page
        fields = ["id", "project", "title", "url", "locked"]


class PageViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """Pages. A list shows the pages the user may view; a new page needs
    ``wiki.add_page`` on its project."""

    serializer_class = PageSerializer
    queryset = Page.objects.select_related("project").order_by("pk")
    # Lists show the pages the user may view, filtered in the database.
    filter_backends = [WardenFilterBackend]

    def warden_create_target(self, request: Request) -> Project | None:
        return Project.objects.filter(pk=request.data.get("project")).first()
