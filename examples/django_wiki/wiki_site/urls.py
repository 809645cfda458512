"""The example wiki's URLs: the admin, the page list and the REST API."""

from django.contrib import admin
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from wiki.api import PageViewSet
from wiki.views import page_list

router = DefaultRouter()
router.register("pages", PageViewSet, basename="page")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("pages/", page_list, name="page-list"),
    path("api/", include(router.urls)),
]
