"""The HTTPS servers of the demo, the emulator and the tests: werkzeug's, threaded, with each
TLS handshake on its connection's own thread and protocol errors answered as problem+json.

Production runs under gunicorn (cli/gunicorn.py); both wrap the app alike (web/wsgi.py).
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tandem_mailbox.web.wsgi import problem_bytes

LOOPBACK = ("127.0.0.1", "localhost", "::1")
HANDSHAKE_TIMEOUT = 10.0  # seconds a client has to finish its TLS handshake

_log = logging.getLogger("tandem.serving")


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2+) for the given certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler with Nagle's algorithm off (its header and body writes otherwise
    meet the client's delayed ACK and every keep-alive request waits ~40 ms), answering the
    errors http.server raises before the app runs (431 for a header line over 64 KiB, 400,
    414, 505) as problem+json instead of http.server's HTML page."""

    disable_nagle_algorithm = True

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

    def handle(self) -> None:
        """Werkzeug's handling, once the handshake succeeded."""
        if self._shaken:
            super().handle()

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

    def start(self) -> Server:
        """Start answering."""
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Answer on the calling thread until interrupted."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop answering and release the port."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
