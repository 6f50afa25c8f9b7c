"""Clerk-shaped session tokens for tests, signed with keys the tests generate."""

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time
import uuid
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


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


# --- JWKS documents and a local JWKS server (127.0.0.1 only) -------------------------------


def jwk(key_name: str = "default", *, kid: str, alg: str | None = "RS256") -> dict:
    """The public JWK of a test key, as Clerk publishes it."""
    entry = RSAAlgorithm.to_jwk(rsa_private_key(key_name).public_key(), as_dict=True)
    entry.update({"kid": kid, "use": "sig"})
    if alg:
        entry["alg"] = alg
    return entry


def jwks_document(*entries: dict) -> dict:
    return {"keys": list(entries)}


def base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header: dict, claims: dict, signature: bytes = b"") -> str:
    """A compact JWT with any header and signature bytes (for hostile-token tests)."""
    return ".".join(
        [
            base64url(json.dumps(header).encode()),
            base64url(json.dumps(claims).encode()),
            base64url(signature),
        ]
    )


def hmac_token(claims: dict, secret: bytes, *, algorithm: str = "HS256", kid=None) -> str:
    """An HS* token signed with `secret` by hand (PyJWT refuses a PEM key as HMAC secret)."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    header = {"alg": algorithm, "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = ".".join(
        [base64url(json.dumps(header).encode()), base64url(json.dumps(claims).encode())]
    )
    signature = hmac.new(secret, signing_input.encode(), digest[algorithm]).digest()
    return f"{signing_input}.{base64url(signature)}"


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 on a free port, in a thread; counts its requests.

    Change `document`, `delay` (seconds before answering) or `status` between requests.
    """

    def __init__(self, document: dict | None = None):
        self.document = document if document is not None else jwks_document()
        self.delay = 0.0
        self.status = 200
        self.hits = 0
        self._lock = threading.Lock()
        self._released = threading.Event()  # set on stop: a delayed answer stops waiting
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with server._lock:
                    server.hits += 1
                if server.delay:
                    server._released.wait(server.delay)
                body = json.dumps(server.document).encode()
                try:
                    self.send_response(server.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout): nothing to answer

            def log_message(self, format, *args):
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and close the port (idempotent); later requests are refused."""
        if self._thread is None:
            return
        self._released.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()
