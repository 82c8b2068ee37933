"""Real redis-server and gunicorn processes, for the tests of state shared between workers."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tandem_mailbox.certs import CertPaths
from tandem_mailbox.microsoft.outbound import Session
from tests.support.paths import REPO
from tests.support.servers import EmulatorHandle, settings_for

CACHE_KEY = "q1s3hBT2w0yYbB1cZ0T3bqd0d9Ydm8sJ3J6mHkFZxWc="  # a Fernet key for the tests only


def free_port() -> int:
    """A loopback port nobody listens on now (for servers that can't bind port 0 themselves)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """Debian's redis-server on a loopback port, without persistence; stop and start at will."""

    def __init__(
        self, directory: Path, *, tls: CertPaths | None = None, password: str | None = None
    ):
        self.directory = directory
        self.tls = tls
        self.password = password
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL (rediss:// with TLS)."""
        auth = f":{self.password}@" if self.password else ""
        if self.tls:
            return f"rediss://{auth}localhost:{self.port}/0"
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start it (on the same port as before) and poll until it answers PING."""
        import redis

        command = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.directory), "--logfile", str(self.directory / "log")]
        if self.tls:
            command += ["--port", "0", "--tls-port", str(self.port)]
            command += ["--tls-cert-file", str(self.tls.cert), "--tls-key-file", str(self.tls.key)]
            command += ["--tls-ca-cert-file", str(self.tls.ca_cert), "--tls-auth-clients", "no"]
        else:
            command += ["--port", str(self.port)]
        if self.password:
            command += ["--requirepass", self.password]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = self.client()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.directory / "log").read_text(errors="replace")
                pytest.fail(f"redis-server exited {self.process.returncode}:\n{log[-2000:]}")
            try:
                if client.ping():
                    client.close()
                    return self
            except redis.RedisError:
                time.sleep(0.02)  # polling for readiness, bounded by the deadline
        self.process.kill()
        pytest.fail("redis-server never answered PING")

    def stop(self) -> None:
        """Stop it and wait until it has gone (its data with it: nothing is persisted)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def client(self) -> Any:
        """A redis-py client of its own (the test's view of what Tandem stored)."""
        import redis

        if self.tls:
            return redis.Redis(
                host="localhost",
                port=self.port,
                ssl=True,
                ssl_ca_certs=str(self.tls.ca_cert),
                socket_timeout=5,
                password=self.password,
            )
        return redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=5, password=self.password
        )


@dataclass
class Gunicorn:
    """`gunicorn 'tandem_mailbox:create_app()'`` as a subprocess, configured by its environment."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    http: Session

    def pids(self) -> list[int]:
        """The worker pids gunicorn has booted so far (its log says them)."""
        return [int(p) for p in re.findall(r"Booting worker with pid: (\d+)", self.text())]

    def text(self) -> str:
        """Everything it has logged."""
        return self.log.read_text(errors="replace")

    def context(self, token: str, body: dict[str, Any]) -> Any:
        """POST /api/items/context."""
        return self.http.post(
            f"{self.url}/api/items/context", json=body, headers={"Authorization": f"Bearer {token}"}
        )

    def action(
        self, token: str, name: str, body: dict[str, Any], *, key: str | None = None, **fields: Any
    ) -> Any:
        """POST /api/items/actions/<name>, with an Idempotency-Key when `key` is given."""
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.http.post(
            f"{self.url}/api/items/actions/{name}", json={**body, **fields}, headers=headers
        )

    def wait_ready(self, workers: int, redis: RedisServer | None) -> None:
        """Poll until it listens, answers /healthz and (with Redis) every worker has connected."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.url:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited {self.process.returncode}:\n{self.text()[-3000:]}")
            if match := re.search(r"Listening at: https?://127\.0\.0\.1:(\d+)", self.text()):
                self.url = f"https://localhost:{match.group(1)}"
            else:
                time.sleep(0.02)  # polling for readiness, bounded by the deadline
        ready = False
        while time.monotonic() < deadline and not ready:
            try:
                ready = self.http.get(f"{self.url}/healthz", timeout=5).status_code == 200
            except OSError:
                time.sleep(0.02)  # polling for readiness, bounded by the deadline
        if ready and redis is not None:
            # Ready once every worker has built its app (each names its Redis connection).
            client = redis.client()
            ready = False
            while time.monotonic() < deadline and not ready:
                names = " ".join(c.get("name", "") for c in client.client_list())
                pids = self.pids()
                ready = len(pids) >= workers and all(f":{p}:" in names for p in pids[-workers:])
                if not ready:
                    time.sleep(0.02)  # polling for readiness, bounded by the deadline
            client.close()
        if not ready or not self.url:
            self.stop()
            pytest.fail("gunicorn never became ready:\n" + self.text()[-3000:])

    def stop(self) -> None:
        """SIGTERM to the master (it stops its workers), then wait."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def spawn_gunicorn(
    emulator: EmulatorHandle,
    cert_paths: CertPaths,
    http: Session,
    log: Path,
    *,
    workers: int,
    threads: int,
    redis: RedisServer | None,
    **overrides: str,
) -> Gunicorn:
    """Start gunicorn wired to `emulator` (and `redis`), logging to `log`; not yet ready."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    env.pop("WEB_CONCURRENCY", None)
    env.update(settings_for(emulator, cert_paths, TANDEM_WORKERS=str(workers)))
    if redis is not None:
        env.update(TANDEM_REDIS_URL=redis.url, TANDEM_CACHE_KEY=CACHE_KEY)
    env.update(overrides)
    env = {k: v for k, v in env.items() if v is not None}
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads)]
    command += ["-b", "127.0.0.1:0", "--certfile", str(cert_paths.cert)]
    command += ["--keyfile", str(cert_paths.key), "--graceful-timeout", "3"]
    # Kept-alive (and slow-to-speak) connections live 30 s, not gunicorn's 2: the tests'
    # pooled client reuses connections after pauses longer than 2 s on a loaded machine,
    # as a proxy does, and a server closing one just then is a broken request.
    command += ["--keep-alive", "30"]
    command += ["--error-logfile", "-", "--log-level", "info", "tandem_mailbox:create_app()"]
    with log.open("wb") as sink:  # gunicorn's log and the app's, in one file
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    return Gunicorn(process=process, url="", log=log, http=http)
