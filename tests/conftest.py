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


@pytest.fixture
def jwks_server(settings):
    """A live JWKS server on 127.0.0.1 (initially empty), configured as CLERK_JWKS_URL.

    Always shut down after the test; the process's JWKS caches are cleared on both sides.
    """
    from asteragents.jwks import clear_jwks_caches
    from tests.clerk import JwksServer

    clear_jwks_caches()
    with JwksServer() as server:
        settings.CLERK_JWT_KEY = ""
        settings.CLERK_JWKS_URL = server.url
        yield server
    clear_jwks_caches()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache; no test inherits another's."""
    from django.core.cache import cache

    cache.clear()
