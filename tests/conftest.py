"""Live servers on loopback: the emulator, backends wired to it, the demo, and a real Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from backend import create_app
from backend.certs import CertPaths, ensure
from backend.config import Settings
from backend.emulator import Emulator, serve_emulator
from backend.outbound import Session, ssl_context
from backend.serving import Server

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PUBLIC_URL = "https://localhost:3000"


@pytest.fixture(autouse=True)
def _no_tandem_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the settings they pass, never the developer's TANDEM_* variables."""
    for name in list(os.environ):
        if name.startswith("TANDEM_"):
            monkeypatch.delenv(name)


AUDIT_KEYS = {
    "time",
    "level",
    "logger",
    "message",
    "event",
    "action",
    "person",
    "mailbox",
    "item",
    "outcome",
    "graphRequestIds",
    "durationMs",
}


@pytest.fixture(scope="session", autouse=True)
def _audit_trail() -> Iterator[list[str]]:
    """Every audit line of the run is JSON with the audit fields only: no token, no comment."""
    import io
    import json
    import logging

    from backend import audit

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(audit.JsonLines())
    logger = logging.getLogger("tandem.audit")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    lines: list[str] = []
    yield lines
    logger.removeHandler(handler)
    for line in stream.getvalue().splitlines():
        event = json.loads(line)
        assert set(event) <= AUDIT_KEYS, sorted(set(event) - AUDIT_KEYS)
        assert event["event"] == "action" and event["outcome"]
        assert "eyJ" not in line and "Bearer" not in line
        lines.append(line)


@pytest.fixture(scope="session", autouse=True)
def _json_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every log line of the run's in-process servers, as `tandem serve` writes them: each is
    JSON, none holds a token or the emulator's known secrets, and none is an unexpected 500."""
    import json
    import logging
    import re

    from backend import audit
    from backend.emulator import seed

    path = tmp_path_factory.mktemp("logs") / "run.jsonl"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(audit.JsonLines())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield path
    root.removeHandler(handler)
    root.setLevel(level)
    handler.close()
    jwt_shape = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.")
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            json.loads(line)  # every line is one JSON object
            assert seed.CLIENT_SECRET not in line, f"line {number} holds the client secret"
            assert not jwt_shape.search(line), f"line {number} holds a token: {line[:200]}"
            # No 500 the code didn't mean: an unexpected exception is a defect (issue 6).
            assert '"message": "unexpected error"' not in line, f"line {number}: {line[:2000]}"


@pytest.fixture(scope="session")
def cert_paths(tmp_path_factory: pytest.TempPathFactory) -> CertPaths:
    """A development CA and localhost certificate made for this test session."""
    paths, _ = ensure(tmp_path_factory.mktemp("certs"))
    return paths


@pytest.fixture(scope="session")
def http(cert_paths: CertPaths) -> Session:
    """A requests session trusting the test CA (the environment's CA bundle can't override it)."""
    return Session(context=ssl_context(cert_paths.ca_cert), timeout=30)


@dataclass
class EmulatorHandle:
    """A running emulator and helpers to talk to its control routes."""

    emulator: Emulator
    server: Server
    http: Session

    @property
    def url(self) -> str:
        """Its base URL."""
        return self.server.url

    def sso(self, user: str, **options: Any) -> str:
        """The SSO token Office would hand the pane for this person."""
        response = self.http.post(f"{self.url}/_emulator/sso-token", json={"user": user, **options})
        response.raise_for_status()
        return response.json()["token"]

    def world(self) -> dict[str, Any]:
        """GET /_emulator/world."""
        return self.http.get(f"{self.url}/_emulator/world").json()

    def stats(self) -> dict[str, Any]:
        """GET /_emulator/stats."""
        return self.http.get(f"{self.url}/_emulator/stats").json()

    def fault(self, **fault: Any) -> None:
        """Queue one fault."""
        self.http.post(f"{self.url}/_emulator/faults", json=fault).raise_for_status()

    def clear_faults(self) -> None:
        """Forget every fault."""
        self.http.delete(f"{self.url}/_emulator/faults").raise_for_status()

    def item(self, item_id: str) -> dict[str, Any]:
        """GET /_emulator/items/<id>: the item's whole state and history, by any id it had."""
        response = self.http.get(f"{self.url}/_emulator/items/{item_id}")
        response.raise_for_status()
        return response.json()

    def deliveries(self) -> list[dict[str, Any]]:
        """GET /_emulator/deliveries: every message handed to transport."""
        return self.http.get(f"{self.url}/_emulator/deliveries").json()["deliveries"]

    def requests(self, limit: int = 1000) -> list[dict[str, Any]]:
        """GET /_emulator/requests: the Graph request log, newest last."""
        return self.http.get(f"{self.url}/_emulator/requests?limit={limit}").json()["requests"]

    def settings(self, **settings: Any) -> dict[str, Any]:
        """POST /_emulator/settings."""
        response = self.http.post(f"{self.url}/_emulator/settings", json=settings)
        response.raise_for_status()
        return response.json()

    def change(self, item_id: str, **change: Any) -> dict[str, Any]:
        """Change an item as a person would in Outlook (POST /_emulator/items/<id>/change)."""
        response = self.http.post(f"{self.url}/_emulator/items/{item_id}/change", json=change)
        response.raise_for_status()
        return response.json()

    def items(self, mailbox: str, folder: str = "inbox") -> list[dict[str, Any]]:
        """The items of a well-known or named folder of a mailbox, newest first."""
        for box in self.world()["mailboxes"]:
            if box["address"] == mailbox:
                for f in box["folders"]:
                    if folder in (f["wellKnownName"], f["name"]):
                        return f["items"]
        raise KeyError(f"{mailbox}/{folder}")


def _start_emulator(cert_paths: CertPaths, http: Session) -> EmulatorHandle:
    server, emulator = serve_emulator(
        host="127.0.0.1", port=0, cert=cert_paths.cert, key=cert_paths.key, public_url=PUBLIC_URL
    )
    return EmulatorHandle(emulator=emulator, server=server, http=http)


@pytest.fixture(scope="session")
def emulator(cert_paths: CertPaths, http: Session) -> Iterator[EmulatorHandle]:
    """The emulator shared by the session: tests must not change its state (use fresh_emulator)."""
    handle = _start_emulator(cert_paths, http)
    yield handle
    handle.server.stop()


@pytest.fixture
def fresh_emulator(cert_paths: CertPaths, http: Session) -> Iterator[EmulatorHandle]:
    """An emulator of this test's own, for faults, key rotation and writes."""
    handle = _start_emulator(cert_paths, http)
    yield handle
    handle.server.stop()


@dataclass
class BackendHandle:
    """A running backend and the settings it was built with."""

    server: Server
    settings: Settings
    http: Session
    app: Any = field(repr=False, default=None)

    @property
    def url(self) -> str:
        """Its base URL."""
        return self.server.url

    def context(self, token: str | None, body: dict[str, Any], **headers: str) -> Any:
        """POST /api/items/context."""
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.post(f"{self.url}/api/items/context", json=body, headers=headers)

    def action(self, token: str, name: str, body: dict[str, Any], **fields: Any) -> Any:
        """POST /api/items/actions/<name> with the item context, and the action's fields."""
        return self.http.post(
            f"{self.url}/api/items/actions/{name}",
            json={**body, **fields},
            headers={"Authorization": f"Bearer {token}"},
        )

    def folders(self, token: str, body: dict[str, Any]) -> Any:
        """POST /api/mailbox/folders."""
        return self.http.post(
            f"{self.url}/api/mailbox/folders",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )


def backend_settings(
    emulator: EmulatorHandle, cert_paths: CertPaths, **overrides: str
) -> dict[str, str]:
    """The TANDEM_* mapping that wires a backend to an emulator."""
    return {
        **emulator.emulator.settings(),
        "TANDEM_PUBLIC_URL": PUBLIC_URL,
        "TANDEM_CA_BUNDLE": str(cert_paths.ca_cert),
        **overrides,
    }


@pytest.fixture
def make_backend(cert_paths: CertPaths, http: Session) -> Iterator[Callable[..., BackendHandle]]:
    """Build backends wired to an emulator, each with a fresh MSAL client and caches."""
    servers: list[Server] = []

    def make(
        emulator: EmulatorHandle, clock: Callable[[], float] | None = None, **overrides: str
    ) -> BackendHandle:
        settings = Settings.from_mapping(backend_settings(emulator, cert_paths, **overrides))
        app = create_app(settings, clock=clock)
        server = Server(app, host="127.0.0.1", port=0, cert=cert_paths.cert, key=cert_paths.key)
        server.start()
        servers.append(server)
        return BackendHandle(server=server, settings=settings, http=http, app=app)

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def backend(
    emulator: EmulatorHandle, cert_paths: CertPaths, http: Session
) -> Iterator[BackendHandle]:
    """A backend on the shared emulator, for tests that only read."""
    settings = Settings.from_mapping(backend_settings(emulator, cert_paths))
    app = create_app(settings)
    server = Server(app, host="127.0.0.1", port=0, cert=cert_paths.cert, key=cert_paths.key)
    server.start()
    yield BackendHandle(server=server, settings=settings, http=http, app=app)
    server.stop()


def shared_body(item_id: str, mailbox: str, bits: int = 63, **extra: Any) -> dict[str, Any]:
    """The item context the pane posts for an item of a shared mailbox or folder."""
    return {
        "itemId": item_id,
        "itemType": extra.pop("itemType", "message"),
        "shared": {
            "targetMailbox": mailbox,
            "targetRestUrl": extra.pop("targetRestUrl", "https://outlook.office.com/api"),
            "owner": mailbox,
            "delegatePermissions": bits,
        },
        **extra,
    }


@dataclass
class DemoHandle:
    """`tandem demo` running as a subprocess."""

    process: subprocess.Popen[str]
    url: str
    emulator_url: str
    output: list[str]
    ca: Path
    http: Session
    drain: threading.Thread | None = field(default=None, repr=False)

    def fault(self, **fault: Any) -> None:
        """Queue one fault in the demo's emulator."""
        self.http.post(f"{self.emulator_url}/_emulator/faults", json=fault).raise_for_status()

    def clear_faults(self) -> None:
        """Forget every fault of the demo's emulator."""
        self.http.delete(f"{self.emulator_url}/_emulator/faults").raise_for_status()

    def stats(self) -> dict[str, Any]:
        """The demo emulator's counters."""
        return self.http.get(f"{self.emulator_url}/_emulator/stats").json()

    def world(self) -> dict[str, Any]:
        """GET /_emulator/world of the demo's emulator."""
        return self.http.get(f"{self.emulator_url}/_emulator/world").json()

    def item(self, item_id: str) -> dict[str, Any]:
        """GET /_emulator/items/<id>: an item's whole state and history, by any id it had."""
        response = self.http.get(f"{self.emulator_url}/_emulator/items/{item_id}")
        response.raise_for_status()
        return response.json()

    def deliveries(self) -> list[dict[str, Any]]:
        """GET /_emulator/deliveries: every message the demo's Exchange handed to transport."""
        return self.http.get(f"{self.emulator_url}/_emulator/deliveries").json()["deliveries"]

    def requests(self, limit: int = 1000) -> list[dict[str, Any]]:
        """GET /_emulator/requests: the Graph request log, oldest first."""
        answer = self.http.get(f"{self.emulator_url}/_emulator/requests?limit={limit}")
        return answer.json()["requests"]

    def items(self, mailbox: str, folder: str = "inbox") -> list[dict[str, Any]]:
        """The items of a well-known or named folder of a mailbox, as the world lists them."""
        for box in self.world()["mailboxes"]:
            if box["address"] == mailbox:
                for f in box["folders"]:
                    if folder in (f["wellKnownName"], f["name"]):
                        return f["items"]
        raise KeyError(f"{mailbox}/{folder}")


def launch_demo(certs_dir: Path) -> DemoHandle:
    """`tandem demo` on free ports, polled until ready (the certificates are made once per dir)."""
    command = [
        sys.executable,
        "-m",
        "backend.cli",
        "demo",
        "--port",
        "0",
        "--emulator-port",
        "0",
        "--certs",
        str(certs_dir),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    url = emulator_url = ""
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (url and emulator_url):
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if match := re.search(r"open (https://localhost:\d+)/taskpane.html", line):
            url = match.group(1)
        if match := re.search(r"emulator \(Entra ID \+ Graph\): (https://localhost:\d+)", line):
            emulator_url = match.group(1)
    if not (url and emulator_url):
        process.kill()
        pytest.fail("tandem demo did not start:\n" + "".join(output))
    # Drain the rest of the output in the background so the pipe never fills.
    drain = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
    drain.start()
    verify = str(certs_dir / "ca.pem")
    ready = Session(context=ssl_context(Path(verify)), timeout=5)
    while time.monotonic() < deadline:
        try:
            if ready.get(f"{url}/readyz").status_code == 200:
                break
        except OSError:
            pass
        time.sleep(0.05)  # polling for readiness, bounded by the deadline
    else:
        process.kill()
        pytest.fail("tandem demo never became ready:\n" + "".join(output))
    return DemoHandle(
        process=process,
        url=url,
        emulator_url=emulator_url,
        output=output,
        ca=Path(verify),
        http=ready,
        drain=drain,
    )


def stop_demo(handle: DemoHandle) -> None:
    """Stop a demo started by launch_demo and close its pipe and session."""
    process = handle.process
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    if handle.drain is not None:
        handle.drain.join(timeout=10)  # ends at the pipe's end of file
    assert process.stdout is not None
    process.stdout.close()
    handle.http.close()


@pytest.fixture(scope="session")
def demo_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory of the demos' development CA and certificate, made by the first demo."""
    return tmp_path_factory.mktemp("demo-certs")


@pytest.fixture(scope="session")
def demo(demo_certs: Path) -> Iterator[DemoHandle]:
    """The README's first command, `tandem demo`, shared by the tests that only read."""
    handle = launch_demo(demo_certs)
    yield handle
    stop_demo(handle)


@pytest.fixture
def fresh_demo(demo_certs: Path) -> Iterator[DemoHandle]:
    """A `tandem demo` of this test's own, for tests that write (claims, moves, sends)."""
    handle = launch_demo(demo_certs)
    yield handle
    stop_demo(handle)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (Playwright cannot download browsers here)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page that trusts the test certificates and records console errors."""
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot under artifacts/ (git-ignored) and answer its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# -- Redis and gunicorn: real processes for the shared-state tests ---------------------------
def free_port() -> int:
    """A loopback port nobody listens on now (for servers that can't bind port 0 themselves)."""
    import socket

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


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own on a free loopback port, stopped at the end."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


CACHE_KEY = "q1s3hBT2w0yYbB1cZ0T3bqd0d9Ydm8sJ3J6mHkFZxWc="  # a Fernet key for the tests only


@dataclass
class Gunicorn:
    """`gunicorn 'backend:create_app()'` as a subprocess, configured by its environment."""

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

    def action(self, token: str, name: str, body: dict[str, Any], **fields: Any) -> Any:
        """POST /api/items/actions/<name>."""
        return self.http.post(
            f"{self.url}/api/items/actions/{name}",
            json={**body, **fields},
            headers={"Authorization": f"Bearer {token}"},
        )

    def stop(self) -> None:
        """SIGTERM to the master (it stops its workers), then wait."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def gunicorn(
    cert_paths: CertPaths, http: Session, tmp_path: Path
) -> Iterator[Callable[..., Gunicorn]]:
    """Start gunicorn backends wired to an emulator (and a Redis); all stopped at the end."""
    started: list[Gunicorn] = []

    def start(
        emulator: EmulatorHandle,
        *,
        workers: int = 2,
        threads: int = 1,
        redis: RedisServer | None = None,
        wait_ready: bool = True,
        **overrides: str,
    ) -> Gunicorn:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
        env.pop("WEB_CONCURRENCY", None)
        env.update(backend_settings(emulator, cert_paths, TANDEM_WORKERS=str(workers)))
        if redis is not None:
            env.update(TANDEM_REDIS_URL=redis.url, TANDEM_CACHE_KEY=CACHE_KEY)
        env.update(overrides)
        env = {k: v for k, v in env.items() if v is not None}
        log = tmp_path / f"gunicorn-{len(started)}.log"
        command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads)]
        command += ["-b", "127.0.0.1:0", "--certfile", str(cert_paths.cert)]
        command += ["--keyfile", str(cert_paths.key), "--graceful-timeout", "3"]
        # Kept-alive (and slow-to-speak) connections live 30 s, not gunicorn's 2: the tests'
        # pooled client reuses connections after pauses longer than 2 s on a loaded machine,
        # as a proxy does, and a server closing one just then is a broken request.
        command += ["--keep-alive", "30"]
        command += ["--error-logfile", "-", "--log-level", "info", "backend:create_app()"]
        with log.open("wb") as sink:  # gunicorn's log and the app's, in one file
            process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        handle = Gunicorn(process=process, url="", log=log, http=http)
        started.append(handle)
        if not wait_ready:
            return handle
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not handle.url:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited {process.returncode}:\n{handle.text()[-3000:]}")
            if match := re.search(r"Listening at: https?://127\.0\.0\.1:(\d+)", handle.text()):
                handle.url = f"https://localhost:{match.group(1)}"
            else:
                time.sleep(0.02)  # polling for readiness, bounded by the deadline
        ready = False
        while time.monotonic() < deadline and not ready:
            try:
                ready = http.get(f"{handle.url}/healthz", timeout=5).status_code == 200
            except OSError:
                time.sleep(0.02)  # polling for readiness, bounded by the deadline
        if ready and redis is not None:
            # Ready once every worker has built its app (each names its Redis connection).
            client = redis.client()
            ready = False
            while time.monotonic() < deadline and not ready:
                names = " ".join(c.get("name", "") for c in client.client_list())
                pids = handle.pids()
                ready = len(pids) >= workers and all(f":{p}:" in names for p in pids[-workers:])
                if not ready:
                    time.sleep(0.02)  # polling for readiness, bounded by the deadline
            client.close()
        if not ready or not handle.url:
            handle.stop()
            pytest.fail("gunicorn never became ready:\n" + handle.text()[-3000:])
        return handle

    yield start
    for handle in started:  # all at once: each takes up to its graceful timeout
        if handle.process.poll() is None:
            handle.process.terminate()
    for handle in started:
        handle.stop()
