"""The real HTTP stack for the bench: gunicorn on 127.0.0.1 and Clerk-shaped tokens.

The service runs with production settings (DEBUG off) and trusts the PEM public key of an
RSA key made here, in memory, for this run only; the bench signs its tokens with it.
"""

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PROJECT_DIR = Path(__file__).resolve().parent.parent
TOKEN_LIFETIME_SECONDS = 4 * 3600  # outlasts a 10M-message run with --repeat 3


class SigningKey:
    """An RSA key for this run: its PEM public key for the service, tokens for the client."""

    def __init__(self):
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def session_token(self, *, user_id: str, organization_id: str, role: str) -> str:
        """A v2 Clerk session token: `o.id` the organization, `o.rol` the role unprefixed."""
        now = int(time.time())
        claims = {
            "sub": user_id,
            "sid": f"sess_bench_{secrets.token_hex(6)}",
            "iat": now,
            "nbf": now - 5,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "v": 2,
            "o": {"id": organization_id, "rol": role.removeprefix("org:"), "slg": "bench"},
        }
        return jwt.encode(claims, self._key, algorithm="RS256")


class StatsServer:
    """gunicorn serving the project on a free 127.0.0.1 port, stopped on exit."""

    def __init__(
        self, *, database_url: str, jwt_key_pem: str, statement_timeout_ms: int, log_path: Path
    ):
        self.log_path = log_path
        self.environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "asteragents.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url,
            "DATABASE_STATEMENT_TIMEOUT_MS": str(statement_timeout_ms),
            "CLERK_JWT_KEY": jwt_key_pem,
            "CLERK_JWKS_URL": "",
            "CLERK_ISSUER": "",
            "CLERK_AUDIENCE": "",
            "CLERK_AUTHORIZED_PARTIES": "",
            "STATS_THROTTLE_RATE": "100000/min",
            "CACHE_URL": "locmem://",
            "LOG_LEVEL": "WARNING",
        }
        self.port = None
        self.process = None

    def __enter__(self) -> "StatsServer":
        # The socket is bound here and handed over, so no other process can take the port.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"fd://{listener.fileno()}",
                    "--workers",
                    "1",
                    "--timeout",
                    "600",
                    "--graceful-timeout",
                    "5",
                    "asteragents.wsgi:application",
                ],  # fmt: skip
                cwd=PROJECT_DIR,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),),
            )
        listener.close()
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _wait_until_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited ({self.process.returncode}); see {self.log_path}"
                )
            try:
                self.get("/api/dashboard/getStats", token=None)  # 401: the stack is up
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {seconds:.0f} s; see {self.log_path}")

    def get(self, path: str, *, token: str | None) -> tuple[int, bytes]:
        """One GET on a new connection (gunicorn's sync worker closes each one)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()
