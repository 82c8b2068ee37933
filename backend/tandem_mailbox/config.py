"""Settings: the only place that reads the environment. Fails fast, naming the variable."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from dotenv import dotenv_values

from tandem_mailbox.clouds import CLOUDS, Cloud

# The one GUID pattern of the backend; every use is fullmatch (a `$` would match before "\n").
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
HOST_PORT = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")
OFFICE_JS_CDN = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
DEFAULT_SCOPES = "Mail.ReadWrite.Shared Mail.Send.Shared Calendars.ReadWrite.Shared User.Read"
# Scopes Entra ID adds by itself; they are not qualified with a resource.
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
# Office's client ids that appear in SSO tokens as azp / appid (see DESIGN.md).
OFFICE_CLIENT_IDS = frozenset(
    {
        "d3590ed6-52b3-4102-aeff-aad2292ab01c",  # Microsoft Office (desktop)
        "93d53678-613d-4013-afc1-62e9e444a0a5",  # Office on the web
        "bc59ab01-8403-45c6-8796-ac3ef710b3e3",  # Outlook on the web
    }
)


class ConfigError(Exception):
    """A missing or contradictory setting; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything the backend is configured with, validated."""

    client_id: str
    tenant_id: str
    client_secret: str | None = field(repr=False)
    client_cert: Path | None
    client_key: Path | None
    allowed_tenants: frozenset[str] | None  # None: any tenant, set explicitly with "*"
    cloud: Cloud
    authority_host: str
    graph_url: str
    public_url: str
    scopes: tuple[str, ...]
    ca_bundle: Path | None
    extra_rest_hosts: frozenset[str]
    office_clients_only: bool = False
    office_js_url: str = OFFICE_JS_CDN
    http_timeout: float = 10.0
    jwks_cooldown: float = 30.0
    metrics_token: str | None = field(default=None, repr=False)
    log_format: str = "text"
    # Serving and deployment (ops): CORS, proxy hops, in-process TLS.
    allowed_origins: tuple[str, ...] = ()
    trust_proxy: int = 0
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Shared state for several workers (the block at the end of this module).
    redis_url: str | None = field(default=None, repr=False)  # may carry a password
    cache_keys: tuple[str, ...] = field(default=(), repr=False)
    workers: int = 1
    single_worker_state: bool = False
    # The team's record (store/): a SQLAlchemy URL, SQLite under TANDEM_DATA_DIR by default.
    database_url: str = field(default="sqlite:///data/tandem.db", repr=False)  # may hold a password

    @property
    def action_budget(self) -> float:
        """Seconds an action's Graph calls may take in all: a delegate's reply through /me is
        six calls, each bounded by TANDEM_HTTP_TIMEOUT."""
        return 6 * self.http_timeout

    @property
    def longest_request(self) -> float:
        """The most any request may take: an action's budget, the on-behalf-of exchange before
        it (MSAL retries once) and a margin. `tandem serve`'s graceful stop waits this long,
        and the pane waits longer."""
        return self.action_budget + 2 * self.http_timeout + 5

    @property
    def multi_tenant(self) -> bool:
        """True when the app accepts people of other tenants than its home."""
        return self.tenant_id.lower() == "organizations"

    @property
    def app_id_uri(self) -> str:
        """The Application ID URI: the audience of v1 SSO tokens."""
        return f"api://{urlsplit(self.public_url).netloc}/{self.client_id}"

    @classmethod
    def load(cls, overrides: Mapping[str, str] | None = None) -> Settings:
        """Settings from the environment (and .env when no overrides are given)."""
        env: dict[str, str | None] = {}
        if overrides is None:
            env.update(dotenv_values(".env"))
        env.update(os.environ)
        env.update(overrides or {})
        return cls.from_mapping({k: v for k, v in env.items() if v is not None})

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> Settings:
        """Validate a mapping of TANDEM_* variables."""

        def get(name: str, default: str = "") -> str:
            value = env.get(name)
            return default if value is None or not str(value).strip() else str(value).strip()

        client_id = get("TANDEM_CLIENT_ID")
        if not client_id:
            raise ConfigError("TANDEM_CLIENT_ID is required: the add-in's Entra app (client) id")
        if not GUID.fullmatch(client_id):
            raise ConfigError("TANDEM_CLIENT_ID must be a GUID")

        tenant_id = get("TANDEM_TENANT_ID")
        if not tenant_id:
            raise ConfigError("TANDEM_TENANT_ID is required: the home tenant id (a GUID)")
        if not (GUID.fullmatch(tenant_id) or tenant_id.lower() == "organizations"):
            raise ConfigError("TANDEM_TENANT_ID must be a GUID or 'organizations'")
        tenant_id = tenant_id.lower()

        secret = get("TANDEM_CLIENT_SECRET") or None
        cert = get("TANDEM_CLIENT_CERT") or None
        key = get("TANDEM_CLIENT_KEY") or None
        if secret and (cert or key):
            raise ConfigError(
                "TANDEM_CLIENT_SECRET and TANDEM_CLIENT_CERT are both set: choose one credential"
            )
        if not secret and not (cert or key):
            raise ConfigError("TANDEM_CLIENT_SECRET or TANDEM_CLIENT_CERT/KEY is required")
        if (cert or key) and not (cert and key):
            raise ConfigError("TANDEM_CLIENT_CERT and TANDEM_CLIENT_KEY must be set together")
        for name, value in (("TANDEM_CLIENT_CERT", cert), ("TANDEM_CLIENT_KEY", key)):
            if value and not Path(value).is_file():
                raise ConfigError(f"{name} names a file that does not exist: {value}")

        allowed_raw = get("TANDEM_ALLOWED_TENANTS")
        allowed: frozenset[str] | None
        if allowed_raw == "*":
            allowed = None
        elif allowed_raw:
            entries = [t.strip().lower() for t in allowed_raw.split(",") if t.strip()]
            bad = [t for t in entries if not GUID.fullmatch(t)]
            if bad:
                raise ConfigError(f"TANDEM_ALLOWED_TENANTS holds a non-GUID entry: {bad[0]}")
            allowed = frozenset(entries)
        elif tenant_id == "organizations":
            raise ConfigError(
                "TANDEM_ALLOWED_TENANTS must be set when TANDEM_TENANT_ID is 'organizations' "
                "(a list of tenant ids, or '*' to accept any tenant)"
            )
        else:
            allowed = frozenset({tenant_id})

        cloud_name = get("TANDEM_CLOUD", "public").lower()
        if cloud_name not in CLOUDS:
            raise ConfigError(f"TANDEM_CLOUD must be one of {', '.join(CLOUDS)}")
        cloud = CLOUDS[cloud_name]

        authority_host = get("TANDEM_AUTHORITY_HOST", cloud.authority_host).lower()
        if not HOST_PORT.fullmatch(authority_host):
            raise ConfigError("TANDEM_AUTHORITY_HOST must be a host name, optionally with :port")

        graph_url = get("TANDEM_GRAPH_URL", cloud.graph_url).rstrip("/")
        parts = urlsplit(graph_url)
        if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
            raise ConfigError("TANDEM_GRAPH_URL must be an https URL such as https://host/v1.0")

        public_url = get("TANDEM_PUBLIC_URL", "https://localhost:3000").rstrip("/")
        parts = urlsplit(public_url)
        if parts.scheme != "https" or not parts.netloc or parts.path:
            raise ConfigError("TANDEM_PUBLIC_URL must be an https origin such as https://host")

        scopes = []
        for scope in get("TANDEM_SCOPES", DEFAULT_SCOPES).split():
            if "," in scope:
                raise ConfigError("TANDEM_SCOPES is space-separated, not comma-separated")
            if scope in OIDC_SCOPES or "://" in scope:
                scopes.append(scope)
            else:
                scopes.append(cloud.graph_resource + scope)
        if not scopes:
            raise ConfigError("TANDEM_SCOPES must name at least one Graph scope")

        ca_raw = get("TANDEM_CA_BUNDLE")
        ca_bundle = Path(ca_raw) if ca_raw else None
        if ca_bundle and not ca_bundle.is_file():
            raise ConfigError(f"TANDEM_CA_BUNDLE names a file that does not exist: {ca_raw}")

        extra = []
        for entry in get("TANDEM_EXTRA_REST_HOSTS").split(","):
            entry = entry.strip().lower()
            if not entry:
                continue
            if not HOST_PORT.fullmatch(entry):
                raise ConfigError(f"TANDEM_EXTRA_REST_HOSTS holds a bad entry: {entry}")
            extra.append(entry)

        office_only = get("TANDEM_OFFICE_CLIENTS_ONLY", "false").lower()
        if office_only not in {"true", "false", "1", "0"}:
            raise ConfigError("TANDEM_OFFICE_CLIENTS_ONLY must be true or false")

        office_js = get("TANDEM_OFFICE_JS_URL", OFFICE_JS_CDN)
        if not (office_js.startswith("https://") or office_js.startswith("/")):
            raise ConfigError("TANDEM_OFFICE_JS_URL must be an https URL or a path of this server")

        try:
            timeout = float(get("TANDEM_HTTP_TIMEOUT", "10"))
        except ValueError:
            raise ConfigError("TANDEM_HTTP_TIMEOUT must be a number of seconds") from None
        if not 0 < timeout <= 120:
            raise ConfigError("TANDEM_HTTP_TIMEOUT must be between 0 and 120 seconds")

        metrics_token = get("TANDEM_METRICS_TOKEN") or None
        if metrics_token and (len(metrics_token) < 16 or not metrics_token.isascii()):
            raise ConfigError("TANDEM_METRICS_TOKEN must be at least 16 ASCII characters")
        log_format = get("TANDEM_LOG_FORMAT", "text").lower()
        if log_format not in ("json", "text"):
            raise ConfigError("TANDEM_LOG_FORMAT must be json or text")

        return cls(
            client_id=client_id.lower(),
            tenant_id=tenant_id,
            client_secret=secret,
            client_cert=Path(cert) if cert else None,
            client_key=Path(key) if key else None,
            allowed_tenants=allowed,
            cloud=cloud,
            authority_host=authority_host,
            graph_url=graph_url,
            public_url=public_url,
            scopes=tuple(scopes),
            ca_bundle=ca_bundle,
            extra_rest_hosts=frozenset(extra),
            office_clients_only=office_only in {"true", "1"},
            office_js_url=office_js,
            http_timeout=timeout,
            metrics_token=metrics_token,
            log_format=log_format,
            **_serving_settings(get),
            **shared_state(env),
            database_url=database_url(get),
        )


def _serving_settings(get: Callable[[str], str]) -> dict[str, Any]:
    """CORS origins, proxy hops and in-process TLS files: how the app is served."""
    origins = []
    for entry in get("TANDEM_ALLOWED_ORIGINS").split(","):
        entry = entry.strip().rstrip("/")
        if not entry:
            continue
        try:
            parts = urlsplit(entry)
        except ValueError:  # a '[' that does not open an IPv6 literal
            parts = urlsplit("invalid:")
        # An origin is scheme://host[:port] and nothing else (RFC 6454), matched exactly: no
        # wildcard, no pattern. flask-cors reads any string holding '*', '$', '(' ... as an
        # unanchored regex, so 'https://*.contoso.com' would allow
        # 'https://xcontoso.com.attacker.net'; the API carries bearer tokens, so each origin
        # that may call it is listed by name.
        if (
            parts.scheme != "https"
            or not HOST_PORT.fullmatch(parts.netloc)
            or parts.path
            or parts.query
            or parts.fragment
        ):
            raise ConfigError(
                f"TANDEM_ALLOWED_ORIGINS holds {entry!r}: each entry must be an exact https "
                "origin such as https://host[:port] (no wildcard: list each host), "
                "comma-separated"
            )
        origins.append(f"https://{parts.netloc.lower()}")

    hops_raw = get("TANDEM_TRUST_PROXY") or "0"
    if not hops_raw.isdigit() or int(hops_raw) > 5:
        raise ConfigError(
            "TANDEM_TRUST_PROXY must be the number of proxy hops in front of the app (0-5)"
        )

    tls_cert, tls_key = get("TANDEM_TLS_CERT") or None, get("TANDEM_TLS_KEY") or None
    if bool(tls_cert) != bool(tls_key):
        raise ConfigError("TANDEM_TLS_CERT and TANDEM_TLS_KEY must be set together")
    for name, value in (("TANDEM_TLS_CERT", tls_cert), ("TANDEM_TLS_KEY", tls_key)):
        if value and not Path(value).is_file():
            raise ConfigError(f"{name} names a file that does not exist: {value}")

    return {
        "allowed_origins": tuple(origins),
        "trust_proxy": int(hops_raw),
        "tls_cert": Path(tls_cert) if tls_cert else None,
        "tls_key": Path(tls_key) if tls_key else None,
    }


# -- shared state: Redis for several workers -------------------------------------------------
FERNET_HOWTO = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


def shared_state(env: Mapping[str, str]) -> dict[str, Any]:
    """TANDEM_REDIS_URL, TANDEM_CACHE_KEY and the worker count, checked against each other.

    The worker count comes from TANDEM_WORKERS (which `tandem serve --workers N` sets), else
    WEB_CONCURRENCY (gunicorn's own default for `-w`); `gunicorn -w N` on the command line
    reaches no setting, so create_app also checks gunicorn's `wsgi.multiprocess` per request.
    """

    def get(name: str) -> str:
        return str(env.get(name) or "").strip()

    redis_url = get("TANDEM_REDIS_URL") or None
    if redis_url:
        parts = urlsplit(redis_url)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ConfigError(
                "TANDEM_REDIS_URL must be a redis:// or rediss:// URL such as redis://host:6379/0"
            )
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when it is read
        except ValueError:
            raise ConfigError("TANDEM_REDIS_URL has a port that is not a number") from None

    cache_keys = tuple(k.strip() for k in get("TANDEM_CACHE_KEY").split(",") if k.strip())
    if redis_url and not cache_keys:
        raise ConfigError(
            "TANDEM_CACHE_KEY is required with TANDEM_REDIS_URL: it encrypts the on-behalf-of "
            f"tokens kept in Redis; make one with {FERNET_HOWTO}"
        )
    for key in cache_keys:
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ConfigError(
                f"TANDEM_CACHE_KEY must be Fernet keys (comma-separated); make one with "
                f"{FERNET_HOWTO}"
            ) from None

    single = get("TANDEM_SINGLE_WORKER_STATE").lower() or "false"
    if single not in {"true", "false", "1", "0"}:
        raise ConfigError("TANDEM_SINGLE_WORKER_STATE must be true or false")

    source = "TANDEM_WORKERS" if get("TANDEM_WORKERS") else "WEB_CONCURRENCY"
    raw = get(source) or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{source} must be a whole number of workers, 1 or more")
    workers = int(raw)
    if workers > 1 and not redis_url and single not in {"true", "1"}:
        raise ConfigError(
            f"{source} is {workers} but TANDEM_REDIS_URL is not set: each worker would keep its "
            "own item locks, mailbox slots and token cache (two could both grant one claim); "
            "set TANDEM_REDIS_URL, or TANDEM_SINGLE_WORKER_STATE=true to accept that"
        )
    return {
        "redis_url": redis_url,
        "cache_keys": cache_keys,
        "workers": workers,
        "single_worker_state": single in {"true", "1"},
    }


DATABASE_SCHEMES = ("sqlite", "postgresql+psycopg")


def database_url(get: Callable[[str], str]) -> str:
    """TANDEM_DATABASE_URL (SQLite or PostgreSQL through psycopg 3), else the SQLite file
    tandem.db under TANDEM_DATA_DIR (default ./data)."""
    url = get("TANDEM_DATABASE_URL")
    if not url:
        data_dir = Path(get("TANDEM_DATA_DIR") or "data").expanduser().resolve()
        return f"sqlite:///{data_dir / 'tandem.db'}"
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "postgresql":  # the driver Tandem ships with: psycopg 3
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if scheme not in DATABASE_SCHEMES:
        raise ConfigError(
            "TANDEM_DATABASE_URL must be sqlite:///path/to/file.db or "
            "postgresql+psycopg://user:password@host:5432/database"
        )
    if scheme == "sqlite" and url in ("sqlite://", "sqlite:///:memory:"):
        raise ConfigError(
            "TANDEM_DATABASE_URL may not be an in-memory SQLite database: the team's record "
            "would vanish with the process; give a file, sqlite:///path/to/file.db"
        )
    return url
