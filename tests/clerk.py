"""Clerk-shaped session tokens for tests, signed with keys the tests generate."""

import time
import uuid
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@lru_cache(maxsize=8)
def rsa_private_key(name: str = "default") -> rsa.RSAPrivateKey:
    """One key per name per test run (RSA generation is slow; 2048 bits as Clerk uses)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(name: str = "default") -> str:
    return (
        rsa_private_key(name)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def session_claims(
    *,
    user_id: str,
    org_id: str | None,
    role: str | None = "org:admin",
    version: int = 2,
    lifetime: int = 60,
    **extra,
) -> dict:
    """Claims of a Clerk session token in the v1 (`org_*`) or v2 (`v`, `o`) format."""
    now = int(time.time())
    claims = {
        "sub": user_id,
        "sid": f"sess_{uuid.uuid4().hex[:12]}",
        "iat": now,
        "nbf": now - 5,
        "exp": now + lifetime,
        "iss": "https://clerk.test.local",
    }
    if version == 2:
        claims["v"] = 2
        if org_id is not None:
            short_role = role.removeprefix("org:") if role else None
            claims["o"] = {"id": org_id, "rol": short_role, "slg": org_id.removeprefix("org_")}
    elif org_id is not None:
        claims.update({"org_id": org_id, "org_role": role, "org_slug": org_id.removeprefix("org_")})
    claims.update(extra)
    return claims


def sign(claims: dict, *, key_name: str = "default", algorithm: str = "RS256", kid=None) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, rsa_private_key(key_name), algorithm=algorithm, headers=headers)


def make_token(**kwargs) -> str:
    """A valid token for the `default` key (tests configure CLERK_JWT_KEY with it)."""
    key_name = kwargs.pop("key_name", "default")
    return sign(session_claims(**kwargs), key_name=key_name)
