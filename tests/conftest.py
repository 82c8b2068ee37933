"""Fixtures: live servers on loopback (the emulator, backends wired to it, the demo, `tandem
serve`, Redis and gunicorn), a real Chromium, and the session's checks of every log line; the
lanes' rules (tests/support/lanes.py) and Hypothesis's profiles."""

from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from tandem_mailbox.certs import CertPaths, ensure
from tandem_mailbox.microsoft.outbound import Session, ssl_context
from tests.support import lanes
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.clock import FakeClock
from tests.support.deployment import Gunicorn, RedisServer, spawn_gunicorn
from tests.support.pool import Lease, ServerPool, WorldSupply, lease_backend, lease_emulator
from tests.support.postgres import PostgresServer
from tests.support.servers import (
    BackendHandle,
    BackendSettings,
    DemoHandle,
    EmulatorHandle,
    launch_demo,
    settings_for,
    start_backend,
    start_emulator,
    stop_demo,
)
from tests.support.serving import Served, StartServe, launch_serve

TESTS = Path(__file__).resolve().parent

# Hypothesis: every property derandomized (a run is repeatable) and without a deadline (the
# machine may be loaded); the full lane runs the examples each test names, the fast lane a
# tenth of them (the profile is the lane: TEST_LANE, which scripts/test sets).
hypothesis_settings.register_profile(
    "full", max_examples=300, deadline=None, derandomize=True, database=None
)
hypothesis_settings.register_profile(
    "fast", hypothesis_settings.get_profile("full"), max_examples=30
)
hypothesis_settings.load_profile(lanes.running())


# -- the lanes ----------------------------------------------------------------------------------
_fast_test: list[str] = []  # the node id of the fast-lane test running now, read by the hook


def _refuse_processes(event: str, args: tuple[Any, ...]) -> None:
    """An audit hook (PEP 578): a fast-lane test that starts a server, the command line, a
    browser or pip fails there, whether or not it asked for a fixture to do it."""
    if event == "subprocess.Popen" and _fast_test and lanes.starts_a_process(args[1]):
        raise lanes.LaneError(
            f"{_fast_test[0]} starts {args[1]!r}: the fast lane starts no process; "
            "the test belongs in tests/processes"
        )


def pytest_configure(config: pytest.Config) -> None:
    """Install the audit hook (it stays for the process, and only acts during a fast test)."""
    sys.addaudithook(_refuse_processes)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of tests/browser carries the browser marker (`-m "not browser"` works)."""
    for item in items:
        if lanes.lane_of(item.path, TESTS) == "browser":
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Mark the fast-lane test running now, for the audit hook."""
    fast = lanes.lane_of(item.path, TESTS) in lanes.FAST
    if fast:
        _fast_test.append(item.nodeid)
    try:
        return (yield)
    finally:
        if fast:
            _fast_test.clear()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A fast-lane test asking for a process or a browser fails before anything starts."""
    why = lanes.refusal(
        lanes.lane_of(item.path, TESTS),
        getattr(item, "fixturenames", ()),
        item.get_closest_marker("browser") is not None,
    )
    if why is not None:
        pytest.fail(why, pytrace=False)


@pytest.fixture(autouse=True)
def _no_tandem_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the settings they pass, never the developer's TANDEM_* variables."""
    for name in list(os.environ):
        if name.startswith("TANDEM_"):
            monkeypatch.delenv(name)


AUDIT_KEYS = {
    "send",
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

    from tandem_mailbox import logs

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
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

    from tandem_mailbox import logs
    from tandem_mailbox.emulator import seed

    path = tmp_path_factory.mktemp("logs") / "run.jsonl"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logs.JsonLines())
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
def trust(cert_paths: CertPaths) -> ssl.SSLContext:
    """The TLS context trusting the test CA, built once (each build reads every system root)."""
    return ssl_context(cert_paths.ca_cert)


@pytest.fixture(scope="session")
def http(trust: ssl.SSLContext) -> Session:
    """A requests session trusting the test CA (the environment's CA bundle can't override it)."""
    return Session(context=trust, timeout=30)


@pytest.fixture(scope="session")
def emulator(cert_paths: CertPaths, http: Session) -> Iterator[EmulatorHandle]:
    """The emulator shared by the session: tests must not change its state (use fresh_emulator)."""
    handle = start_emulator(cert_paths, http)
    yield handle
    handle.server.stop()


@pytest.fixture(scope="session")
def server_pool(cert_paths: CertPaths) -> Iterator[ServerPool]:
    """Loopback HTTPS servers kept for the session, each serving one test's app at a time."""
    pool = ServerPool(cert_paths)
    yield pool
    pool.close()


@pytest.fixture
def lease(server_pool: ServerPool) -> Iterator[Lease]:
    """The pooled servers this test's apps are on, handed back (or stopped) at its end."""
    held = Lease(server_pool)
    yield held
    held.end()


@pytest.fixture(scope="session")
def worlds() -> WorldSupply:
    """Fresh emulator worlds, built ahead."""
    return WorldSupply()


@pytest.fixture
def fresh_emulator(lease: Lease, http: Session, worlds: WorldSupply) -> EmulatorHandle:
    """An emulator world of this test's own, for faults, key rotation and writes."""
    return lease_emulator(lease, http, worlds)


@pytest.fixture(scope="session")
def backend_settings(cert_paths: CertPaths) -> BackendSettings:
    """`backend_settings(emulator, **overrides)`: the TANDEM_* mapping wiring a backend to it."""

    def make(emulator: EmulatorHandle, **overrides: str) -> dict[str, str]:
        return settings_for(emulator, cert_paths, **overrides)

    return make


@pytest.fixture
def make_backend(
    lease: Lease, cert_paths: CertPaths, http: Session, trust: ssl.SSLContext
) -> Callable[..., BackendHandle]:
    """Build backends wired to an emulator, each a fresh app with its own MSAL client and caches."""

    def make(
        emulator: EmulatorHandle, clock: Callable[[], float] | None = None, **overrides: str
    ) -> BackendHandle:
        return lease_backend(lease, emulator, cert_paths, http, trust, clock, **overrides)

    return make


@pytest.fixture(scope="session")
def backend(
    emulator: EmulatorHandle, cert_paths: CertPaths, http: Session
) -> Iterator[BackendHandle]:
    """A backend on the shared emulator, for tests that only read."""
    handle = start_backend(emulator, cert_paths, http)
    yield handle
    handle.server.stop()


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock at the wall time now that the test moves (`fake_clock.now += 31`)."""
    return FakeClock()


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


@pytest.fixture
def start_serve() -> Iterator[StartServe]:
    """`start_serve(args, settings, cwd, ca, command=None)`: `tandem serve ARGS` polled until
    /healthz answers; any the test left running are stopped at its end."""
    started: list[Served] = []

    def start(
        args: list[str],
        settings: dict[str, str],
        cwd: Path,
        ca: Path | None,
        *,
        command: list[str] | None = None,
    ) -> Served:
        served = launch_serve(args, settings, cwd, ca, command=command)
        started.append(served)
        return served

    yield start
    for served in started:  # a test stops its own and checks the exit status; this is a net
        if served.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):  # stop() killed it then
                served.stop()


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


@pytest.fixture
def other_page(browser: Any) -> Iterator[Any]:
    """A second person's browser, beside `page` (a browser context of its own)."""
    from tests.support.browser import new_page

    second = new_page(browser)
    yield second
    second.context.close()


# -- Redis and gunicorn: real processes for the shared-state tests ---------------------------
@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own on a free loopback port, stopped at the end."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


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
        log = tmp_path / f"gunicorn-{len(started)}.log"
        handle = spawn_gunicorn(
            emulator,
            cert_paths,
            http,
            log,
            workers=workers,
            threads=threads,
            redis=redis,
            **overrides,
        )
        started.append(handle)
        if wait_ready:
            handle.wait_ready(workers, redis)
        return handle

    yield start
    for handle in started:  # all at once: each takes up to its graceful timeout
        if handle.process.poll() is None:
            handle.process.terminate()
    for handle in started:
        handle.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """Debian's PostgreSQL, a cluster of this session's own (each test takes a fresh database).

    Its directory is directly under the system's temporary directory: pytest's own is private
    to the user running the tests, and the server may run as another (`postgres`, under root).
    """
    import shutil
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="tandem-postgres-"))
    server = PostgresServer(directory).start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)
