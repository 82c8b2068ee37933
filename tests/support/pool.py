"""The fast lane's servers: loopback HTTPS servers kept for the whole session, each serving
one test's fresh app at a time.

devserver.Server reads its app on each request, so a test's fresh emulator world and fresh
backend apps are swapped into servers that are already listening, instead of each test
binding, handshaking with and stopping servers of its own. A test's servers are handed on only
once none of its apps is still answering, and meanwhile answer 503: a late request of one test
never reaches the next test's world on the same port.
"""

from __future__ import annotations

import queue
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wsgi import ClosingIterator

from tandem_mailbox.app import create_app
from tandem_mailbox.certs import CertPaths
from tandem_mailbox.cli.devserver import Server
from tandem_mailbox.config import Settings
from tandem_mailbox.emulator.app import create_app as create_emulator
from tandem_mailbox.emulator.world import Emulator
from tandem_mailbox.microsoft.outbound import Session
from tests.support.servers import PUBLIC_URL, BackendHandle, EmulatorHandle, settings_for


class Tenant:
    """One test's app on a pooled server, counting the requests it is still answering."""

    def __init__(self, app: Any):
        self.app = app
        self._busy = 0
        self._changed = threading.Condition()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        with self._changed:
            self._busy += 1
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._finished()
            raise
        # The request is over when the server closes the body it was given.
        return ClosingIterator(body, self._finished)

    def _finished(self) -> None:
        with self._changed:
            self._busy -= 1
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """True once no request is being answered, False if one still is after `timeout`."""
        with self._changed:
            return self._changed.wait_for(lambda: self._busy == 0, timeout)


class ServerPool:
    """Loopback HTTPS servers kept for the session; a test borrows them through a Lease."""

    def __init__(self, cert_paths: CertPaths):
        self.cert_paths = cert_paths
        self._idle: list[Server] = []
        self._lock = threading.Lock()

    def take(self) -> Server:
        """An idle server answering 503 until it is given an app (a new one if none is idle)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(0)  # the longest idle first
        paths = self.cert_paths
        return Server(None, host="127.0.0.1", port=0, cert=paths.cert, key=paths.key).start()

    def put_back(self, servers: list[Server]) -> None:
        """Servers whose apps have left, for other tests."""
        with self._lock:
            self._idle.extend(servers)

    def close(self) -> None:
        """Stop every idle server."""
        with self._lock:
            idle, self._idle = self._idle, []
        for server in idle:
            server.stop()


class Lease:
    """The servers one test borrowed, each serving one of its apps, until `end()`."""

    # How long the end of a test waits for answers still being written (a client that gave up
    # on a slow fault, say) before it stops those servers instead of handing them on.
    SETTLE_SECONDS = 0.5

    def __init__(self, pool: ServerPool):
        self.pool = pool
        self._held: list[tuple[Server, Tenant]] = []

    def serve(self, build: Callable[[str], Any]) -> Server:
        """A pooled server answering with the app `build(its URL)` returns."""
        server = self.pool.take()
        try:
            tenant = Tenant(build(server.url))
        except BaseException:
            self.pool.put_back([server])
            raise
        self._held.append((server, tenant))
        server.app = tenant
        return server

    def end(self) -> None:
        """Every app leaves its server; the servers go back to the pool once nothing of this
        test is still answering, or are stopped if something is (so a late request of one of
        its apps can never reach the next test's world on the same port)."""
        held, self._held = self._held, []
        for server, _ in held:
            server.app = None  # from now on a request gets 503 "starting"
        deadline = time.monotonic() + self.SETTLE_SECONDS
        settled = all(t.wait_idle(max(0.0, deadline - time.monotonic())) for _, t in held)
        if settled:
            self.pool.put_back([server for server, _ in held])
        else:
            for server, _ in held:
                server.stop()


class WorldSupply:
    """Fresh emulator worlds, built ahead on a thread of their own.

    Most of a world is its Entra signing key, a 2048-bit RSA key that OpenSSL makes without
    holding the GIL, so this thread works while the tests wait on sockets. A world's app is
    built by the test that takes it: werkzeug compiles every route with `ast`, and CPython 3.11
    raises "SystemError: AST constructor recursion depth mismatch" when two threads build ASTs
    at once (seen here; python/cpython#106905).
    """

    def __init__(self, ahead: int = 2):
        self._ready: queue.Queue[Emulator | BaseException] = queue.Queue(ahead)
        threading.Thread(target=self._build, name="emulator-worlds", daemon=True).start()

    def _build(self) -> None:
        while True:
            try:
                built: Emulator | BaseException = Emulator(public_url=PUBLIC_URL)
            except BaseException as error:  # handed to the test that takes it, then stop
                self._ready.put(error)
                return
            self._ready.put(built)  # waits while `ahead` worlds are ready

    def take(self) -> Emulator:
        """A world never given out before (its URL is set by whoever serves it)."""
        built = self._ready.get(timeout=60)
        if isinstance(built, BaseException):
            self._ready.put(built)  # every later test fails the same way
            raise built
        return built


def lease_emulator(lease: Lease, http: Session, worlds: WorldSupply) -> EmulatorHandle:
    """A fresh emulator world and app on a pooled server, advertising that server's URL."""
    emulator = worlds.take()

    def build(url: str) -> Any:
        emulator.base_url = url  # what its tokens, metadata and settings() name
        return create_emulator(emulator)

    return EmulatorHandle(emulator=emulator, server=lease.serve(build), http=http)


def lease_backend(
    lease: Lease,
    emulator: EmulatorHandle,
    cert_paths: CertPaths,
    http: Session,
    trust: ssl.SSLContext,
    clock: Callable[[], float] | None = None,
    **overrides: str,
) -> BackendHandle:
    """A fresh backend app (its own MSAL client and caches) on a pooled server, wired to
    `emulator`. `trust` is the session's TLS context trusting its CA: the app uses it unless
    the overrides name another CA bundle."""
    settings = Settings.from_mapping(settings_for(emulator, cert_paths, **overrides))
    mine = trust if settings.ca_bundle == cert_paths.ca_cert else None
    app = create_app(settings, clock=clock, trust=mine)
    server = lease.serve(lambda _url: app)
    return BackendHandle(server=server, settings=settings, http=http, app=app)
