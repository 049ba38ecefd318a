"""The Django settings of the Django tests (one configuration per process, so every Django test
module configures it through :func:`configure`): this engine and its app (``manage.py
createsessiontable``), ``django.contrib.auth`` on a SQLite database in a temporary directory
(for real logins), and fast password hashing."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import django
from django.conf import settings


def configure(root_urlconf: str) -> None:
    """Configures Django once; ``root_urlconf`` is the first caller's URL module."""
    if settings.configured:
        return
    directory = Path(tempfile.mkdtemp(prefix="connect-dynamodb-django-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    settings.configure(
        SECRET_KEY="connect-dynamodb-django-tests",
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "connect_dynamodb.contrib.django_app",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(directory / "db.sqlite3"),
            }
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        SESSION_ENGINE="connect_dynamodb.contrib.django",
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
        ROOT_URLCONF=root_urlconf,
        CONNECT_DYNAMODB={},
    )
    django.setup()
