"""ClerkSessionAuthentication through a real DRF view: credentials, claims, refusals."""

import json
import time

import jwt
import pytest
from rest_framework.exceptions import AuthenticationFailed

from asteragents.authentication import verify_session_token
from tests.asteragents.conftest import WHOAMI
from tests.clerk import hmac_token, public_pem, rsa_private_key, session_claims, sign
from tests.clerk import unsigned_token as forge

pytestmark = pytest.mark.urls("tests.asteragents.urls")


_DROP = object()  # an override that removes the claim


def claims(**overrides) -> dict:
    """A fixed v2 admin session of user_ann in org_acme, valid now, with `overrides`."""
    base = session_claims(user_id="user_ann", org_id="org_acme", role="org:admin")
    base["sid"] = "sess_fixed"
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not _DROP}


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def get(client, token: str):
    return client.get(WHOAMI, **bearer(token))


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "message"} and body["message"]
    if status == 401:
        assert response["WWW-Authenticate"] == "Bearer"


def principal(**fields) -> dict:
    """The whoami body: defaults of an unscoped session plus `fields`."""
    body = {
        "user_id": "user_ann",
        "organization_id": None,
        "org_role": None,
        "org_slug": None,
        "org_permissions": [],
        "session_id": "sess_fixed",
        "is_org_admin": False,
        "auth_is_raw_token": True,
    }
    body.update(fields)
    return body


ANN_ADMIN_OF_ACME = principal(
    organization_id="org_acme", org_role="org:admin", org_slug="acme", is_org_admin=True
)


# --- Where the token comes from ------------------------------------------------------------


def test_no_credential_is_401_missing_token(client, clerk_key):
    assert_refused(client.get(WHOAMI), 401, "missing_token")


def test_a_non_bearer_scheme_is_not_ours(client, clerk_key):
    response = client.get(WHOAMI, HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert_refused(response, 401, "missing_token")


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer one two"])
def test_bearer_without_exactly_one_token_is_malformed(client, clerk_key, header):
    assert_refused(client.get(WHOAMI, HTTP_AUTHORIZATION=header), 401, "malformed_token")


def test_the_scheme_is_case_insensitive(client, clerk_key):
    response = client.get(WHOAMI, HTTP_AUTHORIZATION=f"bearer {sign(claims())}")
    assert response.status_code == 200
    assert response.json() == ANN_ADMIN_OF_ACME


def test_session_cookie_authenticates_a_get(client, clerk_key):
    client.cookies["__session"] = sign(claims())
    response = client.get(WHOAMI)
    assert response.status_code == 200
    assert response.json() == ANN_ADMIN_OF_ACME


def test_session_cookie_authenticates_head_and_options(client, clerk_key):
    client.cookies["__session"] = sign(claims())
    assert client.head(WHOAMI).status_code == 200
    assert client.options(WHOAMI).status_code == 200


def test_session_cookie_is_ignored_for_unsafe_methods(client, clerk_key):
    # A browser sends the cookie on cross-site POSTs too: only a header proves intent.
    client.cookies["__session"] = sign(claims())
    assert_refused(client.post(WHOAMI), 401, "missing_token")


def test_bearer_header_authenticates_a_post(client, clerk_key):
    response = client.post(WHOAMI, **bearer(sign(claims())))
    assert response.status_code == 200


def test_header_wins_over_cookie(client, clerk_key):
    client.cookies["__session"] = sign(claims(sub="user_cookie"))
    response = get(client, sign(claims(sub="user_header")))
    assert response.json()["user_id"] == "user_header"


def test_bad_header_is_refused_even_with_a_good_cookie(client, clerk_key):
    client.cookies["__session"] = sign(claims())
    assert_refused(get(client, "not-a-token"), 401, "malformed_token")


def test_basic_header_leaves_the_cookie_to_authenticate(client, clerk_key):
    # e.g. a same-origin dashboard behind a proxy's basic auth
    client.cookies["__session"] = sign(claims())
    response = client.get(WHOAMI, HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert response.status_code == 200


def test_bad_cookie_is_refused(client, clerk_key):
    client.cookies["__session"] = sign(claims(), key_name="other")
    assert_refused(client.get(WHOAMI), 401, "invalid_signature")


def test_shared_bearer_fixture_works(client, bearer):
    response = client.get(WHOAMI, **bearer(user_id="user_bo", org_id="org_acme", role="member"))
    assert response.status_code == 200
    assert response.json()["org_role"] == "org:member"


# --- Organization claims: v1, v2, legacy roles ----------------------------------------------


def test_v2_admin(client, clerk_key):
    token = sign(claims(v=2, o={"id": "org_acme", "rol": "admin", "slg": "acme"}))
    assert get(client, token).json() == ANN_ADMIN_OF_ACME


def test_v2_member(client, clerk_key):
    token = sign(claims(v=2, o={"id": "org_acme", "rol": "member", "slg": "acme"}))
    assert get(client, token).json() == principal(
        organization_id="org_acme", org_role="org:member", org_slug="acme"
    )


def test_v2_custom_role_gets_the_prefix(client, clerk_key):
    token = sign(claims(v=2, o={"id": "org_acme", "rol": "billing_manager"}))
    assert get(client, token).json()["org_role"] == "org:billing_manager"


def test_v1_prefixed_admin(client, clerk_key):
    token = sign(claims(v=_DROP, o=_DROP, org_id="org_acme", org_role="org:admin", org_slug="acme"))
    assert get(client, token).json() == ANN_ADMIN_OF_ACME


def test_v1_legacy_unprefixed_admin_means_org_admin(client, clerk_key):
    token = sign(claims(v=_DROP, o=_DROP, org_id="org_acme", org_role="admin", org_slug="acme"))
    assert get(client, token).json() == ANN_ADMIN_OF_ACME


def test_v1_permissions_are_read(client, clerk_key):
    token = sign(
        claims(
            v=_DROP,
            o=_DROP,
            org_id="org_acme",
            org_role="org:member",
            org_permissions=["org:sys_memberships:read", "org:stats:read"],
        )
    )
    assert get(client, token).json() == principal(
        organization_id="org_acme",
        org_role="org:member",
        org_permissions=["org:sys_memberships:read", "org:stats:read"],
    )


def test_v2_permissions_decoded_from_fpm(client, clerk_key):
    # Clerk's documented example: dashboard 3 = 0b11 (manage, read), teams 2 = 0b10 (read).
    token = sign(
        claims(
            fea="o:dashboard,o:teams",
            o={"id": "org_acme", "rol": "admin", "per": "manage,read", "fpm": "3,2"},
        )
    )
    assert get(client, token).json()["org_permissions"] == [
        "org:dashboard:manage",
        "org:dashboard:read",
        "org:teams:read",
    ]


def test_v2_permissions_follow_only_org_scoped_features(client, clerk_key):
    # `u:` features are the user's own; fpm lists one mask per org-scoped (`o`, `uo`) feature.
    token = sign(
        claims(
            fea="u:profile,o:dashboard,uo:teams",
            o={"id": "org_acme", "rol": "admin", "per": "manage,read", "fpm": "1,2"},
        )
    )
    assert get(client, token).json()["org_permissions"] == [
        "org:dashboard:manage",
        "org:teams:read",
    ]


@pytest.mark.parametrize(
    "org_claims",
    [
        {"v": 2, "o": _DROP},
        {"v": 2, "o": None},
        {"v": _DROP, "o": _DROP},
        {"v": _DROP, "o": _DROP, "org_role": "org:admin"},  # a role without an organization
    ],
    ids=["v2-no-o", "v2-o-null", "v1-no-org_id", "v1-role-only"],
)
def test_no_org_claim_means_no_active_organization(client, clerk_key, org_claims):
    response = get(client, sign(claims(**org_claims)))
    assert response.status_code == 200
    assert response.json() == principal()


@pytest.mark.parametrize(
    "org_claims",
    [
        {"v": 2, "o": {"id": "org_acme", "rol": "admin"}},
        {"v": _DROP, "o": _DROP, "org_id": "org_acme", "org_role": "org:admin"},
    ],
    ids=["v2", "v1"],
)
def test_pending_session_has_no_active_organization(client, clerk_key, org_claims):
    response = get(client, sign(claims(sts="pending", **org_claims)))
    assert response.status_code == 200
    assert response.json() == principal()


def test_active_session_status_keeps_the_organization(client, clerk_key):
    assert get(client, sign(claims(sts="active"))).json() == ANN_ADMIN_OF_ACME


def test_unknown_token_version_is_malformed(client, clerk_key):
    assert_refused(get(client, sign(claims(v=3))), 401, "malformed_token")


# --- Time ---------------------------------------------------------------------------------


def test_expired_token(client, clerk_key):
    now = int(time.time())
    assert_refused(get(client, sign(claims(exp=now - 60))), 401, "token_expired")


def test_expired_within_clock_skew_is_accepted(client, clerk_key):
    now = int(time.time())
    assert get(client, sign(claims(exp=now - 2))).status_code == 200


def test_not_yet_valid_token(client, clerk_key):
    now = int(time.time())
    assert_refused(get(client, sign(claims(nbf=now + 60))), 401, "token_not_yet_valid")


def test_not_before_within_clock_skew_is_accepted(client, clerk_key):
    now = int(time.time())
    assert get(client, sign(claims(nbf=now + 2))).status_code == 200


def test_far_future_issued_at(client, clerk_key):
    now = int(time.time())
    assert_refused(get(client, sign(claims(iat=now + 3600))), 401, "token_not_yet_valid")


def test_clock_skew_setting_is_read_per_request(client, clerk_key, settings):
    settings.CLERK_CLOCK_SKEW_SECONDS = 120
    now = int(time.time())
    assert get(client, sign(claims(exp=now - 60))).status_code == 200


def _code(token: str, *, now: float) -> str | None:
    try:
        verify_session_token(token, now=now)
    except AuthenticationFailed as exc:
        return exc.detail.code
    return None


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (1004.999, None),  # included: before exp + 5 s of skew
        (1005.0, "token_expired"),  # excluded: exp + skew itself
    ],
)
def test_expiry_bound_with_five_seconds_of_skew(clerk_key, now, code):
    token = sign({"sub": "user_ann", "exp": 1000, "iat": 900})
    assert _code(token, now=now) == code


@pytest.mark.parametrize(
    ("now", "code"),
    [
        (995.0, None),  # included: nbf - 5 s of skew
        (994.999, "token_not_yet_valid"),  # excluded: just before it
    ],
)
def test_not_before_bound_with_five_seconds_of_skew(clerk_key, now, code):
    token = sign({"sub": "user_ann", "exp": 2000, "nbf": 1000})
    assert _code(token, now=now) == code


@pytest.mark.parametrize(("now", "code"), [(995.0, None), (994.999, "token_not_yet_valid")])
def test_issued_at_bound_with_five_seconds_of_skew(clerk_key, now, code):
    token = sign({"sub": "user_ann", "exp": 2000, "iat": 1000})
    assert _code(token, now=now) == code


def test_fractional_numeric_dates_are_accepted(clerk_key):
    token = sign({"sub": "user_ann", "exp": 1000.5, "iat": 900.25})
    assert _code(token, now=1005.4) is None
    assert _code(token, now=1005.5) == "token_expired"


# --- Issuer, authorized party, audience ---------------------------------------------------


def test_issuer_checked_when_configured(client, clerk_key, settings):
    settings.CLERK_ISSUER = "https://clerk.test.local"
    assert get(client, sign(claims())).status_code == 200
    assert_refused(
        get(client, sign(claims(iss="https://clerk.evil.example"))), 401, "invalid_issuer"
    )
    assert_refused(get(client, sign(claims(iss=_DROP))), 401, "invalid_issuer")


def test_issuer_trailing_slash_in_setting_is_tolerated(client, clerk_key, settings):
    settings.CLERK_ISSUER = "https://clerk.test.local/"
    assert get(client, sign(claims())).status_code == 200


def test_issuer_not_checked_when_not_configured(client, clerk_key):
    assert get(client, sign(claims(iss="https://anything.example"))).status_code == 200


def test_authorized_party_checked_when_configured(client, clerk_key, settings):
    settings.CLERK_AUTHORIZED_PARTIES = ["https://dash.example.com", "http://localhost:3000"]
    assert get(client, sign(claims(azp="http://localhost:3000"))).status_code == 200
    assert_refused(
        get(client, sign(claims(azp="https://evil.example"))), 401, "invalid_authorized_party"
    )
    # Configured parties make azp mandatory.
    assert_refused(get(client, sign(claims())), 401, "invalid_authorized_party")


def test_authorized_party_not_checked_when_not_configured(client, clerk_key):
    assert get(client, sign(claims(azp="https://anything.example"))).status_code == 200


def test_audience_checked_when_configured(client, clerk_key, settings):
    settings.CLERK_AUDIENCE = ["stats-api"]
    assert get(client, sign(claims(aud="stats-api"))).status_code == 200
    assert get(client, sign(claims(aud=["other", "stats-api"]))).status_code == 200
    assert_refused(get(client, sign(claims(aud="other"))), 401, "invalid_audience")
    assert_refused(get(client, sign(claims(aud=[]))), 401, "invalid_audience")
    assert_refused(get(client, sign(claims())), 401, "invalid_audience")


def test_audience_not_checked_when_not_configured(client, clerk_key):
    assert get(client, sign(claims(aud="anything"))).status_code == 200


# --- Hostile and broken tokens ------------------------------------------------------------


def test_alg_none_is_refused(client, clerk_key):
    token = forge({"alg": "none", "typ": "JWT"}, claims())
    assert_refused(get(client, token), 401, "unsupported_algorithm")


def test_hs256_signed_with_the_public_key_is_refused(client, clerk_key):
    token = hmac_token(claims(), public_pem("default").encode())
    assert_refused(get(client, token), 401, "unsupported_algorithm")


def test_algorithm_is_refused_before_any_key_is_looked_up(client):
    # No key configured at all: a key lookup would answer 503; the algorithm check comes first.
    token = hmac_token(claims(), b"secret")
    assert_refused(get(client, token), 401, "unsupported_algorithm")


@pytest.mark.parametrize("algorithm", ["HS256", "HS512", "ES256", "PS256", "EdDSA", "RSA-OAEP"])
def test_other_algorithms_are_refused(client, clerk_key, algorithm):
    token = forge({"alg": algorithm, "typ": "JWT"}, claims(), b"\x01" * 64)
    assert_refused(get(client, token), 401, "unsupported_algorithm")


@pytest.mark.parametrize("algorithm", ["RS384", "RS512"])
def test_other_rsa_sizes_are_accepted(client, clerk_key, algorithm):
    token = sign(claims(), algorithm=algorithm)
    assert get(client, token).status_code == 200


@pytest.mark.parametrize("header", [{"typ": "JWT"}, {"alg": 256}, {"alg": None}])
def test_missing_or_non_string_alg_is_malformed(client, clerk_key, header):
    assert_refused(get(client, forge(header, claims(), b"x")), 401, "malformed_token")


def test_signature_from_another_key(client, clerk_key):
    assert_refused(get(client, sign(claims(), key_name="other")), 401, "invalid_signature")


def test_tampered_payload(client, clerk_key):
    header, _, signature = sign(claims(o={"id": "org_acme", "rol": "member"})).split(".")
    _, payload, _ = sign(claims(o={"id": "org_acme", "rol": "admin"})).split(".")
    assert_refused(get(client, f"{header}.{payload}.{signature}"), 401, "invalid_signature")


def test_huge_header_is_refused_before_decoding(client, clerk_key):
    token = sign(claims(), kid="k" * 100_000)
    assert_refused(get(client, token), 401, "malformed_token")


def test_huge_cookie_is_refused(client, clerk_key):
    client.cookies["__session"] = sign(claims(padding="x" * 20_000))
    assert_refused(client.get(WHOAMI), 401, "malformed_token")


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b",
        "!!!.@@@.###",
        "eyJhbGciOiJSUzI1NiJ9.%%%.xyz",
        "a.b.c.d",
        "e30.e30.",  # {} . {} . empty signature: no alg
        "bm90IGpzb24.e30.e30",  # header is base64 of "not json"
        "WzFd.e30.e30",  # header is a JSON list
    ],
)
def test_garbage_is_malformed(client, clerk_key, token):
    assert_refused(get(client, token), 401, "malformed_token")


def test_non_ascii_bearer_token_is_malformed(client, clerk_key):
    response = client.get(WHOAMI, HTTP_AUTHORIZATION="Bearer tök.én.x")
    assert_refused(response, 401, "malformed_token")


def test_non_string_kid_is_malformed(client, clerk_key):
    token = jwt.encode(claims(), rsa_private_key("default"), algorithm="RS256")
    header, payload, signature = token.split(".")
    forged_header = forge({"alg": "RS256", "kid": 7}, {}).split(".")[0]
    assert_refused(get(client, f"{forged_header}.{payload}.{signature}"), 401, "malformed_token")


def _signed_payload(payload: bytes) -> str:
    """A validly signed token whose payload is these raw bytes."""
    return jwt.PyJWS().encode(payload, rsa_private_key("default"), algorithm="RS256")


@pytest.mark.parametrize(
    "payload",
    [
        b"[1, 2]",
        b'"user_ann"',
        b"not json",
        b'{"sub": "user_ann", "exp": NaN}',
        b'{"sub": "user_ann", "exp": Infinity}',
    ],
)
def test_validly_signed_payload_that_is_no_claims_object(client, clerk_key, payload):
    assert_refused(get(client, _signed_payload(payload)), 401, "malformed_token")


@pytest.mark.parametrize(
    "overrides",
    [
        {"sub": _DROP},
        {"sub": ""},
        {"sub": 42},
        {"sub": None},
        {"exp": _DROP},
        {"exp": "9999999999"},
        {"exp": True},
        {"exp": None},
        {"nbf": "0"},
        {"iat": [1]},
        {"iat": False},
        {"iss": 7},
        {"azp": ["https://dash.example.com"]},
        {"aud": 7},
        {"aud": ["stats-api", 7]},
        {"sid": 12},
        {"sts": 1},
        {"v": "2"},
        {"v": 2.0},
        {"o": "org_acme"},
        {"o": ["org_acme"]},
        {"o": {"rol": "admin"}},
        {"o": {"id": 5}},
        {"o": {"id": ""}},
        {"o": {"id": "org_acme", "rol": 1}},
        {"o": {"id": "org_acme", "slg": {}}},
        {"o": {"id": "org_acme", "per": ["read"], "fpm": "1"}},
        {"o": {"id": "org_acme", "per": "read", "fpm": 1}},
        {"o": {"id": "org_acme", "per": "read", "fpm": "1,x"}},
        {"o": {"id": "org_acme", "per": "read", "fpm": "-1"}},
        {"fea": ["o:dashboard"]},
        {"v": _DROP, "o": _DROP, "org_id": 5},
        {"v": _DROP, "o": _DROP, "org_id": ""},
        {"v": _DROP, "o": _DROP, "org_id": "org_acme", "org_role": ["admin"]},
        {"v": _DROP, "o": _DROP, "org_id": "org_acme", "org_slug": 3},
        {"v": _DROP, "o": _DROP, "org_id": "org_acme", "org_permissions": "org:x:read"},
        {"v": _DROP, "o": _DROP, "org_id": "org_acme", "org_permissions": [1]},
    ],
    ids=repr,
)
def test_claims_of_the_wrong_type_are_malformed(client, clerk_key, overrides):
    # Signed as raw JSON: PyJWT's encoder itself refuses some of these claims.
    token = _signed_payload(json.dumps(claims(**overrides)).encode())
    assert_refused(get(client, token), 401, "malformed_token")


# --- No key to check with -----------------------------------------------------------------


def test_no_key_configured_is_503(client):
    assert_refused(get(client, sign(claims())), 503, "auth_unavailable")


def test_unreadable_pem_key_is_503(client, settings):
    settings.CLERK_JWT_KEY = "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n"
    assert_refused(get(client, sign(claims())), 503, "auth_unavailable")


def test_pem_key_ignores_the_kid(client, clerk_key):
    # Networkless mode trusts exactly one key, whatever the token calls it.
    assert get(client, sign(claims(), kid="ins_2abc")).status_code == 200


def test_pem_key_setting_is_read_per_request(client, settings):
    settings.CLERK_JWT_KEY = public_pem("other")
    assert get(client, sign(claims(), key_name="other")).status_code == 200
    settings.CLERK_JWT_KEY = public_pem("default")
    assert_refused(get(client, sign(claims(), key_name="other")), 401, "invalid_signature")
