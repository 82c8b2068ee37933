"""HTTPS servers for the demo, the emulator and the tests (werkzeug's, threaded)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2+) for the given certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler with Nagle's algorithm off: its header and body writes otherwise
    meet the client's delayed ACK and every keep-alive request waits ~40 ms."""

    disable_nagle_algorithm = True


class Server:
    """One app served over HTTPS on a background thread; port 0 picks a free port.

    The app may be given after the port is known (`server.app = ...`), so an app can be
    configured with its own URL.
    """

    def __init__(self, app: Flask | None, *, host: str, port: int, cert: Path, key: Path):
        self.app = app
        self._server: BaseWSGIServer = make_server(
            host,
            port,
            self._dispatch,
            threaded=True,
            request_handler=_Handler,
            ssl_context=tls_context(cert, key),
        )
        self.port = self._server.server_port
        self.url = f"https://localhost:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how soon stop() is noticed
            name=f"https-{self.port}",
            daemon=True,
        )

    def _dispatch(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
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
