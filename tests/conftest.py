"""Shared fixtures. The database under test is whatever DATABASE_URL names."""

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _skip_postgres_only(request):
    if request.node.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")


@pytest.fixture
def clerk_key(settings):
    """Trust the tests' own `default` key as the Clerk instance's PEM public key."""
    from tests.clerk import public_pem

    settings.CLERK_JWT_KEY = public_pem("default")
    settings.CLERK_JWKS_URL = ""
    return settings.CLERK_JWT_KEY


@pytest.fixture
def bearer(clerk_key):
    """bearer(user_id=..., org_id=..., role=..., version=...) -> HTTP_AUTHORIZATION kwargs."""
    from tests.clerk import make_token

    def _bearer(**kwargs):
        return {"HTTP_AUTHORIZATION": f"Bearer {make_token(**kwargs)}"}

    return _bearer
