"""The servers the fast lane shares between tests keep each test's world its own: a server
handed on serves the next test's fresh apps only, and one still answering is never handed on."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator

import pytest
from flask import Flask

from tandem_mailbox.certs import CertPaths
from tandem_mailbox.microsoft.outbound import Session
from tests.support.api import shared_body
from tests.support.pool import Lease, ServerPool, WorldSupply, lease_backend, lease_emulator

SUPPORT = "support@contoso.com"


@pytest.fixture
def pool(cert_paths: CertPaths) -> Iterator[ServerPool]:
    """A pool of this test's own (the session's is shared by every test)."""
    servers = ServerPool(cert_paths)
    yield servers
    servers.close()


def test_the_next_lease_gets_a_fresh_world_on_the_same_server(
    pool: ServerPool, http: Session, worlds: WorldSupply
):
    first = Lease(pool)
    before = lease_emulator(first, http, worlds)
    before.fault(target="graph", status=503, count=5)
    before.sso("lee@contoso.com")
    item = before.items(SUPPORT)[0]["id"]
    before.change(item, categories=["Changed by the first test"])
    assert before.item(item)["item"]["categories"] == ["Changed by the first test"]
    first.end()

    second = Lease(pool)
    after = lease_emulator(second, http, worlds)
    try:
        assert after.server is before.server  # handed on, not bound again
        assert after.emulator is not before.emulator
        assert after.stats()["ssoTokensIssued"] == 0
        assert http.get(f"{after.url}/_emulator/faults").json()["faults"] == []
        assert after.requests() == []
        assert "Changed by the first test" not in after.item(item)["item"]["categories"]
        published = http.get(f"{after.url}/common/discovery/v2.0/keys").json()["keys"]
        assert {k["kid"] for k in published}.isdisjoint(k.kid for k in before.emulator.entra.keys)
    finally:
        second.end()


def test_a_world_names_the_server_it_sits_on_and_its_backend_follows(
    pool: ServerPool,
    http: Session,
    worlds: WorldSupply,
    cert_paths: CertPaths,
    trust: ssl.SSLContext,
):
    lease = Lease(pool)
    try:
        emulator = lease_emulator(lease, http, worlds)
        backend = lease_backend(lease, emulator, cert_paths, http, trust)
        assert backend.server is not emulator.server
        config = http.get(f"{emulator.url}/_emulator/config").json()
        assert config["baseUrl"] == emulator.url == emulator.server.url
        assert backend.settings.graph_url == f"{emulator.url}/v1.0"
        assert backend.settings.authority_host == emulator.url.removeprefix("https://")
        token = emulator.sso("lee@contoso.com")
        body = shared_body(emulator.items(SUPPORT)[0]["id"], SUPPORT)
        assert backend.context(token, body).status_code == 200
        assert emulator.requests(), "the backend's Graph calls reached its own emulator"
    finally:
        lease.end()


def test_after_its_test_a_server_answers_503_until_the_next_app(
    pool: ServerPool, http: Session, worlds: WorldSupply
):
    lease = Lease(pool)
    emulator = lease_emulator(lease, http, worlds)
    assert http.get(f"{emulator.url}/_emulator/stats").status_code == 200
    lease.end()
    late = http.get(f"{emulator.url}/_emulator/stats")
    assert late.status_code == 503


def test_a_server_still_answering_at_the_end_is_stopped_not_handed_on(
    pool: ServerPool, http: Session
):
    entered, release = threading.Event(), threading.Event()
    app = Flask("slow")

    @app.get("/slow")
    def slow() -> str:
        entered.set()
        release.wait(10)
        return "late"

    lease = Lease(pool)
    server = lease.serve(lambda _url: app)
    answers: list[int] = []
    caller = threading.Thread(
        target=lambda: answers.append(http.get(f"{server.url}/slow").status_code)
    )
    caller.start()
    try:
        assert entered.wait(10)
        lease.end()  # waits SETTLE_SECONDS for it, then stops the server
    finally:
        release.set()
        caller.join(10)
    assert answers == [200]  # the request in flight was answered all the same
    taken = pool.take()
    try:
        assert taken is not server
    finally:
        pool.put_back([taken])
