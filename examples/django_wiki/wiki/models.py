"""The example wiki's models: projects, their pages, and the permission data
of each scenario (per-object rows, project permissions, role assignments).

Each model that carries permission data says which Warden facts it implies
(``warden_facts``); ``warden.django.sync`` keeps them in the policy's program.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import models

from warden.django import facts
from warden.django.querysets import WardenQuerySet


class Project(models.Model):
    """A project: pages inherit what is granted on it."""

    name = models.CharField(max_length=100, unique=True)

    def __str__(self) -> str:
        return self.name


class Page(models.Model):
    """A wiki page; ``page:<pk>`` in the policy, within ``project:<pk>``."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="pages")
    title = models.CharField(max_length=200)
    url = models.CharField(max_length=200, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_pages",
    )
    locked = models.BooleanField(default=False)

    objects = WardenQuerySet.as_manager()

    class Meta:
        permissions = [
            ("publish_page", "Can publish a page"),
            ("review_page", "Can review a page"),
        ]

    def __str__(self) -> str:
        return self.title

    def warden_facts(self) -> list[str]:
        out = [facts.fact("page_url", self, self.url)]
        if self.locked:
            out.append(facts.fact("locked", self))
        return out


class ObjectPermission(models.Model):
    """A per-object permission row (scenario 000), approved or not
    (django-authority's per-object permissions, scenario 002)."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="object_permissions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    permission = models.CharField(max_length=100, help_text="a codename, such as review_page")
    namespace = models.CharField(max_length=100, default="wiki")
    approved = models.BooleanField(default=True)

    def warden_facts(self) -> list[str]:
        perm = f"{self.namespace}.{self.permission}"
        return [facts.fact("object_permission", self.user, perm, self.page, self.approved)]


class ProjectPermission(models.Model):
    """A Django permission valid in one project, for users and groups
    (scenario 001); a user's or group's own permissions stay global."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    permission = models.ForeignKey(Permission, on_delete=models.CASCADE)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True)
    groups = models.ManyToManyField(Group, blank=True)

    class Meta:
        unique_together = [("project", "permission")]

    def warden_facts(self) -> list[str]:
        perm = f"{self.permission.content_type.app_label}.{self.permission.codename}"
        holders = [*self.users.all(), *self.groups.all()]
        return [facts.grant(holder, perm, obj=self.project) for holder in holders]


class RoleAssignment(models.Model):
    """A role of the policy's role tree, given to a user or a group, on a
    project or everywhere, until an instant or for good (scenario 003)."""

    ROLES = [
        ("viewer", "viewer"),
        ("editor", "editor"),
        ("publisher", "publisher"),
        ("admin", "admin"),
    ]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE)
    role = models.CharField(max_length=50, choices=ROLES)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE)
    expires_at = models.DateTimeField(null=True, blank=True)

    def warden_facts(self) -> list[str]:
        subject = self.user or self.group
        if subject is None:
            return []
        return [facts.assign(subject, self.role, scope=self.project, until=self.expires_at)]


class Draft(Page):
    """Pages seen through a proxy: still ``page:<pk>`` to the policy."""

    class Meta:
        proxy = True
