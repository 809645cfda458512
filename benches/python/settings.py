"""Settings of the Django benchmark: the example wiki's models, django-guardian,
django-rules and Warden side by side on one SQLite file (``BENCH_DB``)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "django_wiki"))

SECRET_KEY = "benchmark-only"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "guardian",
    "warden.django",
    "wiki",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_DB", "/tmp/warden-bench.sqlite3"),
    }
}
AUTHENTICATION_BACKENDS = ["warden.django.backend.WardenBackend"]
WARDEN = {
    "POLICIES": [os.environ.get("BENCH_POLICIES", "/tmp/warden-bench-policies")],
    "RELATIONS": [{"model": "wiki.Page", "field": "project", "relation": "in"}],
}
GUARDIAN_MONKEY_PATCH_USER = False
