"""Shared fixtures. The database under test is whatever DATABASE_URL names."""

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _skip_postgres_only(request):
    if request.node.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
