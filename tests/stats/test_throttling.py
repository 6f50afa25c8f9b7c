"""Per-caller throttling: 429 with Retry-After past the configured rate."""

import pytest
from rest_framework.settings import api_settings

pytestmark = pytest.mark.django_db

URL = "/api/dashboard/getStats"
RANGE = {"from": "2024-03-01", "to": "2024-03-31"}


@pytest.fixture
def rate(settings):
    def _set(value: str):
        settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {
            "DEFAULT_THROTTLE_RATES": {"caller": value}
        }
        assert api_settings.DEFAULT_THROTTLE_RATES == {"caller": value}

    return _set


def test_default_rate_is_generous():
    number, _, period = api_settings.DEFAULT_THROTTLE_RATES["caller"].partition("/")
    assert period.startswith("m") and int(number) >= 300


def test_caller_over_the_rate_gets_429_with_retry_after(client, bearer, rate):
    rate("3/min")
    ann = bearer(user_id="user_ann", org_id="org_acme")
    statuses = [client.get(URL, RANGE, **ann).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(URL, RANGE, **ann)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    # Another caller has a budget of its own.
    bob = bearer(user_id="user_bob", org_id="org_acme", role="org:member")
    assert client.get(URL, RANGE, **bob).status_code == 200


def test_unreachable_cache_fails_open(client, bearer, rate, settings):
    rate("1/min")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    ann = bearer(user_id="user_ann", org_id="org_acme")
    assert [client.get(URL, RANGE, **ann).status_code for _ in range(2)] == [200, 200]
