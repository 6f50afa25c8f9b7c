"""`make load`: concurrent clients against gunicorn with the production settings (issue 6).

Runs on the bench database (`make bench` builds it): gunicorn started with
asteragents/gunicorn_conf.py, keys served by a JWKS endpoint on 127.0.0.1 that counts its
fetches, throttle counters in Redis. Each client keeps one connection and asks a mix of the
bench's questions until the time is up; the run is bounded in time and stops by itself.
"""

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import psycopg
from jwt.algorithms import RSAAlgorithm

from bench.server import PROJECT_DIR, SigningKey

KEY_ID = "load-test-key"


class JwksEndpoint:
    """A JWKS document on 127.0.0.1 that counts how often the service fetches it."""

    def __init__(self, signing_key: SigningKey):
        public_jwk = json.loads(RSAAlgorithm.to_jwk(signing_key._key.public_key()))
        body = json.dumps({"keys": [public_jwk | {"kid": KEY_ID, "use": "sig", "alg": "RS256"}]})
        self.fetches = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                endpoint.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def token(signing_key: SigningKey, *, user_id: str, organization_id: str, role: str) -> str:
    """A v2 session token naming the JWKS key, so the service must fetch the JWKS."""
    claims = jwt.decode(
        signing_key.session_token(user_id=user_id, organization_id=organization_id, role=role),
        options={"verify_signature": False},
    )
    return jwt.encode(claims, signing_key._key, algorithm="RS256", headers={"kid": KEY_ID})


def start_gunicorn(
    database_url: str, jwks_url: str, log_path: Path
) -> tuple[subprocess.Popen, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "asteragents.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "DATABASE_STATEMENT_TIMEOUT_MS": "5000",
        "CLERK_JWT_KEY": "",
        "CLERK_JWKS_URL": jwks_url,
        "CACHE_URL": os.environ.get("LOAD_CACHE_URL", "redis://127.0.0.1:6379/15"),
        # Many panels per caller on purpose: the point is the service, not the throttle.
        "STATS_THROTTLE_RATE": "1000000/min",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    log = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:asteragents.gunicorn_conf"],
        cwd=PROJECT_DIR,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"gunicorn did not start; see {log_path}")


def client_loop(port, requests, deadline, seed, results, lock):
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    mine = []
    while time.monotonic() < deadline:
        path, headers = rng.choice(requests)
        began = time.perf_counter()
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            status = type(exc).__name__
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine.append((time.perf_counter() - began, status))
    connection.close()
    with lock:
        results.extend(mine)


def percentile(sorted_values, fraction):
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--seconds", type=float, default=60, help="how long to load (60)")
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL"), help="the bench database"
    )
    args = parser.parse_args(argv)
    # Imported here: the cases name stats' models, which need django.setup() first.
    from bench.cases import CASES
    from bench.catalog import read as read_catalog

    with psycopg.connect(args.database_url) as connection, connection.cursor() as cursor:
        built = read_catalog(cursor)
    if built is None:
        print("No bench dataset in that database: run `make bench` first.", file=sys.stderr)
        return 2
    subjects = built.subjects
    signing_key = SigningKey()
    jwks = JwksEndpoint(signing_key)
    log_path = PROJECT_DIR / "var" / "load-gunicorn.log"
    log_path.parent.mkdir(exist_ok=True)
    process, port = start_gunicorn(args.database_url, jwks.url, log_path)
    try:
        requests = []
        for case in CASES:
            path, caller, role = case.request(subjects)
            bearer = token(
                signing_key, user_id=caller, organization_id=subjects.organization_id, role=role
            )
            requests.append((path, {"Authorization": f"Bearer {bearer}"}))
        results, lock = [], threading.Lock()
        began = time.monotonic()
        deadline = began + args.seconds
        clients = [
            threading.Thread(
                target=client_loop, args=(port, requests, deadline, seed, results, lock)
            )
            for seed in range(args.clients)
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        elapsed = time.monotonic() - began
    finally:
        process.terminate()
        process.wait(timeout=30)
        jwks.close()
    latencies = sorted(seconds * 1000 for seconds, _ in results)
    statuses = Counter(status for _, status in results)
    errors = sum(count for status, count in statuses.items() if status != 200)
    print(f"load: {args.clients} clients for {elapsed:.1f} s on {built.messages:,} messages")
    print(f"gunicorn: asteragents/gunicorn_conf.py (log: {log_path})")
    print(f"requests: {len(results):,}  throughput: {len(results) / elapsed:,.1f} req/s")
    print(
        f"latency ms: p50 {percentile(latencies, 0.50):.1f}  p95 {percentile(latencies, 0.95):.1f}"
        f"  p99 {percentile(latencies, 0.99):.1f}  max {latencies[-1]:.1f}"
        f"  (mean {statistics.fmean(latencies):.1f})"
    )
    print(f"statuses: {dict(statuses)}  errors: {errors}")
    print(f"JWKS fetches: {jwks.fetches} (at most one per worker process, none per request)")
    return 1 if errors else 0


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asteragents.settings")
    django.setup()
    sys.exit(main())
