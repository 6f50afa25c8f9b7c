"""A throwaway PostgreSQL cluster that a test starts, stops and removes itself.

The fault tests stop and restart a database; they must never do that to the shared server
other people's test runs use. This cluster lives in its own temporary directory, listens on
127.0.0.1 on a free port of its own and keeps its socket in that directory.

    with TemporaryCluster() as cluster:
        cluster.create_database("faults")
        url = cluster.url("faults")
        cluster.stop()   # immediate: as a crash or a pulled plug
        cluster.start()

`initdb` refuses to run as root, so as root every server command runs as the `postgres`
user (runuser); as any other user it runs as that user.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "postgres"


def postgres_bindir() -> Path:
    """The directory of initdb and pg_ctl (`pg_config --bindir`)."""
    output = subprocess.run(
        ["pg_config", "--bindir"], capture_output=True, text=True, check=True, timeout=10
    )
    return Path(output.stdout.strip())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ClusterError(RuntimeError):
    pass


class TemporaryCluster:
    """initdb on enter, `pg_ctl stop -m immediate` and rm -rf on exit (even on failure)."""

    def __init__(self, *, port: int | None = None):
        self.bindir = postgres_bindir()
        self.port = port or free_port()
        self.root: Path | None = None
        self.running = False

    # --- paths ------------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        """A DATABASE_URL for `database`, over TCP on 127.0.0.1 (trust auth)."""
        return f"postgres://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    # --- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> "TemporaryCluster":
        try:
            self.create()
            self.start()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.destroy()

    def create(self) -> None:
        """initdb into a fresh temporary directory owned by the server user."""
        self.root = Path(tempfile.mkdtemp(prefix="asteragents-pg-"))
        self.socket_dir.mkdir()
        if os.geteuid() == 0:
            server = pwd.getpwnam(SERVER_USER)
            for path in (self.root, self.socket_dir):
                os.chown(path, server.pw_uid, server.pw_gid)
        self._run(
            "initdb",
            "--pgdata",
            str(self.data_dir),
            "--username",
            SERVER_USER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            # A throwaway cluster: skip the fsyncs that make initdb slow.
            "--no-sync",
            timeout=120,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        server_options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.socket_dir}",
                "-c listen_addresses=127.0.0.1",
                # Nothing here must survive a crash: no fsync makes start and stop fast.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=40",
            ]
        )
        self._run(
            "pg_ctl",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.log_file),
            "--options",
            server_options,
            "--wait",
            "--timeout",
            "60",
            "start",
            timeout=90,
        )
        self.running = True

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; `immediate` drops every connection at once, like a crash."""
        self._run(
            "pg_ctl", "--pgdata", str(self.data_dir), "--mode", mode, "--wait", "stop", timeout=60
        )
        self.running = False

    def destroy(self) -> None:
        """Stop the server if it runs and remove every file of the cluster."""
        if self.root is None:
            return
        if self.running or (self.data_dir / "postmaster.pid").exists():
            try:
                self.stop()
            except (ClusterError, subprocess.TimeoutExpired):
                self._kill_postmaster()
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    # --- SQL ------------------------------------------------------------------------------

    def psql(self, sql: str, *, database: str = "postgres") -> str:
        """Run SQL through psql over the cluster's socket; returns what psql printed."""
        return self._run(
            "psql",
            "--no-psqlrc",
            "--quiet",
            "--tuples-only",
            "--no-align",
            "--set",
            "ON_ERROR_STOP=1",
            "--host",
            str(self.socket_dir),
            "--port",
            str(self.port),
            "--username",
            SERVER_USER,
            "--dbname",
            database,
            "--command",
            sql,
            timeout=60,
        )

    def create_database(self, name: str) -> None:
        self.psql(f'CREATE DATABASE "{name}"')

    # --- internals ------------------------------------------------------------------------

    def _run(self, program: str, *args: str, timeout: float) -> str:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(
            command,
            cwd=self.root,  # the server user may not be allowed into the caller's directory
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise ClusterError(
                f"{program} exited {result.returncode}: {result.stderr.strip()}\n{self._log_tail()}"
            )
        return result.stdout

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def _kill_postmaster(self) -> None:
        """Last resort when pg_ctl cannot stop the server: SIGKILL the postmaster by its pid."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, 9)
        except (OSError, ValueError, IndexError):
            pass
