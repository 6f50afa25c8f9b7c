"""Every authentication test starts from the same Clerk settings, whatever the environment."""

import pytest

WHOAMI = "/whoami"


@pytest.fixture(autouse=True)
def _clerk_settings(settings, tmp_path):
    settings.DEBUG = False
    settings.CLERK_JWT_KEY = ""
    settings.CLERK_JWKS_URL = ""
    settings.CLERK_ISSUER = ""
    settings.CLERK_AUDIENCE = []
    settings.CLERK_AUTHORIZED_PARTIES = []
    settings.CLERK_CLOCK_SKEW_SECONDS = 5
    settings.CLERK_JWKS_TIMEOUT_SECONDS = 2.0
    settings.CLERK_JWKS_CACHE_SECONDS = 3600
    settings.CLERK_JWKS_REFETCH_COOLDOWN_SECONDS = 30
    settings.CLERK_DEV_KEY_DIR = tmp_path / "dev-keys"
