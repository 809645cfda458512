"""Settings of the example wiki: Warden decides every permission."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "example-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["localhost", "testserver"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "wiki_site.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "warden.django",
    "wiki",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "warden.django.middleware.WardenContextMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}

# Django's ModelBackend logs people in; only the policy grants.
AUTHENTICATION_BACKENDS = [
    "warden.django.backend.AuthenticationOnlyBackend",
    "warden.django.backend.WardenBackend",
]

WARDEN = {
    "POLICIES": [BASE_DIR / "wiki" / "policies"],
    "EXTERN_FNS": {"in_office": "wiki.checks.in_office"},
    "RELATIONS": [
        {"model": "wiki.Page", "field": "project", "relation": "in"},
        {"model": "wiki.Page", "field": "owner", "relation": "owner"},
    ],
}

REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["warden.django.drf.WardenPermission"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
}
