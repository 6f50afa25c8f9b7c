"""The real service in a subprocess (gunicorn, production settings) and a tiny HTTP client.

The fault tests talk to it over HTTP on 127.0.0.1, as a dashboard would, so that what they
measure includes Django's connection handling between requests (persistent connections,
health checks), which an in-process test client would not exercise faithfully.
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from tests.clerk import make_token, public_pem
from tests.reliability.pgcluster import free_port

PROJECT_DIR = Path(__file__).resolve().parents[2]
STATS_PATH = "/api/dashboard/getStats"

# Variables of the test process that must not leak into the service's configuration.
_INHERITED_SETTINGS = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "CACHE_URL",
    "CLERK_JWT_KEY",
    "CLERK_JWKS_URL",
    "DATABASE_STATEMENT_TIMEOUT_MS",
    "DATABASE_CONNECT_TIMEOUT",
    "DATABASE_CONN_MAX_AGE",
)


def service_environment(database_url: str, **overrides: str) -> dict[str, str]:
    """Production settings (DEBUG off) pointed at `database_url`; `overrides` win."""
    environment = {k: v for k, v in os.environ.items() if k not in _INHERITED_SETTINGS}
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "asteragents.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "reliability-tests-only-secret-key-0123456789",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url,
            "CACHE_URL": "locmem://",
            "CLERK_JWT_KEY": public_pem("default"),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    environment.update(overrides)
    return environment


def manage(*args: str, environment: dict[str, str], timeout: float = 120) -> str:
    """Run `manage.py` with the service's environment; raise with its output on failure."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class Answer:
    status: int
    body: dict | None
    seconds: float


class Service:
    """gunicorn with one sync worker on a free port; stopped (its whole group) on exit."""

    def __init__(self, environment: dict[str, str], log_path: Path):
        self.environment = environment
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Service":
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "1",
                    "--timeout",
                    "30",
                    "--graceful-timeout",
                    "2",
                    "asteragents.wsgi:application",
                ],
                cwd=PROJECT_DIR,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                # Its own process group, so the worker goes down with the arbiter.
                start_new_session=True,
            )
        finally:
            log.close()
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_until_listening(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited {self.process.returncode}:\n{self.log()}")
            try:
                self.get("/api/schema/", timeout=5)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {seconds} s:\n{self.log()}")

    # --- requests ---------------------------------------------------------------------------

    def get(self, path: str, *, headers: dict | None = None, timeout: float = 10) -> Answer:
        """One GET; `timeout` bounds a hung answer, so a hang fails the test, not the run."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        started = time.monotonic()
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        seconds = time.monotonic() - started
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        return Answer(response.status, body, seconds)

    def get_stats(self, params: dict, *, token: str, timeout: float = 10) -> Answer:
        return self.get(
            f"{STATS_PATH}?{urlencode(params)}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )


def admin_token(org_id: str = "org_faults", user_id: str = "user_faults_admin") -> str:
    """A session token of an org:admin, valid for ten minutes (the service trusts its key)."""
    return make_token(user_id=user_id, org_id=org_id, role="org:admin", lifetime=600)
