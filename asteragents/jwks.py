"""Which public key checks a session token: the PEM key, the instance's JWKS, or the dev key."""

import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from jwt.algorithms import RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from asteragents import devkeys

logger = logging.getLogger(__name__)

# Clerk signs with RS256; the other RSA PKCS#1 v1.5 sizes are harmless to accept. Nothing
# else: HMAC would let a public key be used as a shared secret, and `none` has no signature.
ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512"})
MIN_RSA_KEY_BITS = 2048
# A JWKS is a few kilobytes; a larger answer is not one and is not read into memory.
MAX_JWKS_BYTES = 256 * 1024


class KeyResolutionError(Exception):
    """No key can check this token; the message is safe to show the caller."""


class SigningKeysUnavailable(KeyResolutionError):
    """No key is configured, or the JWKS cannot be read and holds nothing usable in cache."""


class UnknownSigningKey(KeyResolutionError):
    """The token names a key (`kid`) the trusted keys do not contain."""


class KeyAlgorithmMismatch(KeyResolutionError):
    """The JWKS declares the key for another algorithm than the token's."""


class JwksFetchError(Exception):
    """The JWKS could not be fetched or is not a usable key set."""


@dataclass(frozen=True)
class JwksKey:
    key: rsa.RSAPublicKey
    algorithm: str | None  # the JWK's `alg`, when it declares one


def verification_key(kid: str | None, algorithm: str) -> rsa.RSAPublicKey:
    """The public key to check a token with header `kid`/`alg`, read from settings now."""
    if settings.DEBUG and kid == devkeys.DEV_KEY_ID:
        key = devkeys.dev_public_key(Path(settings.CLERK_DEV_KEY_DIR))
        if key is None:
            raise UnknownSigningKey(
                "The token names the development key, but none exists yet "
                "(run `manage.py mint_token` to create it)."
            )
        return key
    if settings.CLERK_JWT_KEY:
        # Clerk's networkless mode: one key, whatever `kid` the token names.
        return pem_public_key(settings.CLERK_JWT_KEY)
    if settings.CLERK_JWKS_URL:
        if not kid:
            raise UnknownSigningKey("The token names no signing key (`kid` header).")
        entry = jwks_cache_for(settings.CLERK_JWKS_URL).key(
            kid,
            timeout=settings.CLERK_JWKS_TIMEOUT_SECONDS,
            max_age=settings.CLERK_JWKS_CACHE_SECONDS,
            cooldown=settings.CLERK_JWKS_REFETCH_COOLDOWN_SECONDS,
        )
        if entry.algorithm is not None and entry.algorithm != algorithm:
            raise KeyAlgorithmMismatch(
                f"Signing key {_shown(kid)} is for {entry.algorithm}, not {algorithm}."
            )
        return entry.key
    raise SigningKeysUnavailable(
        "No Clerk signing key is configured on this server (CLERK_JWT_KEY or CLERK_JWKS_URL)."
    )


def _shown(kid: str) -> str:
    """A `kid` fit to echo in a message: it comes from an unverified header."""
    return repr(kid if len(kid) <= 64 else f"{kid[:64]}...")


@lru_cache(maxsize=4)
def pem_public_key(pem: str) -> rsa.RSAPublicKey:
    """CLERK_JWT_KEY parsed once per distinct value (settings may change in tests)."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        logger.error("CLERK_JWT_KEY is not a PEM public key: %s", exc)
        raise SigningKeysUnavailable("The configured Clerk signing key cannot be read.") from exc
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_KEY_BITS:
        logger.error("CLERK_JWT_KEY is not an RSA public key of at least %d bits", MIN_RSA_KEY_BITS)
        raise SigningKeysUnavailable("The configured Clerk signing key is not usable.")
    return key


# --- JWKS ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    keys: dict[str, JwksKey]  # never mutated: a refetch replaces the whole snapshot
    fetched_at: float  # time.monotonic()


class JwksCache:
    """The keys of one JWKS URL, refetched when stale or on an unknown `kid`, rate-limited.

    Readers take the current snapshot without a lock. Fetches are serialised by a lock, and
    at most one is attempted per cool-down period, whatever triggered it (a stale cache, an
    unknown `kid`, or a previous failure): a flood of forged `kid`s costs one fetch.
    """

    def __init__(self, url: str):
        self.url = url
        self._snapshot: _Snapshot | None = None
        self._fetch_lock = threading.Lock()
        self._last_attempt_at: float | None = None
        self._last_attempt_failed = False

    def key(self, kid: str, *, timeout: float, max_age: float, cooldown: float) -> JwksKey:
        """The key named `kid`, or UnknownSigningKey / SigningKeysUnavailable."""
        snapshot = self._snapshot
        if snapshot is not None and kid in snapshot.keys:
            if time.monotonic() - snapshot.fetched_at < max_age:
                return snapshot.keys[kid]
            # Stale but known: refresh if nobody else is, and never wait for it; if the
            # JWKS is down the cached key keeps working.
            snapshot = self._refresh(timeout=timeout, cooldown=cooldown, wait=False) or snapshot
            return snapshot.keys.get(kid) or self._missing(kid)
        snapshot = self._refresh(timeout=timeout, cooldown=cooldown, wait=True)
        if snapshot is None:
            raise SigningKeysUnavailable(
                "Clerk's signing keys (JWKS) cannot be fetched right now; try again shortly."
            )
        return snapshot.keys.get(kid) or self._missing(kid)

    def _missing(self, kid: str) -> JwksKey:
        if self._last_attempt_failed:
            # The JWKS could not be read: the key may exist, so this is not the caller's fault.
            raise SigningKeysUnavailable(
                f"Signing key {_shown(kid)} is not cached and Clerk's JWKS cannot be fetched right "
                "now; try again shortly."
            )
        raise UnknownSigningKey(f"The token is signed with an unknown key ({_shown(kid)}).")

    def _refresh(self, *, timeout: float, cooldown: float, wait: bool) -> _Snapshot | None:
        """Fetch unless one was attempted within `cooldown`; the snapshot to use afterwards."""
        if not self._fetch_lock.acquire(blocking=wait):
            return None
        try:
            last = self._last_attempt_at
            if last is not None and time.monotonic() - last < cooldown:
                return self._snapshot  # includes a fetch another thread just made
            self._last_attempt_at = time.monotonic()
            try:
                keys = fetch_jwks(self.url, timeout=timeout)
            except JwksFetchError as exc:
                self._last_attempt_failed = True
                logger.warning("Clerk JWKS fetch from %s failed: %s", self.url, exc)
                return self._snapshot
            self._last_attempt_failed = False
            self._snapshot = _Snapshot(keys=keys, fetched_at=time.monotonic())
            return self._snapshot
        finally:
            self._fetch_lock.release()


_caches: dict[str, JwksCache] = {}
_caches_lock = threading.Lock()


def jwks_cache_for(url: str) -> JwksCache:
    """The one cache of this URL in this process."""
    with _caches_lock:
        cache = _caches.get(url)
        if cache is None:
            cache = _caches[url] = JwksCache(url)
        return cache


def clear_jwks_caches() -> None:
    """Forget every fetched key set (tests; a process otherwise keeps them)."""
    with _caches_lock:
        _caches.clear()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # Clerk's JWKS URL answers directly; following a redirect could leave https or the host.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def fetch_jwks(url: str, *, timeout: float) -> dict[str, JwksKey]:
    """GET the JWKS at `url` within about `timeout` seconds; its usable RSA keys by `kid`."""
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise JwksFetchError("CLERK_JWKS_URL must be an http(s) URL")
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with _opener.open(request, timeout=timeout) as response:
            body = _read_bounded(response, deadline)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # URLError, HTTPError (any non-2xx, redirects included) and timeouts are OSErrors.
        raise JwksFetchError(str(exc)) from exc
    return parse_jwks(body)


def _read_bounded(response, deadline: float) -> bytes:
    chunks, size = [], 0
    while chunk := response.read(16 * 1024):
        size += len(chunk)
        if size > MAX_JWKS_BYTES:
            raise JwksFetchError(f"the answer is larger than {MAX_JWKS_BYTES} bytes")
        if time.monotonic() > deadline:
            raise JwksFetchError("the answer took longer than the timeout")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_jwks(body: bytes) -> dict[str, JwksKey]:
    """The RSA signing keys of a JWKS document; keys of other types or uses are skipped."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise JwksFetchError("the answer is not JSON") from exc
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise JwksFetchError("the answer has no `keys` list")
    keys = {}
    for entry in entries:
        parsed = _rsa_signing_key(entry)
        if parsed is not None:
            keys[entry["kid"]] = parsed
    if not keys:
        raise JwksFetchError("the key set holds no usable RSA signing key")
    return keys


def _rsa_signing_key(entry) -> JwksKey | None:
    if not isinstance(entry, dict) or entry.get("kty") != "RSA":
        return None
    kid, use, alg = entry.get("kid"), entry.get("use"), entry.get("alg")
    if not isinstance(kid, str) or not kid or use not in (None, "sig"):
        return None
    if alg is not None and alg not in ALLOWED_ALGORITHMS:
        return None
    try:
        key = RSAAlgorithm.from_jwk(entry)
    except (InvalidKeyError, ValueError, TypeError, KeyError):
        logger.warning("Clerk JWKS key %r is not a valid RSA key; skipped", kid)
        return None
    if isinstance(key, rsa.RSAPrivateKey):
        key = key.public_key()
    if key.key_size < MIN_RSA_KEY_BITS:
        logger.warning("Clerk JWKS key %r has only %d bits; skipped", kid, key.key_size)
        return None
    return JwksKey(key=key, algorithm=alg)
