"""Test settings: the real settings with test-only secrets and local caches.

DATABASE_URL picks the database, as in production: the suite runs once on SQLite and
once on PostgreSQL (see the Makefile's `test` target).
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")

from asteragents.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
