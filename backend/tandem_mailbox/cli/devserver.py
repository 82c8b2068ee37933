"""The HTTPS servers of the demo, the emulator and the tests: werkzeug's, threaded, with each
TLS handshake on its connection's own thread and protocol errors answered as problem+json.

Connections are kept alive (HTTP/1.1), as Graph and Entra ID keep them: werkzeug's development
server closes every one, so every call of a test, the demo or the benchmark paid a TLS handshake
the real services never charge. A connection is reused only when its request's body was read
to its end (what the app left unread is read and dropped, up to DRAIN_LIMIT; past it the
connection closes); an answer without a Content-Length is sent chunked; idle connections close
after KEEP_ALIVE seconds, and stopping a server closes those still open.

Production runs under gunicorn (cli/gunicorn.py); both wrap the app alike (web/wsgi.py).
"""

from __future__ import annotations

import io
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from contextlib import suppress
from http import HTTPStatus
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.exceptions import InternalServerError
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tandem_mailbox.web.wsgi import problem_bytes

LOOPBACK = ("127.0.0.1", "localhost", "::1")
HANDSHAKE_TIMEOUT = 10.0  # seconds a client has to finish its TLS handshake
KEEP_ALIVE = 75.0  # seconds an idle connection stays open (gunicorn's default is 2 s, nginx 75)
DRAIN_LIMIT = 1 << 20  # bytes of a body the app left unread that are read to keep the connection

_log = logging.getLogger("tandem.serving")


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2+) for the given certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


class _Counted(io.RawIOBase):
    """The request's stream, counting what the app read of it."""

    def __init__(self, stream: Any):
        super().__init__()
        self._stream = stream
        self.consumed = 0

    def readable(self) -> bool:
        """A request body is read only."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Read into `buffer`, counting."""
        n = int(self._stream.readinto(buffer) or 0)
        self.consumed += n
        return n

    def read(self, size: int | None = -1) -> bytes:
        """Read up to `size` bytes, counting."""
        data = self._stream.read(size if size is not None else -1)
        self.consumed += len(data)
        return bytes(data)

    def readline(self, size: int | None = -1) -> bytes:
        """Read a line, counting."""
        data = self._stream.readline(size if size is not None else -1)
        self.consumed += len(data)
        return bytes(data)


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler, with connections kept alive (HTTP/1.1), Nagle's algorithm off (a
    header and a body write would otherwise meet the client's delayed ACK: ~40 ms a request),
    and the errors http.server raises before the app runs (431 for a header line over 64 KiB,
    400, 414, 505) answered as problem+json instead of http.server's HTML page."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = KEEP_ALIVE  # for reads: an idle connection ends after this long
    busy = False  # a request is being answered

    def setup(self) -> None:
        """The TLS handshake, on this connection's thread, within HANDSHAKE_TIMEOUT."""
        self._shaken = True
        if isinstance(self.request, ssl.SSLSocket):
            try:
                self.request.settimeout(HANDSHAKE_TIMEOUT)
                self.request.do_handshake()
                self.request.settimeout(None)
            except (ssl.SSLError, OSError) as error:  # not TLS, too slow, or gone
                self._shaken = False
                _log.debug("TLS handshake with %s failed: %s", self.client_address, error)
        super().setup()
        live = getattr(self.server, "live", None)
        if live is not None:
            live[self.request] = self
            self.server.accepted += 1  # type: ignore[attr-defined]

    def finish(self) -> None:
        """The connection ends: no longer one to close when the server stops."""
        live = getattr(self.server, "live", None)
        if live is not None:
            live.pop(self.request, None)
        super().finish()

    def handle(self) -> None:
        """Werkzeug's handling, once the handshake succeeded."""
        if self._shaken:
            super().handle()

    def log_error(self, format: str, *args: Any) -> None:
        """http.server's error lines; an idle connection timing out is how it ends, not one."""
        if format.startswith("Request timed out"):
            return
        super().log_error(format, *args)

    def run_wsgi(self) -> None:
        """One request through the app; the connection stays open for the next unless the
        client or the answer says otherwise, the request's body can't be read to its end, or
        the server is stopping (then it is answered all the same, and closed after)."""
        self.busy = True
        try:
            self._answer()
        finally:
            self.busy = False
            if getattr(self.server, "stopping", False):
                self.close_connection = True

    def _answer(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body = _Counted(environ["wsgi.input"])
        environ["wsgi.input"] = body
        sent: dict[str, Any] = {"status": None, "headers": None, "chunked": False}
        started: dict[str, Any] = {}

        def write(data: bytes) -> None:
            if sent["status"] is None:
                status, headers = started["status"], started["headers"]
                code_text, _, message = status.partition(" ")
                code = int(code_text)
                names = {name.lower() for name, _ in headers}
                if self.request_version != "HTTP/1.1" or getattr(self.server, "stopping", False):
                    self.close_connection = True
                bodiless = self.command == "HEAD" or code < 200 or code in (204, 304)
                if "content-length" not in names and not bodiless:
                    if self.close_connection:
                        pass  # the end of the connection ends the body
                    else:
                        sent["chunked"] = True
                        headers = [*headers, ("Transfer-Encoding", "chunked")]
                if "connection" in names:
                    value = next(v for n, v in headers if n.lower() == "connection")
                    if value.lower() == "close":
                        self.close_connection = True
                self.log_request(code)
                lines = [
                    f"{self.protocol_version} {code} {message}",
                    f"Server: {self.version_string()}",
                    f"Date: {self.date_time_string()}",
                    *(f"{n}: {v}" for n, v in headers if n.lower() != "connection"),
                ]
                if self.close_connection:
                    lines.append("Connection: close")
                head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "strict")
                sent["status"], sent["headers"] = status, headers
                # One write for the head and the first of the body: one TLS record, one segment.
                self.wfile.write(head + self._framed(data, sent["chunked"]))
                return
            if data:
                self.wfile.write(self._framed(data, sent["chunked"]))

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if exc_info and sent["status"] is not None:
                raise exc_info[1].with_traceback(exc_info[2])
            started["status"], started["headers"] = status, headers
            return write

        def execute(app: Any) -> None:
            answer = app(environ, start_response)
            try:
                wrote = False
                for data in answer:
                    if data or sent["status"] is None:
                        write(data)
                        wrote = True
                if not wrote:
                    write(b"")
                if sent["chunked"]:
                    self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()

        try:
            execute(self.server.app)
        except (ConnectionError, TimeoutError, ssl.SSLError) as error:
            self.close_connection = True
            self.connection_dropped(error, environ)
            return
        except Exception:
            self.close_connection = True
            if sent["status"] is None:
                with suppress(Exception):
                    started.clear()
                    execute(InternalServerError())
            _log.exception("error on request %s %s", self.command, self.path)
            return
        if not self.close_connection and not self._drained(environ, body):
            self.close_connection = True

    @staticmethod
    def _framed(data: bytes, chunked: bool) -> bytes:
        """Body bytes as sent: a chunk of the chunked coding, or as they are."""
        if not chunked or not data:
            return data
        return b"%x\r\n%s\r\n" % (len(data), data)

    @staticmethod
    def _drained(environ: dict[str, Any], body: _Counted) -> bool:
        """Whether the request's body was read to its end (what the app left, up to
        DRAIN_LIMIT, is read now): only then does the next request start where it should."""
        if environ.get("wsgi.input_terminated"):  # chunked: read to its last chunk
            left = DRAIN_LIMIT
            buffer = bytearray(65536)
            while left > 0:
                n = body.readinto(buffer)
                if not n:
                    return True
                left -= n
            return False
        raw = environ.get("CONTENT_LENGTH") or "0"
        if not raw.isdigit():
            return False
        left = int(raw) - body.consumed
        if left > DRAIN_LIMIT:
            return False
        while left > 0:
            data = body.read(min(left, 65536))
            if not data:
                return False
            left -= len(data)
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """An error before the app ran, as problem+json; the connection is closed after it."""
        body = problem_bytes(code, explain or message or HTTPStatus(code).phrase)
        self.log_error("code %d, message %s", code, message)
        self.send_response(code, message)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)


class Server:
    """One app served over HTTPS on a background thread; port 0 picks a free port.

    The app may be given after the port is known (`server.app = ...`), so an app can be
    configured with its own URL.
    """

    def __init__(self, app: Flask | None, *, host: str, port: int, cert: Path, key: Path):
        self.app = app
        self._server: BaseWSGIServer = make_server(
            host, port, self._dispatch, threaded=True, request_handler=_Handler
        )
        # TLS as werkzeug would set it up, but with each handshake on its connection's own
        # thread (`_Handler.setup`): werkzeug's wrapping shakes hands inside accept(), on the
        # one thread that accepts, so a client that connects and says nothing stopped every
        # other connection until it left.
        context = tls_context(cert, key)
        self._server.socket = context.wrap_socket(
            self._server.socket, server_side=True, do_handshake_on_connect=False
        )
        self._server.ssl_context = context
        # The connections open now (each with its handler), closed by stop(): a kept-alive
        # connection would otherwise go on being answered by its thread after the server
        # stopped listening.
        self._server.live = {}  # type: ignore[attr-defined]
        self._server.stopping = False  # type: ignore[attr-defined]
        self._server.accepted = 0  # type: ignore[attr-defined]
        self.port = self._server.server_port
        self.url = f"https://localhost:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how soon stop() is noticed
            name=f"https-{self.port}",
            daemon=True,
        )

    def _dispatch(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"starting"]
        return self.app(environ, start_response)

    @property
    def connections(self) -> int:
        """How many connections the server has accepted so far."""
        return int(self._server.accepted)  # type: ignore[attr-defined]

    def start(self) -> Server:
        """Start answering."""
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Answer on the calling thread until interrupted."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop answering and release the port: the idle connections are closed now, and a
        request being answered is answered all the same, its connection closed after it."""
        self._server.stopping = True  # type: ignore[attr-defined]
        self._server.shutdown()
        self._server.server_close()
        for connection, handler in list(self._server.live.items()):  # type: ignore[attr-defined]
            if not handler.busy:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        if self._thread.is_alive():
            self._thread.join(timeout=5)
