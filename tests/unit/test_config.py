"""Settings: a missing or contradictory variable stops the server with a message naming it."""

from __future__ import annotations

import pytest

from tandem_mailbox.app import create_app
from tandem_mailbox.config import ConfigError, Settings

GOOD = {
    "TANDEM_CLIENT_ID": "6f1e9a3c-2b7d-4e58-9c41-0d3a5b8e7f26",
    "TANDEM_CLIENT_SECRET": "a-secret-value",
    "TANDEM_TENANT_ID": "9188040d-6c67-4c5b-b112-36a304b66dad",
}


def settings(**changes: str | None) -> Settings:
    """Settings from GOOD with some variables changed (None removes one)."""
    env = dict(GOOD)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return Settings.from_mapping(env)


def test_defaults_are_the_public_cloud_and_fail_closed():
    s = settings()
    assert s.cloud.name == "public"
    assert s.authority_host == "login.microsoftonline.com"
    assert s.graph_url == "https://graph.microsoft.com/v1.0"
    assert s.allowed_tenants == frozenset({GOOD["TANDEM_TENANT_ID"]})
    assert s.public_url == "https://localhost:3000"
    assert s.app_id_uri == f"api://localhost:3000/{GOOD['TANDEM_CLIENT_ID']}"
    assert s.scopes == (
        "https://graph.microsoft.com/Mail.ReadWrite.Shared",
        "https://graph.microsoft.com/Mail.Send.Shared",
        "https://graph.microsoft.com/Calendars.ReadWrite.Shared",
        "https://graph.microsoft.com/User.Read",
    )
    assert "a-secret-value" not in repr(s)


@pytest.mark.parametrize(
    ("cloud", "authority", "graph", "rest_host"),
    [
        (
            "usgov",
            "login.microsoftonline.us",
            "https://graph.microsoft.us/v1.0",
            "outlook.office365.us",
        ),
        (
            "usgov-dod",
            "login.microsoftonline.us",
            "https://dod-graph.microsoft.us/v1.0",
            "webmail.apps.mil",
        ),
        (
            "china",
            "login.partner.microsoftonline.cn",
            "https://microsoftgraph.chinacloudapi.cn/v1.0",
            "partner.outlook.cn",
        ),
    ],
)
def test_sovereign_clouds(cloud: str, authority: str, graph: str, rest_host: str):
    s = settings(TANDEM_CLOUD=cloud)
    assert s.authority_host == authority
    assert s.graph_url == graph
    assert rest_host in s.cloud.rest_hosts
    resource = graph.removesuffix("/v1.0") + "/"
    assert all(scope.startswith(resource) for scope in s.scopes)


def test_overrides_and_lists():
    s = settings(
        TANDEM_AUTHORITY_HOST="localhost:3001",
        TANDEM_GRAPH_URL="https://localhost:3001/v1.0/",
        TANDEM_EXTRA_REST_HOSTS=" mail.example:8443 , Other.Example ",
        TANDEM_SCOPES="Mail.Read openid https://graph.microsoft.com/User.Read",
    )
    assert s.authority_host == "localhost:3001"
    assert s.graph_url == "https://localhost:3001/v1.0"
    assert s.extra_rest_hosts == frozenset({"mail.example:8443", "other.example"})
    assert s.scopes == (
        "https://graph.microsoft.com/Mail.Read",
        "openid",
        "https://graph.microsoft.com/User.Read",
    )


def test_multi_tenant_lists_and_star():
    s = settings(
        TANDEM_TENANT_ID="organizations",
        TANDEM_ALLOWED_TENANTS="9188040d-6c67-4c5b-b112-36a304b66dad, "
        "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
    )
    assert s.multi_tenant
    assert "72f988bf-86f1-41af-91ab-2d7cd011db47" in s.allowed_tenants
    assert (
        settings(TANDEM_TENANT_ID="organizations", TANDEM_ALLOWED_TENANTS="*").allowed_tenants
        is None
    )


@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"TANDEM_CLIENT_ID": None}, "TANDEM_CLIENT_ID"),
        ({"TANDEM_CLIENT_ID": "tandem"}, "TANDEM_CLIENT_ID"),
        ({"TANDEM_TENANT_ID": None}, "TANDEM_TENANT_ID"),
        ({"TANDEM_TENANT_ID": "common"}, "TANDEM_TENANT_ID"),
        ({"TANDEM_TENANT_ID": "organizations"}, "TANDEM_ALLOWED_TENANTS"),
        ({"TANDEM_ALLOWED_TENANTS": "contoso.com"}, "TANDEM_ALLOWED_TENANTS"),
        ({"TANDEM_CLIENT_SECRET": None}, "TANDEM_CLIENT_SECRET"),
        (
            {
                "TANDEM_CLIENT_CERT": "/nonexistent/cert.pem",
                "TANDEM_CLIENT_KEY": "/nonexistent/k.pem",
            },
            "TANDEM_CLIENT_SECRET",
        ),
        (
            {"TANDEM_CLIENT_SECRET": None, "TANDEM_CLIENT_CERT": "/nonexistent/cert.pem"},
            "TANDEM_CLIENT_KEY",
        ),
        (
            {
                "TANDEM_CLIENT_SECRET": None,
                "TANDEM_CLIENT_CERT": "/nonexistent/cert.pem",
                "TANDEM_CLIENT_KEY": "/nonexistent/key.pem",
            },
            "TANDEM_CLIENT_CERT",
        ),
        ({"TANDEM_CLOUD": "mars"}, "TANDEM_CLOUD"),
        ({"TANDEM_AUTHORITY_HOST": "https://login.example"}, "TANDEM_AUTHORITY_HOST"),
        ({"TANDEM_GRAPH_URL": "http://graph.example/v1.0"}, "TANDEM_GRAPH_URL"),
        ({"TANDEM_PUBLIC_URL": "http://localhost:3000"}, "TANDEM_PUBLIC_URL"),
        ({"TANDEM_PUBLIC_URL": "https://localhost:3000/pane"}, "TANDEM_PUBLIC_URL"),
        ({"TANDEM_SCOPES": "Mail.Read,User.Read"}, "TANDEM_SCOPES"),
        ({"TANDEM_CA_BUNDLE": "/nonexistent/ca.pem"}, "TANDEM_CA_BUNDLE"),
        ({"TANDEM_EXTRA_REST_HOSTS": "https://mail.example"}, "TANDEM_EXTRA_REST_HOSTS"),
        ({"TANDEM_HTTP_TIMEOUT": "soon"}, "TANDEM_HTTP_TIMEOUT"),
        ({"TANDEM_OFFICE_CLIENTS_ONLY": "maybe"}, "TANDEM_OFFICE_CLIENTS_ONLY"),
    ],
)
def test_bad_settings_name_the_variable(changes: dict[str, str | None], variable: str):
    with pytest.raises(ConfigError, match=variable):
        settings(**changes)


# -- issue 15, defect 5: TANDEM_ALLOWED_ORIGINS holds exact origins, never a pattern -------------
@pytest.mark.parametrize(
    "entry",
    [
        "https://*.contoso.com",  # flask-cors made it the regex https:/*.contoso.com, unanchored
        "https://tandem.contoso.com$",
        "https://(tandem|x).contoso.com",
        "https://[a-z].contoso.com",
        "https://user@tandem.contoso.com",
        "https://tandem.contoso.com#pane",
    ],
)
def test_allowed_origins_refuse_wildcards_and_patterns(entry: str):
    with pytest.raises(ConfigError, match="TANDEM_ALLOWED_ORIGINS"):
        settings(TANDEM_ALLOWED_ORIGINS=entry)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://tandem.contoso.com", True),
        ("https://TANDEM.contoso.com", True),  # host names are case-insensitive (RFC 4343)
        ("https://xtandem.contoso.com", False),
        ("https://tandem.contoso.com.attacker.net", False),
        ("https://tandem.contoso.com:8443", False),
        ("https://xcontoso.com.attacker.net", False),
    ],
)
def test_cors_matches_each_origin_exactly_whatever_the_settings_hold(origin: str, allowed: bool):
    # Settings built in code (not through Settings.load) may hold anything: create_app still
    # hands flask-cors exact origins, so a '*' or '.' in them is never a pattern.
    from dataclasses import replace

    base = settings(TANDEM_ALLOWED_ORIGINS="https://tandem.contoso.com")
    for origins in (base.allowed_origins, ("https://*.contoso.com", "https://tandem.contoso.com")):
        client = create_app(replace(base, allowed_origins=origins)).test_client()
        answer = client.options(
            "/api/items/context",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        expected = origin if allowed else None
        assert answer.headers.get("Access-Control-Allow-Origin") == expected, origins


def test_create_app_reads_the_environment(monkeypatch: pytest.MonkeyPatch):
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    app = create_app()
    assert app.extensions["tandem"].settings.client_id == GOOD["TANDEM_CLIENT_ID"]


def test_create_app_mapping_overrides_the_environment(monkeypatch: pytest.MonkeyPatch):
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    app = create_app({"TANDEM_CLOUD": "usgov"})
    assert app.extensions["tandem"].settings.graph_url == "https://graph.microsoft.us/v1.0"


def test_env_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path):
    lines = [f'{name}="{value}"' for name, value in GOOD.items()]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    assert Settings.load().tenant_id == GOOD["TANDEM_TENANT_ID"]
