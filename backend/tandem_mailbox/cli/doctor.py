"""`tandem doctor`: checks a deployment, one line per check, each failure with its fix.

In order: the settings; the client certificate's and the TLS files (expiry, key match,
names); both manifests; Entra ID's discovery document and signing keys; the client credential
itself, tried with the client-credentials grant (an app-only token: no person needed); the
Graph URL; Redis when TANDEM_REDIS_URL is set (a PING through the client `tandem serve` uses,
so a rediss:// server signed by TANDEM_CA_BUNDLE's CA is trusted here as there); and, given an
SSO token, a real validation and on-behalf-of exchange. A check that needs an earlier one that
failed is skipped, not failed twice. The exit status is 1 when any check failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tandem_mailbox import manifest
from tandem_mailbox.cli.common import configure_logging
from tandem_mailbox.config import ConfigError, Settings
from tandem_mailbox.errors import ApiError
from tandem_mailbox.microsoft.obo import BAD_CREDENTIALS, credential
from tandem_mailbox.microsoft.outbound import Session, ssl_context
from tandem_mailbox.services import Services

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
# What Entra ID's refusal of the app's own credential means, by AADSTS code (Entra's error code
# reference); the setting each names is obo.BAD_CREDENTIALS'.
CREDENTIAL_FIXES = {
    7000215: "TANDEM_CLIENT_SECRET is not a secret of this app registration: copy the secret's "
    "Value (not its Secret ID) from Certificates & secrets, or add one with "
    "`tandem register --new-secret --env-file .env`",
    7000222: "TANDEM_CLIENT_SECRET has expired: add a new one (tandem register --new-secret) "
    "and set it",
    7000218: "set TANDEM_CLIENT_SECRET, or TANDEM_CLIENT_CERT and TANDEM_CLIENT_KEY",
    700027: "TANDEM_CLIENT_CERT is not a certificate of this app registration: upload it "
    "(tandem register --certificate) or give the one uploaded, with its TANDEM_CLIENT_KEY",
    700024: "TANDEM_CLIENT_CERT: check this machine's clock (the signed assertion is not valid "
    "now)",
    700016: "TANDEM_CLIENT_ID names no application in this tenant: check it and "
    "TANDEM_TENANT_ID, and that an administrator consented in that tenant",
    7000112: "TANDEM_CLIENT_ID: the application is disabled; enable it in Entra ID",
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
) -> bool:
    """A certificate and its key: readable, matching, valid now and for a while, and (for
    TLS) naming the public host. Answers whether they passed."""
    cert_var, key_var = names
    try:
        chain = x509.load_pem_x509_certificates(cert_path.read_bytes())
        cert = chain[0]
    except (OSError, ValueError) as error:
        report.fail(
            check, f"{cert_var} ({cert_path}) is not a PEM certificate: {error}", FIXES[cert_var]
        )
        return False
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        report.fail(
            check, f"{key_var} ({key_path}) is not an unencrypted PEM key: {error}", FIXES[key_var]
        )
        return False
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if cert.public_key().public_bytes(der, spki) != key.public_key().public_bytes(der, spki):
        report.fail(check, f"{key_var} is not the key of {cert_var}", FIXES[key_var])
        return False
    ends = cert.not_valid_after_utc
    if ends <= _now() or cert.not_valid_before_utc > _now():
        report.fail(
            check,
            f"{cert_var} is not valid now (valid until {ends:%Y-%m-%d})",
            f"renew it, then update {cert_var}",
        )
        return False
    if host is not None and not _names(cert, host):
        report.fail(
            check,
            f"{cert_var} does not name {host}",
            f"a certificate for {host} (TANDEM_PUBLIC_URL's host)",
        )
        return False
    detail = f"{cert_var} valid until {ends:%Y-%m-%d}, key matches"
    if ends - _now() < SOON:
        report.warn(check, f"{detail}, but it expires in {(ends - _now()).days} days: renew it")
    else:
        report.ok(check, detail)
    return True


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
        report.fail("settings", str(error), FIXES.get(variable, "see docs/configuration.md"))
        report.skip("everything else", "the settings must load first")
        return 1
    report.ok(
        "settings",
        f"client {settings.client_id}, tenant {settings.tenant_id}, "
        f"public URL {settings.public_url}",
    )

    credential_files = True
    if settings.client_cert and settings.client_key:
        credential_files = _pair(
            report,
            "client certificate",
            settings.client_cert,
            settings.client_key,
            ("TANDEM_CLIENT_CERT", "TANDEM_CLIENT_KEY"),
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

    if jwks_uri is None:
        report.skip("client credential", "no discovery document")
    elif not credential_files:
        report.skip("client credential", "the client certificate check failed")
    else:
        _client_credential(report, settings, session)

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
        _redis(report, settings.redis_url, settings.ca_bundle)
    else:
        report.ok("Redis", "not configured: one process keeps its own state (TANDEM_REDIS_URL)")

    _database(report, settings.database_url)

    if token:
        _exchange(report, settings, token)
    else:
        report.skip("token exchange", "give --token <an SSO token> to try one")
    return 1 if report.failed else 0


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def redacted(url: str) -> str:
    """A Redis URL fit to print: scheme, host, port and database, nothing else.

    Everything before the last '@' may be a user and a password, and a password may itself
    hold '@', ':', '/' or '?' (percent-encoded or not), so all of it goes; the query may carry
    `password=` (redis-py reads it), so it goes too.
    """
    scheme, _, rest = url.partition("://")
    _, at, tail = rest.rpartition("@")
    shown, query, _ = tail.partition("?")
    return f"{scheme}://{'***@' if at else ''}{shown}{'?…' if query else ''}"


def _redis(report: Report, url: str, ca_bundle: Path | None) -> None:
    """PING Redis through the very client `tandem serve` builds (its trust store included)."""
    try:
        import redis

        from tandem_mailbox.coordination.redis_store import redis_client
    except ImportError:
        report.fail(
            "Redis", "the redis client is not installed", "pip install 'tandem-mailbox[prod]'"
        )
        return
    safe = redacted(url)
    try:
        client = redis_client(url, ca_bundle=ca_bundle, name="tandem-doctor")
        client.ping()
        client.close()
    except (redis.RedisError, OSError, ssl.SSLError, ValueError) as error:
        text = str(error)
        fix = f"TANDEM_REDIS_URL: {FIXES['TANDEM_REDIS_URL']}"
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            fix = "TANDEM_CA_BUNDLE: trust the CA that signs the Redis server's certificate"
        report.fail("Redis", f"PING to {safe} failed: {type(error).__name__}: {text[:120]}", fix)
        return
    report.ok("Redis", f"PING to {safe} answered")


def _database(report: Report, url: str) -> None:
    """The team's record: the database answers, and its schema is the one this code knows."""
    from tandem_mailbox.store import Store

    store = Store(url)
    try:
        where = "SQLite " + url.split("///", 1)[-1] if store.embedded else redacted(url)
        if store.embedded:
            # The embedded file is created and upgraded by the app itself on first use.
            at = store.revision() if Path(url.split("///", 1)[-1]).exists() else None
            report.ok("database", f"{where} (schema {at or 'made on first use'})")
            return
        problem = store.behind()
        if problem is None:
            report.ok("database", f"{where} answers, schema {store.head()} (current)")
        elif "can't be reached" in problem:
            report.fail(
                "database", f"{where}: {problem}", "TANDEM_DATABASE_URL: check host, user, password"
            )
        else:
            report.fail("database", f"{where}: {problem}", "run `tandem db upgrade`")
    finally:
        store.dispose()


def _client_credential(report: Report, settings: Settings, session: Session) -> None:
    """Try the app's own secret or certificate with the client-credentials grant.

    The grant needs no person and asks for the Graph resource's `/.default` (learn.microsoft
    .com, v2-oauth2-client-creds-grant-flow): Entra checks the credential as it does for an
    on-behalf-of exchange and answers a wrong one with the same AADSTS code (7000215 for a
    secret, 700027 for a certificate). The token itself is not used.
    """
    check = "client credential"
    kind = "TANDEM_CLIENT_SECRET" if settings.client_secret else "TANDEM_CLIENT_CERT"
    tenant = settings.tenant_id
    if settings.multi_tenant:
        # An app-only token is for one tenant (never /organizations): one that uses the app.
        tenants = sorted(settings.allowed_tenants or ())
        if not tenants:
            report.skip(check, "TANDEM_ALLOWED_TENANTS is *: no tenant to try the credential in")
            return
        tenant = tenants[0]
    scope = settings.cloud.graph_resource + ".default"
    try:
        app = msal.ConfidentialClientApplication(
            settings.client_id,
            client_credential=credential(settings),
            authority=f"https://{settings.authority_host}/{tenant}",
            http_client=session,
            instance_discovery=False,
        )
        result = app.acquire_token_for_client([scope])
    except (requests.RequestException, msal.exceptions.MsalServiceError, ValueError) as error:
        report.fail(
            check,
            f"the token endpoint of {tenant} did not answer: {type(error).__name__}",
            f"TANDEM_AUTHORITY_HOST: {FIXES['TANDEM_AUTHORITY_HOST']}",
        )
        return
    if "access_token" in result:
        report.ok(check, f"Entra ID accepted {kind} (an app-only token in tenant {tenant})")
        return
    codes = [int(c) for c in result.get("error_codes") or [] if str(c).isdigit()]
    described = str(result.get("error_description") or result.get("error") or "").splitlines()
    said = (described or ["no description"])[0][:240]
    refused = [c for c in codes if c in BAD_CREDENTIALS]
    if not refused:  # throttled, unavailable, or a refusal that is not about the credential
        report.fail(
            check,
            f"Entra ID issued no token: {said}",
            "look the AADSTS code up in Entra's error code reference, then run doctor again",
        )
        return
    setting = BAD_CREDENTIALS[refused[0]]
    report.fail(
        check,
        f"Entra ID refused {setting}: {said}",
        CREDENTIAL_FIXES.get(
            refused[0], f"{setting}: {FIXES.get(setting, 'see docs/configuration.md')}"
        ),
    )


def _exchange(report: Report, settings: Settings, token: str) -> None:
    """Validate an SSO token and exchange it on-behalf-of, as a request would."""
    from tandem_mailbox.app import create_app

    tandem: Services = create_app(settings).extensions["tandem"]
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


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the deployment the environment describes, one line per check."""
    from tandem_mailbox.cli import doctor

    configure_logging(args.verbose)
    logging.getLogger("tandem").setLevel(logging.CRITICAL)  # the report says it all
    return doctor.run(token=args.token)
