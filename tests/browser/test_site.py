"""The pane's Content-Security-Policy in a real browser: an Office.js on another host loads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, Response

from tandem_mailbox.certs import CertPaths
from tandem_mailbox.cli.devserver import Server
from tests.support.servers import BackendHandle, EmulatorHandle


@pytest.fixture
def office_js_host(cert_paths: CertPaths) -> Iterator[Server]:
    """Another https origin on loopback serving an office.js of its own (a custom Office host)."""
    app = Flask("custom-office-js")

    @app.get("/lib/office.js")
    def office_js() -> Response:
        return Response("window.customOfficeLoaded = true;", mimetype="text/javascript")

    server = Server(app, host="127.0.0.1", port=0, cert=cert_paths.cert, key=cert_paths.key)
    server.start()
    yield server
    server.stop()


def test_a_custom_office_js_host_is_allowed_by_the_csp(
    make_backend: Callable[..., BackendHandle],
    emulator: EmulatorHandle,
    office_js_host: Server,
    page: Any,
):
    """D10: TANDEM_OFFICE_JS_URL on another host loads in a real browser under our own CSP."""
    custom = f"{office_js_host.url}/lib/office.js"
    backend = make_backend(emulator, TANDEM_OFFICE_JS_URL=custom)
    csp = backend.http.get(backend.url + "/taskpane.html").headers["Content-Security-Policy"]
    assert f"script-src 'self' {office_js_host.url};" in csp
    assert "appsforoffice.microsoft.com" not in csp
    page.goto(f"{backend.url}/taskpane.html")
    page.wait_for_function("window.customOfficeLoaded === true", timeout=10_000)
    assert not [e for e in page.console_errors if "Content Security Policy" in e]
