"""`tandem serve`: the backend under gunicorn, threads per worker, with a graceful stop.

Each worker builds its own app (`create_app()` after the fork: sessions, locks and caches are
never shared across processes). The settings are validated once in the master first, so a
missing setting is one message and exit status 2, not a crash loop of workers.

On SIGTERM the master closes its listening sockets and tells each worker to stop; a worker
closes its own copies at once (new connections are refused rather than left in the
kernel's backlog), answers the requests in flight with `Connection: close`, and exits when
they are done or `graceful_timeout` has passed, after which the master kills it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gunicorn import util
from gunicorn.app.base import BaseApplication
from gunicorn.http import errors as http_errors
from gunicorn.workers import gthread
from gunicorn.workers.gthread import ThreadWorker

from tandem_mailbox import certs
from tandem_mailbox.cli.common import LOOPBACK, configure_logging, loopback_only
from tandem_mailbox.config import ConfigError, Settings
from tandem_mailbox.web.wsgi import problem_bytes

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.config import Config
    from gunicorn.workers.base import Worker as BaseWorker

log = logging.getLogger("tandem.serve")

# `tandem serve`'s workers when TANDEM_REDIS_URL is set and --workers is not given; without
# Redis the default is one, since several would each keep their own locks and token cache.
SHARED_DEFAULT_WORKERS = 2
# What a request takes at most is bounded by the app (Settings.longest_request: an action's
# budget and the exchange before it); `tandem serve` gives in-flight requests that long after
# SIGTERM, so a reply being sent ends with its answer and its audit line. This is the least.
GRACEFUL_TIMEOUT = 30
# The pane sends one request per item the person opens, seconds to minutes apart; 65 s keeps
# the TLS connection for the next click and outlives the 60 s idle timeout of the common
# proxies and load balancers, so a proxy never reuses a connection gunicorn just closed.
KEEPALIVE = 65
# From a connection's first byte, how long a client has to finish its TLS handshake and send
# its request line and headers (and, on a kept-alive connection, each next request's head).
# gunicorn's threaded worker sets no bound there: a client that sends one byte (or part of a
# ClientHello) and goes silent holds one of the worker's threads for as long as it likes, and
# eight of them held every thread of `--threads 8` (/healthz went unanswered). A person's
# browser sends a whole head at once, so seconds are plenty even on a slow network; a worker
# under such an attack answers again within this bound (a buffering proxy in front, such as
# nginx, takes these clients off the worker altogether: docs/deployment.md).
HEAD_TIMEOUT = 5.0
# What gthread's handle answers to park a connection that sent nothing yet on the poller
# (older gunicorn handed a connection to a thread only once it was readable: no parking).
_DEFER = getattr(gthread, "_DEFER", None)
# Entra ID SSO tokens with many claims run to ~10 KB in one Authorization header.
LIMIT_FIELD_SIZE = 16_384
LIMIT_REQUEST_LINE = 8_190

# gunicorn's request-parsing errors and what each is answered with (its own table, as
# problem+json: gunicorn/workers/base.py answers them as an HTML page).
_CLIENT_ERRORS: list[tuple[str, int]] = [
    ("LimitRequestLine", 414),
    ("LimitRequestHeaders", 431),
    ("ExpectationFailed", 417),
    ("ForbiddenProxyRequest", 403),
    ("UnsupportedTransferCoding", 501),
    ("ConfigurationProblem", 500),
    ("InvalidRequestLine", 400),
    ("InvalidRequestMethod", 400),
    ("InvalidHTTPVersion", 400),
    ("InvalidHeader", 400),
    ("InvalidHeaderName", 400),
    ("InvalidProxyLine", 400),
    ("InvalidSchemeHeaders", 400),
    ("ObsoleteFolding", 400),
    ("InvalidChunkSize", 400),
    ("ChunkMissingTerminator", 400),
    ("InvalidChunkExtension", 400),
    ("InvalidH2CPreface", 400),
]
CLIENT_ERRORS = tuple(
    (getattr(http_errors, name), status)
    for name, status in _CLIENT_ERRORS
    if hasattr(http_errors, name)  # the list grows with gunicorn's versions
)


class _CountedInput:
    """wsgi.input, counting what the app read, to tell whether it read the whole body."""

    def __init__(self, stream: Any, length: int | None):
        self._stream = stream
        self._length = length
        self.read_bytes = 0
        self.ended = False

    def _seen(self, data: bytes, asked: int | None) -> bytes:
        self.read_bytes += len(data)
        if not data and asked != 0:
            self.ended = True
        return data

    def read(self, size: int | None = None) -> bytes:
        """As the stream's read."""
        return self._seen(self._stream.read(size), size)

    def readline(self, size: int | None = None) -> bytes:
        """As the stream's readline."""
        return self._seen(self._stream.readline(size), size)

    def readlines(self, hint: int | None = None) -> list[bytes]:
        """As the stream's readlines."""
        lines: list[bytes] = self._stream.readlines(hint)
        self._seen(b"".join(lines), None)
        self.ended = self.ended or hint is None
        return lines

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    @property
    def whole(self) -> bool:
        """Whether the body was read to its end."""
        if self.ended:
            return True
        return self._length is not None and self.read_bytes >= self._length


class CloseUnreadBody:
    """Ends the connection after an error answered before the request's body was read.

    An app that refuses a request (413 above MAX_BODY, 401 before the body is looked at, 404,
    405, 415) leaves its body on the socket, where the next request of the connection would
    start. gunicorn then drains at most 64 KiB within 5 s after answering, and closes the
    connection when that fails, although its answer said `Connection: keep-alive`: the client's
    next request on that connection fails. An app cannot say `Connection: close` itself
    (gunicorn drops hop-by-hop headers, PEP 3333), so this asks gunicorn's own response object
    to close: the start_response gunicorn hands the app is that object's bound method. RFC 9112
    section 9.6: a server that does not read the whole body closes the connection.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app

    def __call__(
        self, environ: MutableMapping[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Call the app with a counted body; an error before its end closes the connection."""
        declared = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        length = int(declared) if declared.isdigit() else (None if chunked else 0)
        body = _CountedInput(environ["wsgi.input"], length)
        environ["wsgi.input"] = body

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if int(status[:3]) >= 400 and not body.whole:
                close = getattr(getattr(start_response, "__self__", None), "force_close", None)
                if close is not None:
                    close()
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


class Worker(ThreadWorker):
    """gunicorn's threaded worker, closing its listeners as soon as it stops, answering
    gunicorn's own parse errors as problem+json, closing a connection whose request body an
    error answer left unread, and cutting a connection whose TLS handshake and request head
    take longer than HEAD_TIMEOUT."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Connections whose handshake or head is being read on a thread, and by when it must
        # be done: the main loop (which wakes at least once a second) cuts the late ones.
        self._heads: dict[Any, float] = {}
        self._heads_lock = threading.Lock()

    def load_wsgi(self) -> None:
        """The app, wrapped so that an error before the body's end closes the connection."""
        super().load_wsgi()
        self.wsgi = CloseUnreadBody(self.wsgi)

    def handle(self, conn: Any) -> Any:
        """gunicorn's handling of one request, its handshake and head within HEAD_TIMEOUT.

        The deadline starts once the client has sent something: a connection that sends
        nothing is gunicorn's own case (it waits DEFAULT_WORKER_DATA_TIMEOUT on the thread,
        then parks the connection on the poller without a thread, as for keep-alive).
        """
        fresh = not conn.initialized and not getattr(conn, "data_ready", True)
        if fresh and not conn.wait_for_data(gthread.DEFAULT_WORKER_DATA_TIMEOUT):
            return _DEFER  # back to the poller, as gunicorn's handle would
        with self._heads_lock:
            self._heads[conn] = time.monotonic() + HEAD_TIMEOUT
        try:
            return super().handle(conn)
        finally:
            with self._heads_lock:
                self._heads.pop(conn, None)

    def handle_request(self, req: Any, conn: Any) -> Any:
        """The head has arrived: from here the app's own bounds apply, not HEAD_TIMEOUT."""
        with self._heads_lock:
            self._heads.pop(conn, None)
        return super().handle_request(req, conn)

    def murder_pending(self) -> None:
        """gunicorn's sweep of idle parked connections, and the cut of late heads."""
        super().murder_pending()
        now = time.monotonic()
        with self._heads_lock:  # under the lock: a head that just arrived is never cut
            for conn, deadline in self._heads.items():
                if deadline <= now:
                    _cut(conn.sock)

    def set_accept_enabled(self, enabled: bool | None) -> None:
        """Stop accepting; when stopping, close the listeners too, so new connections are
        refused at once instead of waiting in the backlog for a worker that will not come."""
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:
            for listener in self.sockets:
                listener.close()

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """A request gunicorn could not parse (or an error outside the app), as problem+json."""
        if isinstance(exc, ssl.SSLError):
            self.log.debug("TLS error from %s: %s", (addr or ("",))[0], exc)
            return
        status = next((s for kind, s in CLIENT_ERRORS if isinstance(exc, kind)), None)
        if status is None:
            self.log.exception("error outside the app")
            status, detail = 500, "An unexpected error."
        else:
            self.log.warning("invalid request from %s: %s", (addr or ("",))[0], exc)
            detail = f"{type(exc).__name__}: {exc}"[:200]
        body = problem_bytes(status, detail)
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            "Connection: close\r\n"
            "Content-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except OSError:
            self.log.debug("could not send the error answer")


def _cut(sock: Any) -> None:
    """Shut a connection down under the thread reading it: its blocked handshake or read ends
    at once (end of file), and gunicorn closes the connection as for a client that left.

    socket.socket's own shutdown, not ssl.SSLSocket's, which would also unwrap the TLS state
    the other thread is using. A socket just handed over to TLS (its descriptor moved to the
    SSLSocket) refuses, and the next sweep cuts the SSLSocket instead.
    """
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


@dataclass(frozen=True)
class Options:
    """How `tandem serve` runs gunicorn."""

    host: str
    port: int
    workers: int = 1
    threads: int = 8
    cert: Path | None = None  # in-process TLS; None: plain HTTP behind a TLS-terminating proxy
    key: Path | None = None
    graceful_timeout: int = GRACEFUL_TIMEOUT
    keepalive: int = KEEPALIVE


def _tls_context(config: Config, default_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """gunicorn's TLS context with TLS 1.2 as the floor."""
    context = default_factory()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class Application(BaseApplication):
    """gunicorn run from code: the settings are ours, never a gunicorn config file's."""

    def __init__(self, factory: Callable[[], Any], options: Options):
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        """Lay Tandem's serving choices over gunicorn's defaults."""
        o = self._options
        host = f"[{o.host}]" if ":" in o.host else o.host
        settings: dict[str, Any] = {
            "bind": [f"{host}:{o.port}"],
            "workers": o.workers,
            "threads": o.threads,
            "worker_class": Worker,
            "graceful_timeout": o.graceful_timeout,
            "timeout": o.graceful_timeout + 10,  # a worker silent this long is hung: replaced
            "keepalive": o.keepalive,
            "limit_request_line": LIMIT_REQUEST_LINE,
            "limit_request_field_size": LIMIT_FIELD_SIZE,
            "limit_request_fields": 100,
            # X-Forwarded-* are TANDEM_TRUST_PROXY's business (ProxyFix in the app), not
            # gunicorn's: with its defaults a client on loopback could claim https.
            "forwarded_allow_ips": "",
            "secure_scheme_headers": {},
            "forwarder_headers": "",
            "control_socket_disable": True,  # gunicorn 25's control socket is not needed
            "preload_app": False,
            "errorlog": "-",
            "accesslog": None,
            "proc_name": "tandem",
        }
        scheme = "https" if o.cert else "http"

        def when_ready(server: Arbiter) -> None:
            # Port 0 picks a free port: say which (the tests and scripts read this line).
            for listener in server.LISTENERS:
                bound = listener.sock.getsockname()
                print(f"listening on {scheme}://{host}:{bound[1]}", flush=True)

        settings["when_ready"] = when_ready

        def child_exit(server: Arbiter, worker: BaseWorker) -> None:
            # A dead worker's live gauges must stop counting (prometheus_client multiprocess).
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                from prometheus_client import multiprocess

                multiprocess.mark_process_dead(worker.pid)

        settings["child_exit"] = child_exit
        if o.cert and o.key:
            settings.update(
                {"certfile": str(o.cert), "keyfile": str(o.key), "ssl_context": _tls_context}
            )
        for name, value in settings.items():
            if name in self.cfg.settings:  # older gunicorn lacks some (control_socket_disable)
                self.cfg.set(name, value)

    def load(self) -> Any:
        """The WSGI app, built in each worker after the fork."""
        return self._factory()


def run(factory: Callable[[], Any], options: Options) -> int:
    """Serve until SIGTERM or SIGINT; answers the exit status."""
    Application(factory, options).run()
    return 0


def _serving_tls(args: argparse.Namespace, settings: Settings) -> tuple[Path | None, Path | None]:
    """The certificate and key `tandem serve` answers TLS with; (None, None) behind a proxy.

    The development certificate names localhost only, so it is used only on loopback and
    only when `tandem certs` made it: serve never creates a CA of its own accord.
    """
    cert = Path(args.cert) if args.cert else settings.tls_cert
    key = Path(args.key) if args.key else settings.tls_key
    if bool(args.cert) != bool(args.key):
        raise SystemExit("tandem: --cert and --key go together")
    if cert and key:
        return cert, key
    if settings.trust_proxy:
        return None, None  # TLS ends at the proxy, which TANDEM_TRUST_PROXY says is there
    if args.host not in LOOPBACK:
        raise SystemExit(
            f"tandem: refusing to serve {args.host} with the development certificate, which "
            "names only localhost: give --cert/--key (or TANDEM_TLS_CERT/TANDEM_TLS_KEY), or "
            "terminate TLS in a proxy and set TANDEM_TRUST_PROXY to its number of hops"
        )
    development = certs.development(Path(args.certs))
    if development is None:
        raise SystemExit(
            f"tandem: no development certificate under {args.certs}: run `tandem certs` "
            "(and trust its CA), or give --cert/--key"
        )
    print(f"  TLS: the development certificate for localhost ({development.cert})", flush=True)
    return development.cert, development.key


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the backend from the environment under gunicorn, until SIGTERM or Ctrl+C."""
    configure_logging(args.verbose, os.environ.get("TANDEM_LOG_FORMAT") or "json")
    try:
        # The worker count reaches the settings, which refuse several without shared state.
        os.environ["TANDEM_WORKERS"] = str(args.workers or 1)
        settings = Settings.load()  # once in the master: one message, not a crash loop
        if args.workers is None and settings.redis_url:
            # Without --workers: two when Redis shares the state, else the one that needs none.
            os.environ["TANDEM_WORKERS"] = str(SHARED_DEFAULT_WORKERS)
            settings = Settings.load()
    except ConfigError as error:
        print(f"tandem: configuration error: {error}", file=sys.stderr)
        return 2
    workers = settings.workers
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several workers: /metrics must sum them all, which is prometheus_client's
        # multiprocess mode (every value in a file every worker writes). It picks its mode
        # when it is imported, which importing the backend already did: start afresh with
        # the directory set. One worker keeps its values in memory: a metric's update is
        # then an addition, not a write to a shared file under a lock.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tandem-metrics-")
        os.execv(sys.executable, [sys.executable, "-m", "tandem_mailbox.cli", *sys.argv[1:]])  # noqa: S606
    from tandem_mailbox.app import create_app

    loopback_only(args.host, args.public, "by default the backend is")
    if not settings.database_url.startswith("sqlite"):
        from tandem_mailbox.store import Store

        store = Store(settings.database_url)
        problem = store.behind()
        store.dispose()
        if problem:
            print(f"tandem: the team's record: {problem}", file=sys.stderr)
            return 2
    # SIGTERM lets every request in flight end: a reply cut off mid-send would go out with no
    # answer and no audit line. The longest request is an action's whole budget.
    longest = math.ceil(settings.longest_request)
    graceful = args.graceful_timeout or longest
    if graceful < longest:
        print(
            f"tandem: --graceful-timeout {graceful} is shorter than the longest request "
            f"({longest} s with TANDEM_HTTP_TIMEOUT={settings.http_timeout:g}): a reply in "
            "flight at SIGTERM could go out with no answer and no audit line. Give at least "
            f"{longest}, or lower TANDEM_HTTP_TIMEOUT.",
            file=sys.stderr,
        )
        return 2
    try:
        from tandem_mailbox.cli import gunicorn as production
    except ImportError:
        print(
            "tandem: gunicorn is not installed: pip install 'tandem-mailbox[prod]'",
            file=sys.stderr,
        )
        return 2
    cert, key = _serving_tls(args, settings)
    print(
        f"Tandem backend: {workers} worker{'s' if workers > 1 else ''} x {args.threads} "
        f"threads, public URL {settings.public_url}, {graceful} s for requests in flight "
        "at SIGTERM",
        flush=True,
    )
    if not cert:
        print(
            f"  TLS: terminated by the proxy (TANDEM_TRUST_PROXY={settings.trust_proxy})",
            flush=True,
        )
    options = production.Options(
        host=args.host,
        port=args.port,
        workers=workers,
        threads=args.threads,
        cert=cert,
        key=key,
        graceful_timeout=graceful,
    )
    return production.run(lambda: create_app(settings), options)
