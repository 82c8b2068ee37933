"""Graph calls: retries honouring Retry-After, their bound, timeouts, 4 in flight per mailbox."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.api import shared_body
from tests.support.servers import EmulatorHandle


def _body(emulator: EmulatorHandle, n: int = 0) -> dict:
    return shared_body(emulator.items("support@contoso.com")[n]["id"], "support@contoso.com")


def test_503_and_429_are_retried(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    fresh_emulator.fault(target="graph", status=503, retryAfter=0, times=1)
    fresh_emulator.fault(target="graph", status=429, retryAfter=0, times=1)
    response = backend.context(fresh_emulator.sso("lee@contoso.com"), _body(fresh_emulator))
    assert response.status_code == 200, response.text
    assert fresh_emulator.stats()["graphRequests"] == 3


def test_throttling_beyond_the_retries_is_throttled(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    fresh_emulator.fault(target="graph", status=429, retryAfter=0, times=-1)
    response = backend.context(fresh_emulator.sso("lee@contoso.com"), _body(fresh_emulator))
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled"
    assert body["retryAfter"] >= 1
    assert response.headers["Retry-After"] == str(body["retryAfter"])
    assert fresh_emulator.stats()["graphRequests"] == 4  # max_attempts


def test_a_retry_after_longer_than_the_budget_is_not_waited_for(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    fresh_emulator.fault(target="graph", status=429, retryAfter=120, times=1)
    response = backend.context(fresh_emulator.sso("lee@contoso.com"), _body(fresh_emulator))
    assert response.status_code == 429
    assert response.json()["retryAfter"] == 120
    assert fresh_emulator.stats()["graphRequests"] == 1


def test_graph_unavailable_is_upstream_unavailable(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    fresh_emulator.fault(target="graph", status=503, retryAfter=0, times=-1)
    response = backend.context(fresh_emulator.sso("lee@contoso.com"), _body(fresh_emulator))
    assert response.status_code == 503
    assert response.json()["code"] == "upstream_unavailable"


def test_a_silent_graph_times_out(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator, TANDEM_HTTP_TIMEOUT="0.5")
    token = fresh_emulator.sso("lee@contoso.com")
    body = _body(fresh_emulator)
    assert backend.context(token, body).status_code == 200  # warm: the exchange is cached
    fresh_emulator.fault(target="graph", delayMs=1500, times=-1)
    response = backend.context(token, body)
    assert response.status_code == 504
    assert response.json()["code"] == "upstream_unavailable"


def test_at_most_four_in_flight_per_mailbox(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    token = fresh_emulator.sso("lee@contoso.com")
    bodies = [_body(fresh_emulator, n % 10) for n in range(24)]
    assert backend.context(token, bodies[0]).status_code == 200
    fresh_emulator.fault(target="graph", delayMs=100, times=-1)
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda b: backend.context(token, b).status_code, bodies))
    assert statuses == [200] * len(bodies)
    stats = fresh_emulator.stats()
    assert 2 <= stats["maxInFlightPerMailbox"]["support@contoso.com"] <= 4
    assert stats["throttledByConcurrency"] == 0


def test_the_environment_cannot_replace_the_trust_store(
    make_backend, emulator: EmulatorHandle, monkeypatch
):
    import certifi

    # A CA bundle without the emulator's CA: requests would use it if it could.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    backend = make_backend(emulator)
    response = backend.context(emulator.sso("lee@contoso.com"), _body(emulator))
    assert response.status_code == 200, response.text


def test_verify_false_cannot_switch_verification_off(emulator: EmulatorHandle):
    import requests

    from tandem_mailbox.microsoft.outbound import Session, ssl_context

    untrusting = Session(context=ssl_context(None), timeout=5)  # public roots only
    with pytest.raises(requests.exceptions.SSLError):
        untrusting.get(f"{emulator.url}/_emulator/stats", verify=False)
    with pytest.raises(requests.exceptions.InvalidURL):
        untrusting.get("http://127.0.0.1:9/")
