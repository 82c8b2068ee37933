"""Debian's PostgreSQL, started by the tests: a cluster of its own in a temporary directory, on
a free loopback port, run by a user that isn't root (PostgreSQL refuses to run as root: as root
the tests hand the directory to the `postgres` account Debian's package creates)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.support.deployment import free_port


def _bin() -> Path:
    """The newest installed PostgreSQL's binaries (/usr/lib/postgresql/<major>/bin)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    if not found:
        pytest.fail("PostgreSQL is missing: apt-get install postgresql (Debian's)")
    return found[-1].parent


class PostgresServer:
    """A PostgreSQL cluster of the test session's own; `database()` gives a fresh database."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.bin = _bin()
        self.as_root = os.geteuid() == 0

    def _run(self, *command: str, timeout: float = 60) -> str:
        argv = [str(self.bin / command[0]), *command[1:]]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            pytest.fail(f"{command[0]} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> PostgresServer:
        """initdb, then pg_ctl start (it waits until the server accepts connections)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.directory, "postgres", "postgres")
            self.directory.chmod(0o700)
        self._run("initdb", "-D", str(self.data), "-U", "tandem", "--auth=trust", "-E", "UTF8")
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.directory} -c fsync=off "
            "-c synchronous_commit=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.directory / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def stop(self) -> None:
        """pg_ctl stop (fast: open connections are closed)."""
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of a database of this server."""
        return f"postgresql+psycopg://tandem@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new, empty database; answers its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(
                    f"host=127.0.0.1 port={self.port} user=tandem dbname=postgres",
                    autocommit=True,
                    connect_timeout=5,
                ) as connection:
                    connection.execute(f'CREATE DATABASE "{name}"')
                return self.url(name)
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # polling: the server is still starting
