"""On-behalf-of through MSAL against the emulator: caching, credentials, Entra errors mapped."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tandem_mailbox.certs import self_signed
from tandem_mailbox.emulator import seed
from tests.support.api import shared_body
from tests.support.clock import FakeClock
from tests.support.servers import EmulatorHandle


def _item(emulator: EmulatorHandle) -> dict[str, Any]:
    return shared_body(emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")


def test_one_token_endpoint_call_for_a_hundred_requests(make_backend, emulator: EmulatorHandle):
    backend = make_backend(emulator)
    token = emulator.sso("lee@contoso.com")
    body = _item(emulator)
    before = emulator.stats()["tokenRequests"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: backend.context(token, body).status_code, range(100)))
    assert statuses == [200] * 100
    assert emulator.stats()["tokenRequests"] - before == 1


def test_two_people_two_exchanges(make_backend, emulator: EmulatorHandle):
    backend = make_backend(emulator)
    lee, pat = emulator.sso("lee@contoso.com"), emulator.sso("pat@contoso.com")
    support = _item(emulator)
    sales = shared_body(emulator.items("sales@contoso.com")[0]["id"], "sales@contoso.com")
    before = emulator.stats()["tokenRequests"]
    for _ in range(10):
        assert backend.context(lee, support).status_code == 200
        assert backend.context(pat, sales).status_code == 200
    assert emulator.stats()["tokenRequests"] - before == 2


def test_an_expired_cached_token_is_exchanged_again(
    make_backend, emulator: EmulatorHandle, fake_clock: FakeClock
):
    backend = make_backend(emulator, clock=fake_clock)
    token = emulator.sso("lee@contoso.com", lifetime=4 * 3600)
    body = _item(emulator)
    before = emulator.stats()["tokenRequests"]
    assert backend.context(token, body).status_code == 200
    fake_clock.now += 3000  # within the Graph token's 3599 s less the 300 s margin
    assert backend.context(token, body).status_code == 200
    assert emulator.stats()["tokenRequests"] - before == 1
    fake_clock.now += 400  # past expires_in - margin
    assert backend.context(token, body).status_code == 200
    assert emulator.stats()["tokenRequests"] - before == 2


def test_the_graph_token_never_reaches_the_browser(make_backend, emulator: EmulatorHandle):
    backend = make_backend(emulator)
    response = backend.context(emulator.sso("lee@contoso.com"), _item(emulator))
    assert response.status_code == 200
    assert "eyJ" not in response.text
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ({"aadsts": 50076}, 401, "interaction_required"),
        ({"aadsts": 50079}, 401, "interaction_required"),
        ({"aadsts": 65001}, 403, "consent_required"),
        ({"aadsts": 500133}, 401, "token_expired"),
        ({"aadsts": 50013}, 401, "invalid_token"),
        ({"aadsts": 7000215}, 500, "server_misconfigured"),
        ({"aadsts": 700027}, 500, "server_misconfigured"),
        ({"aadsts": 700016}, 500, "server_misconfigured"),
        ({"aadsts": 50196}, 429, "throttled"),
        ({"status": 429, "retryAfter": 7}, 429, "throttled"),
        ({"status": 503}, 503, "upstream_unavailable"),
        ({"status": 500}, 503, "upstream_unavailable"),
    ],
    ids=lambda v: str(v) if not isinstance(v, dict) else "-".join(map(str, v.values())),
)
def test_entra_errors_become_the_contract(
    make_backend, fresh_emulator: EmulatorHandle, fault: dict[str, Any], status: int, code: str
):
    backend = make_backend(fresh_emulator)  # a fresh MSAL client: no remembered failures
    fresh_emulator.fault(target="token", **fault)
    response = backend.context(fresh_emulator.sso("lee@contoso.com"), _item(fresh_emulator))
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    if code == "interaction_required":
        assert body["claims"].startswith('{"access_token"')
    if code == "consent_required":
        assert body["consentUrl"].startswith(
            f"https://{fresh_emulator.emulator.entra.host}/{seed.CONTOSO}/adminconsent?"
            f"client_id={seed.CLIENT_ID}"
        )
    if code == "throttled":
        assert body["retryAfter"] == int(response.headers["Retry-After"])
        if fault.get("retryAfter"):
            assert body["retryAfter"] == fault["retryAfter"]
    assert fresh_emulator.stats()["graphRequests"] == 0


def test_a_silent_entra_times_out_without_hanging(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator, TANDEM_HTTP_TIMEOUT="1")
    fresh_emulator.fault(target="token", delayMs=2500, status=503)
    response = backend.context(fresh_emulator.sso("lee@contoso.com"), _item(fresh_emulator))
    assert response.status_code == 504, response.text
    assert response.json()["code"] == "upstream_unavailable"


@pytest.mark.parametrize(
    ("aadsts", "setting"), [(7000215, "TANDEM_CLIENT_SECRET"), (700016, "TANDEM_CLIENT_ID")]
)
def test_bad_credentials_name_the_setting_in_the_operator_log(
    make_backend,
    fresh_emulator: EmulatorHandle,
    caplog: pytest.LogCaptureFixture,
    aadsts: int,
    setting: str,
):
    backend = make_backend(fresh_emulator)
    fresh_emulator.fault(target="token", aadsts=aadsts)
    with caplog.at_level(logging.INFO):
        response = backend.context(fresh_emulator.sso("lee@contoso.com"), _item(fresh_emulator))
    assert response.json()["code"] == "server_misconfigured"
    assert setting not in response.text  # details stay in the operator's log
    assert any(setting in r.getMessage() and r.levelno >= logging.ERROR for r in caplog.records)


def test_a_wrong_client_secret_is_server_misconfigured(make_backend, emulator: EmulatorHandle):
    backend = make_backend(emulator, TANDEM_CLIENT_SECRET="not-the-secret-at-all")
    response = backend.context(emulator.sso("lee@contoso.com"), _item(emulator))
    assert response.status_code == 500
    assert response.json()["code"] == "server_misconfigured"


def _certificate(tmp_path, name: str) -> tuple[str, str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = self_signed(key, name, days=30)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_path = tmp_path / f"{name}.pem"
    key_path = tmp_path / f"{name}-key.pem"
    cert_path.write_text(cert_pem)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path), cert_pem


def test_certificate_credential(make_backend, fresh_emulator: EmulatorHandle, tmp_path):
    cert, key, pem = _certificate(tmp_path, "tandem-app")
    fresh_emulator.http.post(
        f"{fresh_emulator.url}/_emulator/app/certificates", json={"pem": pem}
    ).raise_for_status()
    backend = make_backend(
        fresh_emulator, TANDEM_CLIENT_SECRET="", TANDEM_CLIENT_CERT=cert, TANDEM_CLIENT_KEY=key
    )
    response = backend.context(fresh_emulator.sso("lee@contoso.com"), _item(fresh_emulator))
    assert response.status_code == 200, response.text


def test_an_unregistered_certificate_is_refused(
    make_backend, fresh_emulator: EmulatorHandle, tmp_path, caplog: pytest.LogCaptureFixture
):
    _, _, registered = _certificate(tmp_path, "registered")
    fresh_emulator.http.post(
        f"{fresh_emulator.url}/_emulator/app/certificates", json={"pem": registered}
    ).raise_for_status()
    cert, key, _ = _certificate(tmp_path, "impostor")
    backend = make_backend(
        fresh_emulator, TANDEM_CLIENT_SECRET="", TANDEM_CLIENT_CERT=cert, TANDEM_CLIENT_KEY=key
    )
    with caplog.at_level(logging.INFO):
        response = backend.context(fresh_emulator.sso("lee@contoso.com"), _item(fresh_emulator))
    assert response.status_code == 500
    assert response.json()["code"] == "server_misconfigured"
    assert any("TANDEM_CLIENT_CERT" in r.getMessage() for r in caplog.records)


def test_the_cache_is_bounded(emulator: EmulatorHandle, cert_paths, backend_settings):
    from tandem_mailbox.config import Settings
    from tandem_mailbox.microsoft.identity import Caller
    from tandem_mailbox.microsoft.obo import OnBehalfOf
    from tandem_mailbox.microsoft.outbound import Session, ssl_context

    settings = Settings.from_mapping(backend_settings(emulator))
    obo = OnBehalfOf(
        settings, Session(context=ssl_context(cert_paths.ca_cert), timeout=10), max_entries=2
    )
    people = {p["upn"]: p for p in emulator.world()["people"]}

    def caller(upn: str) -> Caller:
        return Caller(
            oid=people[upn]["oid"],
            tid=seed.CONTOSO,
            name=upn,
            upn=upn,
            assertion=tokens[upn],
        )

    tokens = {
        upn: emulator.sso(upn) for upn in ("lee@contoso.com", "pat@contoso.com", "joni@contoso.com")
    }
    before = emulator.stats()["tokenRequests"]
    for upn in tokens:
        obo.graph_token(caller(upn))
    obo.graph_token(caller("joni@contoso.com"))  # still cached
    assert emulator.stats()["tokenRequests"] - before == 3
    obo.graph_token(caller("lee@contoso.com"))  # the oldest entry was evicted
    assert emulator.stats()["tokenRequests"] - before == 4
