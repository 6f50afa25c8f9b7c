"""The development signing key: made by `mint_token`, trusted only when DEBUG is on."""

import os
import secrets
import time
from functools import lru_cache
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from asteragents.principal import normalize_org_role

DEV_KEY_ID = "asteragents-dev"
PRIVATE_KEY_FILE = "dev-signing-key.pem"
DEV_ISSUER = "urn:asteragents:dev"


def private_key_path(key_dir: Path) -> Path:
    return Path(key_dir) / PRIVATE_KEY_FILE


def ensure_dev_private_key(key_dir: Path) -> tuple[rsa.RSAPrivateKey, bool]:
    """The dev private key, created on first use (file mode 0600); and whether it was created."""
    path = private_key_path(key_dir)
    created = False
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        created = _write_new_key(path)
    return _load_private_key(path), created


def _write_new_key(path: Path) -> bool:
    """Write a fresh key unless another process got there first (one file: pair can't mismatch)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # O_EXCL + 0600 at creation: the key is never readable by others, not even briefly.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)  # fails if the key already exists: first writer wins
        return True
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)


def _load_private_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return key


def dev_public_key(key_dir: Path) -> rsa.RSAPublicKey | None:
    """The dev public key, or None while no dev key exists; re-read when the file changes."""
    path = private_key_path(key_dir)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return _public_key_of(str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _public_key_of(path: str, inode: int, mtime_ns: int, size: int) -> rsa.RSAPublicKey:
    # The file identity is part of the cache key, so a replaced key file is read again.
    return _load_private_key(Path(path)).public_key()


def dev_session_claims(
    *,
    org_id: str,
    user_id: str,
    role: str,
    ttl: int,
    claims_format: str,
    issuer: str = "",
    authorized_party: str = "",
    audience: list[str] | None = None,
    now: int | None = None,
) -> dict:
    """Claims shaped like a Clerk session token of format `v2` or `v1`."""
    now = int(time.time()) if now is None else now
    claims = {
        "sub": user_id,
        "sid": f"sess_dev_{secrets.token_hex(8)}",
        "iss": issuer or DEV_ISSUER,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
    }
    if authorized_party:
        claims["azp"] = authorized_party
    if audience:
        claims["aud"] = audience[0] if len(audience) == 1 else list(audience)
    full_role = normalize_org_role(role)
    if claims_format == "v2":
        # v2 writes roles without the `org:` prefix (`admin` for `org:admin`).
        claims["v"] = 2
        claims["o"] = {"id": org_id, "rol": full_role.removeprefix("org:")}
    else:
        claims["org_id"] = org_id
        claims["org_role"] = full_role
    return claims


def sign_dev_token(claims: dict, private_key: rsa.RSAPrivateKey) -> str:
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": DEV_KEY_ID})
