"""The admin asks Warden for each page's permissions, and explains them."""

from django.contrib import admin

from warden.django.admin import WardenAdminMixin
from wiki.models import Page, Project


@admin.register(Page)
class PageAdmin(WardenAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["title", "project", "url", "locked"]


@admin.register(Project)
class ProjectAdmin(WardenAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name"]
