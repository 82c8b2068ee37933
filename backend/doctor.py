"""`tandem doctor`: checks a deployment, one line per check, each failure with its fix.

In order: the settings; the client credential and the TLS files (expiry, key match, names);
both manifests; Entra ID's discovery document and signing keys; the Graph URL; Redis when
TANDEM_REDIS_URL is set (a PING); and, given an SSO token, a real validation and on-behalf-of
exchange. A check that needs an earlier one that failed is skipped, not failed twice. The
exit status is 1 when any check failed.
"""

from __future__ import annotations

import datetime as dt
import re
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from . import manifest
from .config import ConfigError, Settings
from .errors import ApiError
from .outbound import Session, ssl_context

SOON = dt.timedelta(days=30)
# The fix for a setting Settings refused, by the variable its message names first.
FIXES = {
    "TANDEM_CLIENT_ID": "set it to the Application (client) ID of the app registration "
    "(tandem register prints it)",
    "TANDEM_TENANT_ID": "set it to the Directory (tenant) ID, a GUID, or 'organizations'",
    "TANDEM_CLIENT_SECRET": "set one credential: a client secret from the app registration, or "
    "TANDEM_CLIENT_CERT and TANDEM_CLIENT_KEY",
    "TANDEM_CLIENT_CERT": "give the PEM certificate uploaded to the app registration",
    "TANDEM_CLIENT_KEY": "give the unencrypted PEM key of TANDEM_CLIENT_CERT",
    "TANDEM_ALLOWED_TENANTS": "list the tenant ids (GUIDs) whose people may use the add-in, or *",
    "TANDEM_CLOUD": "use public, usgov, usgov-dod or china",
    "TANDEM_AUTHORITY_HOST": "leave it unset for the cloud's Entra ID, or give host[:port]",
    "TANDEM_GRAPH_URL": "leave it unset for the cloud's Graph, or give https://host/v1.0",
    "TANDEM_PUBLIC_URL": "give the https origin Outlook loads the pane from, e.g. "
    "https://tandem.contoso.com",
    "TANDEM_SCOPES": "space-separated Graph scopes, e.g. 'Mail.ReadWrite.Shared User.Read'",
    "TANDEM_CA_BUNDLE": "give the PEM file of the CA that signs the servers' certificates, or "
    "leave it unset for the public roots",
    "TANDEM_EXTRA_REST_HOSTS": "comma-separated host or host:port entries",
    "TANDEM_OFFICE_CLIENTS_ONLY": "true or false",
    "TANDEM_OFFICE_JS_URL": "an https URL or a path of this server",
    "TANDEM_HTTP_TIMEOUT": "seconds, e.g. 10",
    "TANDEM_ALLOWED_ORIGINS": "comma-separated https origins, or unset to allow none",
    "TANDEM_TRUST_PROXY": "the number of proxies in front of the app (0 without one)",
    "TANDEM_TLS_CERT": "give the PEM certificate chain of the public host, with TANDEM_TLS_KEY",
    "TANDEM_TLS_KEY": "give the unencrypted PEM key of TANDEM_TLS_CERT",
    "TANDEM_REDIS_URL": "a redis:// or rediss:// URL of a reachable Redis",
}
# What a refused test exchange means, by Tandem's error code.
EXCHANGE_FIXES = {
    "invalid_token": "the token is not for this app and tenant: check TANDEM_CLIENT_ID, "
    "TANDEM_TENANT_ID and TANDEM_ALLOWED_TENANTS, and that the token is an SSO token for "
    "api://<public host>/<client id>/access_as_user",
    "token_expired": "get a fresh SSO token (they last about an hour)",
    "consent_required": "an administrator grants consent at the URL tandem register printed",
    "interaction_required": "the person must complete MFA or a Conditional Access step",
    "server_misconfigured": "Entra ID refused the app's own credential: renew "
    "TANDEM_CLIENT_SECRET (or TANDEM_CLIENT_CERT/KEY) in the app registration",
    "throttled": "try again later",
    "upstream_unavailable": "Entra ID did not answer: check TANDEM_AUTHORITY_HOST and the network",
}


@dataclass
class Report:
    """The lines printed, and whether any check failed."""

    out: TextIO
    failed: bool = False

    def ok(self, check: str, detail: str) -> None:
        """A check that passed."""
        print(f"ok    {check}: {detail}", file=self.out, flush=True)

    def fail(self, check: str, detail: str, fix: str) -> None:
        """A check that failed, and how to fix it."""
        self.failed = True
        print(f"FAIL  {check}: {detail} -- fix: {fix}", file=self.out, flush=True)

    def warn(self, check: str, detail: str) -> None:
        """Worth knowing, not a failure."""
        print(f"warn  {check}: {detail}", file=self.out, flush=True)

    def skip(self, check: str, why: str) -> None:
        """A check that could not run."""
        print(f"skip  {check}: {why}", file=self.out, flush=True)


def _variable(message: str) -> str:
    found = re.search(r"TANDEM_[A-Z_]+", message)
    return found.group(0) if found else ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _pair(
    report: Report,
    check: str,
    cert_path: Path,
    key_path: Path,
    names: tuple[str, str],
    host: str | None = None,
) -> None:
    """A certificate and its key: readable, matching, valid now and for a while, and (for
    TLS) naming the public host."""
    cert_var, key_var = names
    try:
        chain = x509.load_pem_x509_certificates(cert_path.read_bytes())
        cert = chain[0]
    except (OSError, ValueError) as error:
        report.fail(
            check, f"{cert_var} ({cert_path}) is not a PEM certificate: {error}", FIXES[cert_var]
        )
        return
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        report.fail(
            check, f"{key_var} ({key_path}) is not an unencrypted PEM key: {error}", FIXES[key_var]
        )
        return
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if cert.public_key().public_bytes(der, spki) != key.public_key().public_bytes(der, spki):
        report.fail(check, f"{key_var} is not the key of {cert_var}", FIXES[key_var])
        return
    ends = cert.not_valid_after_utc
    if ends <= _now() or cert.not_valid_before_utc > _now():
        report.fail(
            check,
            f"{cert_var} is not valid now (valid until {ends:%Y-%m-%d})",
            f"renew it, then update {cert_var}",
        )
        return
    if host is not None and not _names(cert, host):
        report.fail(
            check,
            f"{cert_var} does not name {host}",
            f"a certificate for {host} (TANDEM_PUBLIC_URL's host)",
        )
        return
    detail = f"{cert_var} valid until {ends:%Y-%m-%d}, key matches"
    if ends - _now() < SOON:
        report.warn(check, f"{detail}, but it expires in {(ends - _now()).days} days: renew it")
    else:
        report.ok(check, detail)


def _names(cert: x509.Certificate, host: str) -> bool:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        address = ip_address(host)
        return address in sans.get_values_for_type(x509.IPAddress)
    except ValueError:
        pass
    for name in sans.get_values_for_type(x509.DNSName):
        name = name.lower()
        if name == host or (name.startswith("*.") and host.split(".", 1)[-1] == name[2:]):
            return True
    return False


def _get(
    report: Report, session: Session, check: str, url: str, variable: str
) -> requests.Response | None:
    """GET a URL; a failure names the setting that most likely points at the wrong place."""
    try:
        return session.get(url, timeout=(3.05, 10))
    except requests.exceptions.SSLError as error:
        report.fail(
            check,
            f"TLS to {url} failed: {str(error)[:160]}",
            "TANDEM_CA_BUNDLE: trust the CA that signs that server's certificate",
        )
    except requests.RequestException as error:
        report.fail(
            check,
            f"{url} does not answer: {type(error).__name__}",
            f"{variable}: {FIXES[variable]}",
        )
    return None


def run(
    *,
    token: str | None = None,
    out: TextIO = sys.stdout,
    load: Callable[[], Settings] = Settings.load,
) -> int:
    """Run every check against the environment's settings; answers the exit status."""
    report = Report(out)
    try:
        settings = load()
    except ConfigError as error:
        variable = _variable(str(error))
        report.fail("settings", str(error), FIXES.get(variable, "see the README's Configuration"))
        report.skip("everything else", "the settings must load first")
        return 1
    report.ok(
        "settings",
        f"client {settings.client_id}, tenant {settings.tenant_id}, "
        f"public URL {settings.public_url}",
    )

    if settings.client_cert and settings.client_key:
        _pair(
            report,
            "client certificate",
            settings.client_cert,
            settings.client_key,
            ("TANDEM_CLIENT_CERT", "TANDEM_CLIENT_KEY"),
        )
    else:
        report.ok(
            "client credential",
            "a client secret (its expiry is shown in the app "
            "registration's Certificates & secrets)",
        )
    host = urlsplit(settings.public_url).hostname or ""
    if settings.tls_cert and settings.tls_key:
        _pair(
            report,
            "TLS certificate",
            settings.tls_cert,
            settings.tls_key,
            ("TANDEM_TLS_CERT", "TANDEM_TLS_KEY"),
            host=host,
        )
    elif settings.trust_proxy:
        report.ok("TLS", f"terminated by the proxy ({settings.trust_proxy} trusted hop(s))")
    else:
        report.warn(
            "TLS",
            "no TANDEM_TLS_CERT: tandem serve uses the development certificate, on loopback only",
        )

    scopes = list(settings.scopes)
    problems = manifest.validate(
        manifest.render(settings.client_id, settings.public_url, scopes),
        client_id=settings.client_id,
        public_url=settings.public_url,
    )
    problems += manifest.validate_json(
        manifest.render_json(settings.client_id, settings.public_url, scopes),
        client_id=settings.client_id,
        public_url=settings.public_url,
        schema_doc=manifest.schema(),
    )
    if problems:
        report.fail("manifests", "; ".join(problems), "see the named rules in backend/manifest.py")
    else:
        schema = "" if manifest.schema() else " (JSON schema not installed here)"
        report.ok("manifests", f"manifest.xml and manifest.json pass their rules{schema}")

    session = Session(context=ssl_context(settings.ca_bundle), timeout=(3.05, 10))
    tenant = "organizations" if settings.multi_tenant else settings.tenant_id
    discovery_url = (
        f"https://{settings.authority_host}/{tenant}/v2.0/.well-known/openid-configuration"
    )
    answer = _get(report, session, "Entra ID discovery", discovery_url, "TANDEM_AUTHORITY_HOST")
    jwks_uri = None
    if answer is not None:
        body = _json(answer)
        if answer.status_code == 200 and body.get("jwks_uri"):
            jwks_uri = body["jwks_uri"]
            report.ok("Entra ID discovery", f"issuer {body.get('issuer')}")
        elif "90002" in str(body.get("error_codes", "")) or answer.status_code in (400, 404):
            report.fail(
                "Entra ID discovery",
                f"{settings.authority_host} knows no tenant {tenant} ({answer.status_code})",
                f"TANDEM_TENANT_ID: {FIXES['TANDEM_TENANT_ID']}",
            )
        else:
            report.fail(
                "Entra ID discovery",
                f"{discovery_url} answered {answer.status_code}",
                f"TANDEM_AUTHORITY_HOST: {FIXES['TANDEM_AUTHORITY_HOST']}",
            )
    if jwks_uri is None:
        report.skip("Entra ID signing keys", "no discovery document")
    else:
        keys = _get(report, session, "Entra ID signing keys", jwks_uri, "TANDEM_AUTHORITY_HOST")
        if keys is not None:
            found = [
                k for k in _json(keys).get("keys", []) if k.get("kty") == "RSA" and k.get("kid")
            ]
            if keys.status_code == 200 and found:
                report.ok("Entra ID signing keys", f"{len(found)} RSA key(s) at {jwks_uri}")
            else:
                report.fail(
                    "Entra ID signing keys",
                    f"{jwks_uri} answered {keys.status_code} with {len(found)} RSA keys",
                    "TANDEM_AUTHORITY_HOST: point it at Entra ID",
                )

    graph = _get(report, session, "Graph", f"{settings.graph_url}/organization", "TANDEM_GRAPH_URL")
    if graph is not None:
        code = _json(graph).get("error", {}) if isinstance(_json(graph).get("error"), dict) else {}
        # Without a token Graph answers 401 InvalidAuthenticationToken: that is Graph.
        if graph.status_code == 401 and code.get("code") == "InvalidAuthenticationToken":
            report.ok("Graph", f"{settings.graph_url} answers as Microsoft Graph")
        else:
            report.fail(
                "Graph",
                f"{settings.graph_url}/organization answered {graph.status_code}, not as Graph "
                "does",
                f"TANDEM_GRAPH_URL: {FIXES['TANDEM_GRAPH_URL']}",
            )

    if settings.redis_url:
        _redis(report, settings.redis_url)
    else:
        report.ok("Redis", "not configured: one process keeps its own state (TANDEM_REDIS_URL)")

    if token:
        _exchange(report, settings, token)
    else:
        report.skip("token exchange", "give --token <an SSO token> to try one")
    return 1 if report.failed else 0


def _json(response: requests.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _redis(report: Report, url: str) -> None:
    try:
        import redis
    except ImportError:
        report.fail("Redis", "the redis client is not installed", "pip install 'tandem[prod]'")
        return
    safe = re.sub(r"//[^@/]*@", "//***@", url)  # never print a password
    try:
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        client.ping()
        client.close()
    except (redis.RedisError, OSError, ssl.SSLError) as error:
        report.fail(
            "Redis",
            f"PING to {safe} failed: {type(error).__name__}: {str(error)[:120]}",
            f"TANDEM_REDIS_URL: {FIXES['TANDEM_REDIS_URL']}",
        )
        return
    report.ok("Redis", f"PING to {safe} answered")


def _exchange(report: Report, settings: Settings, token: str) -> None:
    """Validate an SSO token and exchange it on-behalf-of, as a request would."""
    from . import create_app

    tandem = create_app(settings).extensions["tandem"]
    try:
        caller = tandem.validator.caller(f"Bearer {token}")
        tandem.obo.graph_token(caller)
    except ApiError as error:
        report.fail(
            "token exchange",
            f"{error.code}: {error.detail}",
            EXCHANGE_FIXES.get(error.code, "see the operator's log"),
        )
        return
    report.ok(
        "token exchange",
        f"{caller.upn}'s token validated and exchanged for Graph "
        f"({' '.join(s.rsplit('/', 1)[-1] for s in settings.scopes)})",
    )
