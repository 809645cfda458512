"""The example wiki's URLs: the admin and the REST API."""

from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from wiki.api import PageViewSet

router = DefaultRouter()
router.register("pages", PageViewSet, basename="page")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(router.urls)),
]
