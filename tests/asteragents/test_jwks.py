"""Keys from a live JWKS server on 127.0.0.1: caching, rotation, refetch limits, outages."""

import threading
import time
import uuid

import pytest
from rest_framework.exceptions import APIException

from asteragents.authentication import verify_session_token
from tests.asteragents.conftest import WHOAMI
from tests.clerk import JwksServer, jwk, jwks_document, public_pem, session_claims, sign

pytestmark = pytest.mark.urls("tests.asteragents.urls")


def token(key_name: str = "default", *, kid: str | None, algorithm: str = "RS256") -> str:
    claims = session_claims(user_id="user_ann", org_id="org_acme", role="admin")
    return sign(claims, key_name=key_name, kid=kid, algorithm=algorithm)


def forged_kid_token() -> str:
    return token("other", kid=f"forged_{uuid.uuid4().hex}")


def get(client, raw_token: str):
    return client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {raw_token}")


def code_of(response) -> str | None:
    return None if response.status_code == 200 else response.json()["code"]


def test_keys_are_fetched_once_and_cached(client, jwks_server):
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"))
    assert get(client, token(kid="ins_1")).status_code == 200
    assert get(client, token(kid="ins_1")).status_code == 200
    assert get(client, token(kid="ins_1")).json()["org_role"] == "org:admin"
    assert jwks_server.hits == 1


def test_rotation_new_kid_triggers_a_refetch(client, jwks_server, settings):
    settings.CLERK_JWKS_REFETCH_COOLDOWN_SECONDS = 0
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"))
    assert get(client, token(kid="ins_1")).status_code == 200
    assert jwks_server.hits == 1

    jwks_server.document = jwks_document(jwk("default", kid="ins_1"), jwk("other", kid="ins_2"))
    assert get(client, token("other", kid="ins_2")).status_code == 200
    assert jwks_server.hits == 2
    # Both keys now cached: no further fetch.
    assert get(client, token(kid="ins_1")).status_code == 200
    assert get(client, token("other", kid="ins_2")).status_code == 200
    assert jwks_server.hits == 2


def test_unknown_kids_refetch_at_most_once_per_cooldown(client, jwks_server, settings):
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"))
    assert get(client, token(kid="ins_1")).status_code == 200
    assert jwks_server.hits == 1

    # Within the cool-down of the first fetch: a flood of forged kids fetches nothing.
    codes = [code_of(get(client, forged_kid_token())) for _ in range(15)]
    assert codes == ["unknown_key"] * 15
    assert jwks_server.hits == 1

    # Once the cool-down has passed, the next forged kid refetches, once.
    settings.CLERK_JWKS_REFETCH_COOLDOWN_SECONDS = 0.2
    time.sleep(0.25)
    assert code_of(get(client, forged_kid_token())) == "unknown_key"
    assert jwks_server.hits == 2
    # (the cool-down is put back so a slow machine cannot let the next period start)
    settings.CLERK_JWKS_REFETCH_COOLDOWN_SECONDS = 30
    codes = [code_of(get(client, forged_kid_token())) for _ in range(15)]
    assert codes == ["unknown_key"] * 15
    assert jwks_server.hits == 2

    assert get(client, token(kid="ins_1")).status_code == 200
    assert jwks_server.hits == 2


def test_new_kid_within_cooldown_waits_for_the_next_period(client, jwks_server, settings):
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"))
    assert get(client, token(kid="ins_1")).status_code == 200
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"), jwk("other", kid="ins_2"))
    assert code_of(get(client, token("other", kid="ins_2"))) == "unknown_key"
    assert jwks_server.hits == 1

    settings.CLERK_JWKS_REFETCH_COOLDOWN_SECONDS = 0.2
    time.sleep(0.25)
    assert get(client, token("other", kid="ins_2")).status_code == 200
    assert jwks_server.hits == 2


def test_concurrent_unknown_kids_cause_one_fetch(jwks_server, settings):
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"))
    outcomes = []

    def attempt():
        try:
            verify_session_token(forged_kid_token())
        except APIException as exc:
            outcomes.append(exc.detail.code)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert outcomes == ["unknown_key"] * 20
    assert jwks_server.hits == 1


def test_removed_key_stops_working_after_the_next_refetch(client, jwks_server, settings):
    settings.CLERK_JWKS_REFETCH_COOLDOWN_SECONDS = 0
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"), jwk("other", kid="ins_2"))
    assert get(client, token(kid="ins_1")).status_code == 200

    jwks_server.document = jwks_document(jwk("other", kid="ins_2"))
    # Still cached and fresh: no fetch, still accepted.
    assert get(client, token(kid="ins_1")).status_code == 200
    assert jwks_server.hits == 1
    # Any refetch (here for an unknown kid) replaces the whole key set.
    assert code_of(get(client, forged_kid_token())) == "unknown_key"
    assert jwks_server.hits == 2
    assert code_of(get(client, token(kid="ins_1"))) == "unknown_key"
    assert get(client, token("other", kid="ins_2")).status_code == 200


def test_removed_key_stops_working_when_the_cache_expires(client, jwks_server, settings):
    settings.CLERK_JWKS_REFETCH_COOLDOWN_SECONDS = 0
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"))
    assert get(client, token(kid="ins_1")).status_code == 200

    jwks_server.document = jwks_document(jwk("other", kid="ins_2"))
    settings.CLERK_JWKS_CACHE_SECONDS = 0
    assert code_of(get(client, token(kid="ins_1"))) == "unknown_key"
    assert jwks_server.hits == 2


def test_server_down_with_nothing_cached_is_503_quickly(client, jwks_server):
    jwks_server.stop()
    started = time.monotonic()
    response = get(client, token(kid="ins_1"))
    assert code_of(response) == "auth_unavailable"
    assert response.status_code == 503
    assert time.monotonic() - started < 1.0


def test_server_error_with_nothing_cached_is_503_and_not_retried_in_cooldown(client, jwks_server):
    jwks_server.status = 500
    assert code_of(get(client, token(kid="ins_1"))) == "auth_unavailable"
    assert code_of(get(client, token(kid="ins_1"))) == "auth_unavailable"
    assert jwks_server.hits == 1


def test_slow_server_with_nothing_cached_times_out_to_503(client, jwks_server, settings):
    settings.CLERK_JWKS_TIMEOUT_SECONDS = 0.3
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"))
    jwks_server.delay = 5
    started = time.monotonic()
    response = get(client, token(kid="ins_1"))
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert code_of(response) == "auth_unavailable"
    assert elapsed < 1.5


def test_cached_keys_keep_working_while_the_server_is_down(client, jwks_server, settings):
    settings.CLERK_JWKS_REFETCH_COOLDOWN_SECONDS = 0
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"))
    assert get(client, token(kid="ins_1")).status_code == 200

    jwks_server.stop()
    settings.CLERK_JWKS_CACHE_SECONDS = 0  # stale: every request tries to refresh, and fails
    assert get(client, token(kid="ins_1")).status_code == 200
    assert get(client, token(kid="ins_1")).status_code == 200
    # A kid we cannot look up while the JWKS is down is our outage, not the caller's fault.
    assert code_of(get(client, forged_kid_token())) == "auth_unavailable"


def test_cached_keys_keep_working_while_the_server_is_slow(client, jwks_server, settings):
    settings.CLERK_JWKS_REFETCH_COOLDOWN_SECONDS = 0
    settings.CLERK_JWKS_TIMEOUT_SECONDS = 0.3
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"))
    assert get(client, token(kid="ins_1")).status_code == 200

    jwks_server.delay = 5
    settings.CLERK_JWKS_CACHE_SECONDS = 0
    started = time.monotonic()
    assert get(client, token(kid="ins_1")).status_code == 200
    assert time.monotonic() - started < 1.5


def test_not_a_key_set_is_503(client, jwks_server):
    jwks_server.document = {"error": "not found"}
    assert code_of(get(client, token(kid="ins_1"))) == "auth_unavailable"


def test_keys_of_other_types_are_skipped(client, jwks_server):
    ec_key = {"kty": "EC", "crv": "P-256", "kid": "ec_1", "x": "AAAA", "y": "AAAA"}
    encryption_key = jwk("other", kid="enc_1") | {"use": "enc"}
    jwks_server.document = jwks_document(ec_key, encryption_key, jwk("default", kid="ins_1"))
    assert get(client, token(kid="ins_1")).status_code == 200
    assert code_of(get(client, token("other", kid="enc_1"))) == "unknown_key"


def test_token_without_kid_is_unknown_key(client, jwks_server):
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"))
    assert code_of(get(client, token(kid=None))) == "unknown_key"


def test_known_kid_signed_by_another_key_is_invalid_signature(client, jwks_server):
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"))
    assert code_of(get(client, token("other", kid="ins_1"))) == "invalid_signature"


def test_algorithm_must_match_the_keys_declared_alg(client, jwks_server):
    jwks_server.document = jwks_document(jwk("default", kid="ins_1", alg="RS256"))
    response = get(client, token(kid="ins_1", algorithm="RS512"))
    assert code_of(response) == "unsupported_algorithm"


def test_key_without_declared_alg_accepts_any_rsa_size(client, jwks_server):
    jwks_server.document = jwks_document(jwk("default", kid="ins_1", alg=None))
    assert get(client, token(kid="ins_1", algorithm="RS512")).status_code == 200


def test_each_url_has_its_own_cache(client, jwks_server, settings):
    jwks_server.document = jwks_document(jwk("default", kid="ins_1"))
    assert get(client, token(kid="ins_1")).status_code == 200
    with JwksServer(jwks_document(jwk("other", kid="ins_9"))) as second:
        settings.CLERK_JWKS_URL = second.url
        assert get(client, token("other", kid="ins_9")).status_code == 200
        assert code_of(get(client, token(kid="ins_1"))) == "unknown_key"
        assert second.hits == 1


def test_pem_key_takes_precedence_and_never_fetches(client, jwks_server, settings):
    jwks_server.document = jwks_document(jwk("other", kid="ins_1"))
    settings.CLERK_JWT_KEY = public_pem("default")
    assert get(client, token(kid="ins_1")).status_code == 200
    assert jwks_server.hits == 0
