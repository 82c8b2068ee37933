"""A token that passed validation is remembered until its `exp`: the next request with it is
not verified again (counted by /metrics), and it still expires, and still ends when the key
that signed it is no longer published."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from tests.support.api import shared_body
from tests.support.clock import FakeClock
from tests.support.servers import EmulatorHandle

METRICS_TOKEN = "metrics-token-for-the-tests-0123456789"
SUPPORT = "support@contoso.com"


def checked(backend) -> dict[str, float]:
    """tandem_sso_tokens_total by result, now."""
    text = backend.http.get(
        f"{backend.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    ).text
    return {
        s.labels["result"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "tandem_sso_tokens_total"
    }


def test_a_repeated_token_is_verified_once(make_backend, emulator: EmulatorHandle):
    backend = make_backend(emulator, TANDEM_METRICS_TOKEN=METRICS_TOKEN)
    body = shared_body(emulator.items(SUPPORT)[0]["id"], SUPPORT)
    token = emulator.sso("lee@contoso.com")
    before = checked(backend)
    for _ in range(3):
        assert backend.context(token, body).status_code == 200
    assert backend.context(emulator.sso("lee@contoso.com"), body).status_code == 200
    after = checked(backend)
    assert after.get("verified", 0) - before.get("verified", 0) == 2  # each token once
    assert after.get("remembered", 0) - before.get("remembered", 0) == 2


def test_a_remembered_token_still_expires(
    make_backend, emulator: EmulatorHandle, fake_clock: FakeClock
):
    backend = make_backend(emulator, clock=fake_clock)
    body = shared_body(emulator.items(SUPPORT)[0]["id"], SUPPORT)
    token = emulator.sso("lee@contoso.com")
    assert backend.context(token, body).status_code == 200
    claims = json.loads(_segment(token.split(".")[1]))
    fake_clock.now = claims["exp"] + 61  # past the leeway
    answer = backend.context(token, body)
    assert answer.status_code == 401 and answer.json()["code"] == "token_expired", answer.text


def _segment(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
