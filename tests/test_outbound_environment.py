"""The outbound session reads the environment's proxy settings once per origin, and still obeys
them: HTTPS_PROXY for Entra ID and Graph, NO_PROXY for the hosts it names."""

from __future__ import annotations

import pytest

from backend.outbound import Session, ssl_context


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
