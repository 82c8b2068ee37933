"""The outbound session reads the environment's proxy settings once per origin, and still obeys
them (HTTPS_PROXY for Entra ID and Graph, NO_PROXY for the hosts it names); it never reads
~/.netrc, whose credentials would replace the bearer token."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tandem_mailbox.microsoft.outbound import Session, ssl_context


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch) -> Session:
    """A session made where the environment names a proxy and one host that bypasses it."""
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost")
    return Session(context=ssl_context(None), timeout=5)


@pytest.mark.parametrize(
    ("url", "proxy"),
    [
        ("https://graph.microsoft.com/v1.0/users/a%40b/messages/x", "http://proxy.example:3128"),
        ("https://graph.microsoft.com/v1.0/me/messages/y", "http://proxy.example:3128"),
        ("https://login.microsoftonline.com/t/oauth2/v2.0/token", "http://proxy.example:3128"),
        ("https://localhost:3001/v1.0/me", None),
    ],
)
def test_every_request_gets_its_origin_s_proxy(proxied: Session, url: str, proxy: str | None):
    for _ in range(2):  # the first reads the environment, the second the remembered answer
        settings = proxied.merge_environment_settings(url, {}, None, None, None)
        assert settings["proxies"].get("https") == proxy


def test_what_a_caller_changes_is_its_own(proxied: Session):
    url = "https://graph.microsoft.com/v1.0/me"
    first = proxied.merge_environment_settings(url, {}, None, None, None)
    first["proxies"]["https"] = "http://elsewhere.example:1"
    again = proxied.merge_environment_settings(url, {}, None, None, None)
    assert again["proxies"]["https"] == "http://proxy.example:3128"
    explicit = proxied.merge_environment_settings(
        url, {"https": "http://chosen.example:8080"}, None, None, None
    )
    assert explicit["proxies"]["https"] == "http://chosen.example:8080"


def test_a_netrc_entry_never_replaces_the_bearer_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    """requests would read ~/.netrc for every request and use its Basic credentials instead."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine graph.microsoft.com login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    session = Session(context=ssl_context(None), timeout=5)
    request = requests.Request(
        "GET", "https://graph.microsoft.com/v1.0/me", headers={"Authorization": "Bearer abc"}
    )
    assert session.prepare_request(request).headers["Authorization"] == "Bearer abc"
    assert requests.Session().prepare_request(request).headers["Authorization"].startswith("Basic")
