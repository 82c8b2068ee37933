"""No token or secret ever reaches a log line, whoever logs it (us, MSAL, urllib3, werkzeug)."""

from __future__ import annotations

import logging

import pytest

from tandem_mailbox.emulator import seed
from tests.support.api import shared_body
from tests.support.servers import EmulatorHandle


def test_a_whole_flow_logs_no_token_or_secret(
    make_backend, fresh_emulator: EmulatorHandle, caplog: pytest.LogCaptureFixture
):
    backend = make_backend(fresh_emulator)
    token = fresh_emulator.sso("lee@contoso.com")
    item = fresh_emulator.items("support@contoso.com")[0]
    with caplog.at_level(logging.DEBUG):
        assert backend.context(token, shared_body(item["id"], "support@contoso.com")).ok
        fresh_emulator.fault(target="token", aadsts=50076)
        other = fresh_emulator.sso("lee@contoso.com")
        assert (
            backend.context(other, shared_body(item["id"], "support@contoso.com")).status_code
            == 401
        )
        logging.getLogger("tandem.test").warning("leaked %s and Bearer %s", token, other)
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert caplog.records, "the flow should log something"
    assert token not in text and other not in text
    assert token.split(".")[1] not in text
    assert seed.CLIENT_SECRET not in text
    assert "[token]" in text
