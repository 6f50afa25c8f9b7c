"""Clerk session tokens: where a request's token is found and every check it must pass."""

import json
import math
import time

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from jwt.api_jws import PyJWS
from jwt.exceptions import InvalidSignatureError, InvalidTokenError
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from asteragents.errors import ServiceUnavailable
from asteragents.jwks import (
    ALLOWED_ALGORITHMS,
    KeyAlgorithmMismatch,
    SigningKeysUnavailable,
    UnknownSigningKey,
    verification_key,
)
from asteragents.principal import ClerkPrincipal, normalize_org_role

SESSION_COOKIE = "__session"
# Clerk's tokens are 1-3 kB; refusing anything far larger bounds the work done before the
# signature is known to be good.
MAX_TOKEN_LENGTH = 8 * 1024
# The cookie is sent by the browser on any request to the origin, so it only authenticates
# requests that cannot change anything (no CSRF).
COOKIE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_jws = PyJWS(algorithms=sorted(ALLOWED_ALGORITHMS))


class ClerkSessionAuthentication(BaseAuthentication):
    """A Clerk session token from `Authorization: Bearer` or, for safe methods, `__session`."""

    def authenticate(self, request):
        token = session_token_from(request)
        if token is None:
            return None  # not ours: DRF answers 401 missing_token if the view needs a user
        return verify_session_token(token), token

    def authenticate_header(self, request):
        return "Bearer"


class ClerkSessionScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the authentication: an HTTP bearer JWT."""

    target_class = ClerkSessionAuthentication
    name = "clerkSession"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def session_token_from(request) -> str | None:
    """The raw token: a Bearer header wins over the cookie; None when neither is present."""
    header = get_authorization_header(request).split()
    if header and header[0].lower() == b"bearer":
        if len(header) != 2:
            raise _failed(
                "malformed_token",
                "The Authorization header must be `Bearer <token>` with exactly one token.",
            )
        try:
            return header[1].decode("ascii")
        except UnicodeDecodeError:
            raise _failed("malformed_token", "The bearer token is not ASCII.") from None
    cookie = request.COOKIES.get(SESSION_COOKIE)
    if cookie and request.method in COOKIE_METHODS:
        return cookie
    return None


def verify_session_token(token: str, *, now: float | None = None) -> ClerkPrincipal:
    """The caller a token proves, or AuthenticationFailed (401) / ServiceUnavailable (503)."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise _failed("malformed_token", f"The token is longer than {MAX_TOKEN_LENGTH} characters.")
    header = _unverified_header(token)
    claims = _verified_claims(token, header)
    return _principal(claims, time.time() if now is None else now)


def _unverified_header(token: str) -> dict:
    """The header, read only to choose the algorithm and key; the algorithm checked first."""
    try:
        header = _jws.get_unverified_header(token)
    except InvalidTokenError:
        raise _failed("malformed_token", "The token is not a well-formed JWT.") from None
    algorithm = header.get("alg")
    if not isinstance(algorithm, str):
        raise _failed("malformed_token", "The token header has no algorithm (`alg`).")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise _failed(
            "unsupported_algorithm",
            f"The token algorithm {algorithm[:20]!r} is not accepted; "
            f"use one of {', '.join(sorted(ALLOWED_ALGORITHMS))}.",
        )
    return header


def _verified_claims(token: str, header: dict) -> dict:
    algorithm = header["alg"]
    try:
        key = verification_key(header.get("kid"), algorithm)
    except SigningKeysUnavailable as exc:
        raise ServiceUnavailable(str(exc), code="auth_unavailable") from None
    except UnknownSigningKey as exc:
        raise _failed("unknown_key", str(exc)) from None
    except KeyAlgorithmMismatch as exc:
        raise _failed("unsupported_algorithm", str(exc)) from None
    try:
        payload = _jws.decode(token, key=key, algorithms=[algorithm])
    except InvalidSignatureError:
        raise _failed("invalid_signature", "The token signature is not valid.") from None
    except InvalidTokenError:
        raise _failed("malformed_token", "The token is not a well-formed JWT.") from None
    try:
        claims = json.loads(payload, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise _failed("malformed_token", "The token payload is not a JSON object.") from None
    if not isinstance(claims, dict):
        raise _failed("malformed_token", "The token payload is not a JSON object.")
    return claims


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # Python's json would read NaN/Infinity as numbers


# --- Claims -------------------------------------------------------------------------------


def _principal(claims: dict, now: float) -> ClerkPrincipal:
    """Check the claims (types first, then time, issuer, party, audience) and read the org."""
    user_id = _claim(claims, "sub", str, "a non-empty string", required=True)
    if not user_id:
        raise _malformed("sub", "a non-empty string")
    expires = _claim(claims, "exp", _NUMBER, "a number (NumericDate)", required=True)
    not_before = _claim(claims, "nbf", _NUMBER, "a number (NumericDate)")
    issued_at = _claim(claims, "iat", _NUMBER, "a number (NumericDate)")
    issuer = _claim(claims, "iss", str, "a string")
    party = _claim(claims, "azp", str, "a string")
    audience = _claim(claims, "aud", (str, list), "a string or a list of strings")
    if isinstance(audience, list) and not all(isinstance(item, str) for item in audience):
        raise _malformed("aud", "a string or a list of strings")
    session_id = _claim(claims, "sid", str, "a string")
    status = _claim(claims, "sts", str, "a string")
    organization = _organization(claims)

    leeway = settings.CLERK_CLOCK_SKEW_SECONDS
    if now >= expires + leeway:
        raise _failed("token_expired", "The session token has expired.")
    if not_before is not None and now + leeway < not_before:
        raise _failed("token_not_yet_valid", "The session token is not valid yet (nbf).")
    if issued_at is not None and now + leeway < issued_at:
        raise _failed("token_not_yet_valid", "The session token is issued in the future (iat).")
    _check_issuer(issuer)
    _check_authorized_party(party)
    _check_audience(audience)

    if status == "pending":
        # A pending session has not chosen an organization yet: no active organization.
        organization = _NO_ORGANIZATION
    return ClerkPrincipal(user_id=user_id, session_id=session_id, **organization)


def _check_issuer(issuer: str | None) -> None:
    expected = settings.CLERK_ISSUER
    if expected and (issuer is None or issuer.rstrip("/") != expected.rstrip("/")):
        raise _failed("invalid_issuer", "The token was not issued by this Clerk instance (iss).")


def _check_authorized_party(party: str | None) -> None:
    allowed = {origin.rstrip("/") for origin in settings.CLERK_AUTHORIZED_PARTIES}
    if allowed and (party is None or party.rstrip("/") not in allowed):
        raise _failed(
            "invalid_authorized_party",
            "The token was issued to an origin this API does not accept (azp).",
        )


def _check_audience(audience: str | list | None) -> None:
    expected = set(settings.CLERK_AUDIENCE)
    if not expected:
        return
    given = {audience} if isinstance(audience, str) else set(audience or ())
    if not given & expected:
        raise _failed("invalid_audience", "The token is not meant for this API (aud).")


_NO_ORGANIZATION = {
    "organization_id": None,
    "org_role": None,
    "org_slug": None,
    "org_permissions": (),
}


def _organization(claims: dict) -> dict:
    """The active organization of a v1 (`org_*`) or v2 (`v: 2`, `o`) token."""
    version = _claim(claims, "v", int, "an integer")
    if version is None or version == 1:
        return _organization_v1(claims)
    if version == 2:
        return _organization_v2(claims)
    raise _failed("malformed_token", f"Session token version {version} is not supported.")


def _organization_v1(claims: dict) -> dict:
    org_id = _claim(claims, "org_id", str, "a non-empty string")
    role = _claim(claims, "org_role", str, "a string")
    slug = _claim(claims, "org_slug", str, "a string")
    permissions = _claim(claims, "org_permissions", list, "a list of strings")
    if permissions is not None and not all(isinstance(item, str) for item in permissions):
        raise _malformed("org_permissions", "a list of strings")
    if org_id == "":
        raise _malformed("org_id", "a non-empty string")
    if org_id is None:
        return _NO_ORGANIZATION
    return {
        "organization_id": org_id,
        "org_role": normalize_org_role(role),
        "org_slug": slug,
        "org_permissions": tuple(permissions or ()),
    }


def _organization_v2(claims: dict) -> dict:
    features = _claim(claims, "fea", str, "a comma-separated string")
    organization = _claim(claims, "o", dict, "an object")
    if organization is None:
        return _NO_ORGANIZATION
    org_id = _claim(organization, "id", str, "a non-empty string", required=True, prefix="o.")
    if not org_id:
        raise _malformed("o.id", "a non-empty string")
    role = _claim(organization, "rol", str, "a string", prefix="o.")
    slug = _claim(organization, "slg", str, "a string", prefix="o.")
    permissions = _claim(organization, "per", str, "a comma-separated string", prefix="o.")
    feature_map = _claim(organization, "fpm", str, "a comma-separated string", prefix="o.")
    return {
        "organization_id": org_id,
        "org_role": normalize_org_role(role),
        "org_slug": slug,
        "org_permissions": _v2_permissions(features, permissions, feature_map),
    }


def _v2_permissions(features: str | None, permissions: str | None, feature_map: str | None):
    """Decode `o.fpm`: one bitmask per org-scoped `fea` entry, bit i = i-th entry of `o.per`.

    Clerk's example: fea `o:dashboard,o:teams`, per `manage,read`, fpm `3,2` gives
    org:dashboard:manage, org:dashboard:read, org:teams:read.
    """
    masks = [_permission_mask(entry) for entry in feature_map.split(",")] if feature_map else []
    if not features or not permissions or not masks:
        return ()
    # `fea` entries are `scope:feature`; scope `o` or `uo` means the organization has it.
    org_features = [
        name.strip()
        for scope, _, name in (entry.strip().partition(":") for entry in features.split(","))
        if "o" in scope and name.strip()
    ]
    names = [name.strip() for name in permissions.split(",")]
    return tuple(
        f"org:{feature}:{name}"
        for feature, mask in zip(org_features, masks, strict=False)
        for bit, name in enumerate(names)
        if mask >> bit & 1 and name
    )


def _permission_mask(entry: str) -> int:
    entry = entry.strip()
    if not entry.isascii() or not entry.isdigit() or len(entry) > 20:
        raise _malformed("o.fpm", "a comma-separated list of non-negative integers")
    return int(entry)


# --- Helpers ------------------------------------------------------------------------------


# The kind of a NumericDate claim: an int or float, finite, never a boolean.
_NUMBER = object()


def _claim(claims: dict, name, kind, description, *, required=False, prefix=""):
    """claims[name] if of `kind`; None when absent or null (unless required); else 401."""
    value = claims.get(name)
    if value is None:
        if required:
            raise _failed("malformed_token", f"The token has no `{prefix}{name}` claim.")
        return None
    if kind is _NUMBER:
        valid = isinstance(value, int | float) and not isinstance(value, bool)
        valid = valid and math.isfinite(value)
    elif kind is int:
        valid = isinstance(value, int) and not isinstance(value, bool)
    else:
        valid = isinstance(value, kind)
    if not valid:
        raise _malformed(f"{prefix}{name}", description)
    return value


def _malformed(name: str, description: str) -> AuthenticationFailed:
    return _failed("malformed_token", f"The token claim `{name}` must be {description}.")


def _failed(code: str, message: str) -> AuthenticationFailed:
    return AuthenticationFailed(message, code=code)
