"""Real Redis and Postgres servers for the distributed tests, started here and stopped after.

Each server is a throwaway: a temporary directory, 127.0.0.1, a free port, no persistence
beyond the test run. The binaries come from the system package manager (``.ci/run`` installs
``redis-server`` and ``postgresql`` where they are missing). Without them a developer gets a
clear skip; in CI (the ``CI`` environment variable set) the tests fail instead.

Postgres refuses to run as root, so as root the cluster belongs to the ``postgres`` user (the
Debian package creates it) and its commands run through ``runuser``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "RedisServer", "free_port", "missing"]

_WAIT = 30.0


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def missing(what: str) -> None:
    """Skip (a developer's machine) or fail (CI) because ``what`` is not installed."""
    message = f"{what}; install it with the system package manager (.ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(f"CI needs {message}", pytrace=False)
    pytest.skip(message)


def _wait_for_port(port: int, process: subprocess.Popen[bytes] | None, what: str) -> None:
    deadline = time.monotonic() + _WAIT
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {_WAIT} s")


class RedisServer:
    """``redis-server`` on 127.0.0.1 and a free port, without persistence."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            missing("redis-server is not installed")
        self.binary = str(binary)
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="smsbridge-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        """``redis://127.0.0.1:PORT/db``."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--protected-mode", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for_port(self.port, self.process, "redis-server")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return None if initdb is None else Path(os.path.realpath(initdb)).parent


class PostgresServer:
    """A throwaway Postgres cluster (initdb + pg_ctl) on 127.0.0.1 and a free port."""

    USER = "smsbridge"

    def __init__(self) -> None:
        bin_dir = _postgres_bin()
        if bin_dir is None or not (bin_dir / "pg_ctl").exists():
            missing("Postgres (initdb, pg_ctl) is not installed")
        assert bin_dir is not None
        self.bin = bin_dir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="smsbridge-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.owner: str | None = None
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                missing("a 'postgres' user (Postgres refuses to run as root)")
            self.owner = "postgres"
            os.chown(self.dir, account.pw_uid, account.pw_gid)
        self.dir.chmod(0o700)

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin / command[0]), *command[1:]]
        if self.owner is not None:
            argv = ["runuser", "-u", self.owner, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=120)

    def url(self, database: str = "postgres") -> str:
        """``postgresql://smsbridge@127.0.0.1:PORT/database`` (trust authentication)."""
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", self.USER, "--auth=trust",
                      "-E", "UTF8", "--no-sync")  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' "
            "-c fsync=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")  # fmt: skip
        _wait_for_port(self.port, None, "postgres")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash: no shutdown checkpoint)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart_after(self, seconds: float, mode: str = "immediate") -> None:
        """Stop the server, wait, start it again."""
        self.stop(mode)
        time.sleep(seconds)
        self.start()

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
