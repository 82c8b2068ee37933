"""The servers of the emulator, the demo and the tests keep connections alive, as Graph and
Entra ID do: a client's calls share one TLS connection, each request's body is read to its end
before the next one is, an answer without a length is sent chunked, and stopping a server
closes the connections still open."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from tandem_mailbox.certs import CertPaths
from tandem_mailbox.cli.devserver import Server
from tests.support.api import shared_body
from tests.support.servers import EmulatorHandle

SUPPORT = "support@contoso.com"


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """/ignore answers without reading the body; /stream without a length; else the body."""
    path = environ["PATH_INFO"]
    if path == "/ignore":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"one,", b"", b"two"])
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def server(cert_paths: CertPaths) -> Iterator[Server]:
    """A dev server of this test's own, serving `app`."""
    served = Server(app, host="127.0.0.1", port=0, cert=cert_paths.cert, key=cert_paths.key)  # type: ignore[arg-type]
    served.start()
    yield served
    served.stop()


def connect(server: Server, cert_paths: CertPaths) -> http.client.HTTPSConnection:
    """One HTTPS connection to the server."""
    context = ssl.create_default_context(cafile=str(cert_paths.ca_cert))
    return http.client.HTTPSConnection("localhost", server.port, context=context, timeout=10)


def test_one_connection_carries_many_requests(server: Server, cert_paths: CertPaths):
    connection = connect(server, cert_paths)
    for n in range(5):
        connection.request("POST", "/echo", body=b"x" * n)
        response = connection.getresponse()
        assert response.read() == b"x" * n
        assert response.getheader("Connection") is None  # kept alive
    # A body the app never read is read before the next request, which then parses.
    connection.request("POST", "/ignore", body=b"y" * 100_000)
    assert connection.getresponse().read() == b"ok"
    # An answer without a length comes chunked, and the connection goes on after it.
    connection.request("GET", "/stream")
    response = connection.getresponse()
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.read() == b"one,two"
    connection.request("POST", "/echo", body=b"last")
    assert connection.getresponse().read() == b"last"
    assert server.connections == 1
    connection.close()


def test_an_http_1_0_client_is_answered_and_the_connection_closed(
    server: Server, cert_paths: CertPaths
):
    connection = connect(server, cert_paths)
    connection._http_vsn, connection._http_vsn_str = 10, "HTTP/1.0"  # type: ignore[attr-defined]
    connection.request("GET", "/stream")
    response = connection.getresponse()
    assert response.getheader("Connection") == "close"
    assert response.read() == b"one,two"  # the end of the connection ends the body
    connection.close()


def test_stopping_the_server_closes_the_connections_still_open(cert_paths: CertPaths):
    served = Server(app, host="127.0.0.1", port=0, cert=cert_paths.cert, key=cert_paths.key)  # type: ignore[arg-type]
    served.start()
    connection = connect(served, cert_paths)
    connection.request("POST", "/echo", body=b"a")
    assert connection.getresponse().read() == b"a"
    served.stop()
    try:
        with pytest.raises((OSError, http.client.HTTPException)):
            connection.request("POST", "/echo", body=b"b")
            connection.getresponse().read()
    finally:
        connection.close()


def test_the_backend_calls_graph_over_kept_alive_connections(
    make_backend, fresh_emulator: EmulatorHandle
):
    e = fresh_emulator
    backend = make_backend(e)
    lee = e.sso("lee@contoso.com")
    body = shared_body(e.items(SUPPORT)[0]["id"], SUPPORT)
    assert backend.context(lee, body).status_code == 200  # keys, token, the first Graph call
    before = e.server.connections
    for _ in range(10):
        assert backend.context(lee, body).status_code == 200
    # Ten Graph reads (and the test's own calls to the emulator) on the connections already
    # open: no TLS handshake per call.
    assert e.server.connections - before <= 1
