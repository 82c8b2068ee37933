"""`tandem register`: create or update the add-in's app registration through Microsoft Graph.

An administrator signs in with MSAL's device-code flow (Microsoft Graph Command Line Tools'
public client by default) for Application.ReadWrite.All; then, idempotently, each step
changes only what differs from what the registration must be, so a second run changes
nothing:

1. the application, found or created by its uniqueName (Graph's upsert: PATCH
   /applications(uniqueName='…') with Prefer: create-if-missing);
2. its Application ID URI api://<host[:port]>/<client id>, the `access_as_user` scope,
   requestedAccessTokenVersion 2, the delegated Graph permissions of TANDEM_SCOPES (their
   ids read from Graph's own service principal), the NAA redirect brk-multihub://<host>
   (single-page application) and the admin-consent return page (web), and the app role
   Tandem.Admin (the people who may set a mailbox's first-response target), the app's other
   roles kept;
3. the Office clients pre-authorized for that scope (learn.microsoft.com/office/dev/add-ins/
   develop/register-sso-add-in-aad-v2 lists them), in a second PATCH, since Graph accepts a
   pre-authorization only for a scope the application already exposes;
4. its service principal in the tenant;
5. a client secret (addPassword: its text is shown once) unless one made by Tandem is there,
   or a certificate (keyCredentials, matched by thumbprint; the existing ones are kept).

Then it prints the TANDEM_* settings, the admin-consent URL and how to assign Tandem.Admin
(the Entra admin center, or Graph's appRoleAssignedTo with the ids filled in).
"""

from __future__ import annotations

import argparse
import base64
import copy
import io
import json
import os
import re
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlencode, urlsplit

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from dotenv.parser import parse_stream

from tandem_mailbox.clouds import CLOUDS
from tandem_mailbox.config import DEFAULT_SCOPES, GUID, OIDC_SCOPES
from tandem_mailbox.microsoft.outbound import Session, ssl_context

GRAPH_CLI = "14d82eec-204b-4c2f-b7e8-296a70dab67e"  # Microsoft Graph Command Line Tools
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
SCOPE = "access_as_user"
# The app role whose holders may set a mailbox's first-response target (mail/team.py reads it
# from the SSO token's `roles`).
ADMIN_ROLE = "Tandem.Admin"
CREDENTIAL_NAME = "tandem backend"  # the display name of the credentials Tandem adds
# Every Office client id Microsoft documents for pre-authorization (register-sso-add-in-
# aad-v2); ea5a67f6-… alone covers all Office hosts, the others are listed as well.
OFFICE_CLIENTS = {
    "ea5a67f6-b6f3-4338-b240-c655ddc3cc8e": "Microsoft Office (all Office endpoints)",
    "d3590ed6-52b3-4102-aeff-aad2292ab01c": "Microsoft Office",
    "93d53678-613d-4013-afc1-62e9e444a0a5": "Office on the web",
    "57fb890c-0dab-4253-a5e0-7188c88b2bb4": "Office on the web",
    "08e18876-6177-487e-b8b5-cf950c1e598c": "Office on the web",
    "bc59ab01-8403-45c6-8796-ac3ef710b3e3": "Outlook on the web",
}


class RegisterError(Exception):
    """The registration could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    """What to register, and where."""

    tenant: str
    public_url: str
    cloud: str = "public"
    authority_host: str | None = None
    graph_url: str | None = None
    ca_bundle: Path | None = None
    scopes: tuple[str, ...] = tuple(DEFAULT_SCOPES.split())
    name: str = "Tandem"
    multi_tenant: bool = False
    certificate: Path | None = None
    certificate_key: Path | None = None
    new_secret: bool = False
    public_client: str = GRAPH_CLI

    @property
    def host(self) -> str:
        """host[:port] of the public URL."""
        return urlsplit(self.public_url).netloc

    @property
    def unique_name(self) -> str:
        """The registration's uniqueName: one per deployment URL."""
        return "tandem-" + re.sub(r"[^a-z0-9]+", "-", self.host.lower()).strip("-")

    @property
    def authority(self) -> str:
        """The Entra ID host."""
        return self.authority_host or CLOUDS[self.cloud].authority_host

    @property
    def graph(self) -> str:
        """The Graph base URL with its version."""
        return (self.graph_url or CLOUDS[self.cloud].graph_url).rstrip("/")


@dataclass
class Outcome:
    """What a run did, and what it found."""

    app: dict[str, Any]
    tenant_id: str
    changes: list[str] = field(default_factory=list)
    secret: str | None = None
    service_principal_id: str = ""
    admin_role_id: str = ""


class Graph:
    """The few Graph calls registration makes, with Graph's errors turned into RegisterError."""

    def __init__(self, session: requests.Session, base: str, token: str):
        self._session = session
        self._base = base
        self._headers = {"Authorization": f"Bearer {token}"}

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        prefer: str | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> tuple[int, Any]:
        """One request; answers (status, JSON or None); 404 is answered, not raised."""
        headers = dict(self._headers)
        if prefer:
            headers["Prefer"] = prefer
        try:
            response = self._session.request(
                method, self._base + path, json=body, headers=headers, timeout=(3.05, 30)
            )
        except requests.RequestException as error:
            raise RegisterError(
                f"Microsoft Graph is unreachable at {self._base}: {error}"
            ) from error
        data = response.json() if response.content else None
        if response.status_code in ok or response.status_code == 404:
            return response.status_code, data
        problem = (data or {}).get("error", {}) if isinstance(data, dict) else {}
        hint = ""
        if problem.get("code") == "Authorization_RequestDenied":
            hint = (
                " (sign in as someone who may create app registrations, e.g. an Application "
                "Administrator, and consent to Application.ReadWrite.All)"
            )
        raise RegisterError(
            f"Graph refused {method} {path}: {response.status_code} "
            f"{problem.get('code', '')}: {problem.get('message', response.text[:200])}{hint}"
        )


def sign_in(target: Target, session: requests.Session, out: TextIO) -> tuple[str, str]:
    """The admin's Graph token through the device-code flow; answers (token, tenant id)."""
    app = msal.PublicClientApplication(
        target.public_client,
        authority=f"https://{target.authority}/{target.tenant}",
        http_client=session,
        instance_discovery=False,  # the authority comes from the cloud table or the operator
    )
    scope = CLOUDS[target.cloud].graph_resource + "Application.ReadWrite.All"
    flow = app.initiate_device_flow(scopes=[scope])
    if "user_code" not in flow:
        raise RegisterError(f"Entra ID refused the device-code sign-in: {_entra_error(flow)}")
    print(flow["message"], file=out, flush=True)
    result = app.acquire_token_by_device_flow(flow)
    if "access_token" not in result:
        raise RegisterError(f"the sign-in did not complete: {_entra_error(result)}")
    tenant_id = str((result.get("id_token_claims") or {}).get("tid", ""))
    if not GUID.match(tenant_id):
        raise RegisterError("the sign-in answered no tenant id (tid)")
    return result["access_token"], tenant_id.lower()


def _entra_error(result: dict[str, Any]) -> str:
    return f"{result.get('error', '?')}: {str(result.get('error_description', '')).splitlines()[0]}"


def _graph_scope_ids(graph: Graph, names: list[str]) -> list[dict[str, str]]:
    """The resourceAccess entries of delegated Graph permissions, by Graph's own ids."""
    status, sp = graph.call(
        "GET", f"/servicePrincipals(appId='{GRAPH_APP_ID}')?$select=id,oauth2PermissionScopes"
    )
    if status == 404:
        raise RegisterError("Microsoft Graph's service principal is missing from the tenant")
    published = {s["value"]: s["id"] for s in sp.get("oauth2PermissionScopes", [])}
    missing = [n for n in names if n not in published]
    if missing:
        raise RegisterError(
            f"Graph publishes no delegated permission named {', '.join(missing)} "
            "(check TANDEM_SCOPES)"
        )
    return [{"id": published[n], "type": "Scope"} for n in names]


def _scope(existing: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """The app's scopes with access_as_user among them, and that scope's id."""
    for scope in existing:
        if scope.get("value") == SCOPE:
            return existing, scope["id"]
    scope_id = str(uuid.uuid4())
    ours = {
        "id": scope_id,
        "value": SCOPE,
        "type": "User",
        "isEnabled": True,
        "adminConsentDisplayName": "Use Tandem as the signed-in person",
        "adminConsentDescription": "Lets Office call Tandem's backend as the signed-in person, "
        "which then works in mailboxes with that person's own rights.",
        "userConsentDisplayName": "Use Tandem as you",
        "userConsentDescription": "Lets Office call Tandem's backend as you.",
    }
    return [*existing, ours], scope_id


def _admin_role(existing: list[dict[str, Any]]) -> tuple[list[dict[str, Any]] | None, str]:
    """The app's roles with Tandem.Admin among them, enabled and assignable to people (None
    when they already are), and that role's id."""
    # `origin` is Graph's to set (the appRole resource: not in a POST or PATCH).
    roles = [{k: v for k, v in r.items() if k != "origin"} for r in existing]
    for role in roles:
        if role.get("value") != ADMIN_ROLE:
            continue
        if role.get("isEnabled") and "User" in (role.get("allowedMemberTypes") or []):
            return None, role["id"]
        role["isEnabled"] = True
        role["allowedMemberTypes"] = _union(role.get("allowedMemberTypes") or [], ["User"])
        return roles, role["id"]
    ours: dict[str, Any] = {
        "id": str(uuid.uuid4()),  # made once: later runs find the role by its value
        "value": ADMIN_ROLE,
        "displayName": "Tandem administrator",
        "description": "Lets a person set a shared mailbox's first-response target in Tandem.",
        "allowedMemberTypes": ["User"],
        "isEnabled": True,
    }
    return [*roles, ours], ours["id"]


def register(target: Target, graph: Graph, tenant_id: str) -> Outcome:
    """Bring the registration to what Tandem needs; each step only where it differs."""
    path = f"/applications(uniqueName='{quote(target.unique_name, safe='')}')"
    status, app = graph.call("GET", path)
    changes: list[str] = []
    if status == 404:
        audience = "AzureADMultipleOrgs" if target.multi_tenant else "AzureADMyOrg"
        _, app = graph.call(
            "PATCH",
            path,
            {"displayName": target.name, "signInAudience": audience},
            prefer="create-if-missing",
            ok=(201, 204),
        )
        status, app = graph.call("GET", path)
        changes.append("created the application")
    app_id = app["appId"]
    bare = [s.rsplit("/", 1)[-1] for s in target.scopes]
    names = ["openid", "profile", "offline_access"] + [s for s in bare if s not in OIDC_SCOPES]
    scopes, scope_id = _scope(copy.deepcopy(app["api"].get("oauth2PermissionScopes", [])))
    roles, role_id = _admin_role(app.get("appRoles") or [])
    wanted: dict[str, Any] = {
        "displayName": target.name,
        "signInAudience": "AzureADMultipleOrgs" if target.multi_tenant else "AzureADMyOrg",
        "identifierUris": [f"api://{target.host}/{app_id}"],
        "api": dict(app["api"], requestedAccessTokenVersion=2, oauth2PermissionScopes=scopes),
        "requiredResourceAccess": [
            *[
                r
                for r in app.get("requiredResourceAccess", [])
                if r["resourceAppId"] != GRAPH_APP_ID
            ],
            {"resourceAppId": GRAPH_APP_ID, "resourceAccess": _graph_scope_ids(graph, names)},
        ],
        # Nested app authentication's broker redirect (MSAL.js in the pane).
        "spa": dict(
            app.get("spa", {}),
            redirectUris=_union(
                app.get("spa", {}).get("redirectUris", []), [f"brk-multihub://{target.host}"]
            ),
        ),
        # Where the admin-consent URL returns to.
        "web": dict(
            app.get("web", {}),
            redirectUris=_union(
                app.get("web", {}).get("redirectUris", []), [f"{target.public_url}/consent-done"]
            ),
        ),
    }
    if roles is not None:
        wanted["appRoles"] = roles
    _patch(graph, path, app, wanted, changes)
    status, app = graph.call("GET", path)
    others = [
        p
        for p in app["api"].get("preAuthorizedApplications", [])
        if p["appId"] not in OFFICE_CLIENTS
    ]
    pre = others + [{"appId": c, "delegatedPermissionIds": [scope_id]} for c in OFFICE_CLIENTS]
    _patch(graph, path, app, {"api": dict(app["api"], preAuthorizedApplications=pre)}, changes)
    status, sp = graph.call("GET", f"/servicePrincipals(appId='{app_id}')?$select=id,appId")
    if status == 404:
        _, sp = graph.call("POST", "/servicePrincipals", {"appId": app_id}, ok=(201,))
        changes.append("created the service principal")
    outcome = Outcome(
        app=app,
        tenant_id=tenant_id,
        changes=changes,
        service_principal_id=sp["id"],
        admin_role_id=role_id,
    )
    if target.certificate:
        _certificate(graph, app, target.certificate, changes)
    else:
        passwords = app.get("passwordCredentials", [])
        made = any(p.get("displayName") == CREDENTIAL_NAME for p in passwords)
        if target.new_secret or not made:
            _, secret = graph.call(
                "POST",
                f"/applications/{app['id']}/addPassword",
                {"passwordCredential": {"displayName": CREDENTIAL_NAME}},
            )
            outcome.secret = secret["secretText"]
            changes.append(f"added a client secret (ends {secret.get('endDateTime', '?')[:10]})")
    _, outcome.app = graph.call("GET", path)
    return outcome


def _union(have: list[str], need: list[str]) -> list[str]:
    return have + [n for n in need if n not in have]


def _patch(
    graph: Graph, path: str, app: dict[str, Any], wanted: dict[str, Any], changes: list[str]
) -> None:
    """PATCH the properties that differ, and say which."""
    differing = {k: v for k, v in wanted.items() if app.get(k) != v}
    if differing:
        graph.call("PATCH", path, differing, ok=(204,))
        changes.append("set " + ", ".join(sorted(differing)))


def _certificate(graph: Graph, app: dict[str, Any], pem: Path, changes: list[str]) -> None:
    """Upload the certificate unless a credential with its thumbprint is there."""
    try:
        cert = x509.load_pem_x509_certificate(pem.read_bytes())
    except (OSError, ValueError) as error:
        raise RegisterError(f"--certificate {pem} is not a PEM certificate: {error}") from error
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Entra's thumbprint
    # The keys of existing credentials are returned only on $select for a single object, and
    # PATCH replaces the collection: read them, keep them, add ours.
    _, current = graph.call("GET", f"/applications/{app['id']}?$select=keyCredentials")
    existing = current.get("keyCredentials", [])
    if any(str(c.get("customKeyIdentifier", "")).upper() == thumbprint for c in existing):
        return
    der = cert.public_bytes(serialization.Encoding.DER)
    ours = {
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "key": base64.b64encode(der).decode(),
        "displayName": f"CN={CREDENTIAL_NAME}",
    }
    graph.call(
        "PATCH", f"/applications/{app['id']}", {"keyCredentials": [*existing, ours]}, ok=(204,)
    )
    changes.append(f"uploaded the certificate {thumbprint}")


def settings(target: Target, outcome: Outcome) -> dict[str, str]:
    """The TANDEM_* settings of the registered deployment (the secret only when just made)."""
    app = outcome.app
    values = {
        "TANDEM_CLIENT_ID": app["appId"],
        "TANDEM_TENANT_ID": "organizations" if target.multi_tenant else outcome.tenant_id,
    }
    if target.multi_tenant:
        values["TANDEM_ALLOWED_TENANTS"] = outcome.tenant_id
    if target.certificate:
        values["TANDEM_CLIENT_CERT"] = str(target.certificate.resolve())
        if target.certificate_key:
            values["TANDEM_CLIENT_KEY"] = str(target.certificate_key.resolve())
    elif outcome.secret:
        values["TANDEM_CLIENT_SECRET"] = outcome.secret
    values["TANDEM_PUBLIC_URL"] = target.public_url
    if " ".join(target.scopes) != DEFAULT_SCOPES:
        values["TANDEM_SCOPES"] = " ".join(target.scopes)
    if target.cloud != "public":
        values["TANDEM_CLOUD"] = target.cloud
    if target.authority_host:
        values["TANDEM_AUTHORITY_HOST"] = target.authority_host
    if target.graph_url:
        values["TANDEM_GRAPH_URL"] = target.graph
    if target.ca_bundle:
        values["TANDEM_CA_BUNDLE"] = str(target.ca_bundle.resolve())
    return values


def role_instructions(target: Target, outcome: Outcome) -> list[str]:
    """How an administrator gives people Tandem.Admin: the Entra admin center's steps, and
    the Graph request (serviceprincipal-post-approleassignedto) with the real ids."""
    sp = outcome.service_principal_id
    body = {
        "principalId": "<the person's object id: GET /users/<upn>?$select=id>",
        "resourceId": sp,
        "appRoleId": outcome.admin_role_id,
    }
    return [
        f"The app role {ADMIN_ROLE} lets a person set a shared mailbox's first-response target.",
        "Assign it to those people (as a Cloud Application Administrator, an Application "
        "Administrator or the app's owner):",
        f"  in the Entra admin center: Entra ID > Enterprise apps > {target.name} (application "
        f"id {outcome.app['appId']}) > Users and groups > Add user/group > the people > "
        f"Select a role: {ADMIN_ROLE} > Assign;",
        "  or through Microsoft Graph, once per person (AppRoleAssignment.ReadWrite.All and "
        "Application.Read.All):",
        f"    POST {target.graph}/servicePrincipals/{sp}/appRoleAssignedTo",
        f"    {json.dumps(body)}",
        "A person's Tandem token carries the role from their next sign-in.",
    ]


def consent_url(target: Target, outcome: Outcome) -> str:
    """Where an administrator grants the delegated permissions for the whole organisation."""
    query = urlencode(
        {"client_id": outcome.app["appId"], "redirect_uri": f"{target.public_url}/consent-done"}
    )
    return f"https://{target.authority}/{outcome.tenant_id}/adminconsent?{query}"


# The app's credential is of one kind at a time (Settings refuses a secret beside a
# certificate): writing one kind takes the other kind's lines out of the file.
OTHER_CREDENTIAL = {
    "TANDEM_CLIENT_SECRET": {"TANDEM_CLIENT_CERT", "TANDEM_CLIENT_KEY"},
    "TANDEM_CLIENT_CERT": {"TANDEM_CLIENT_SECRET"},
}


def merge_env(text: str, values: dict[str, str]) -> str:
    """The .env text with `values` set: each name's line changed where it stands, new names
    added at the end, every other line (settings, comments, blank lines) kept as it was.

    A secret already in the file stays when this run made none; a credential of the other
    kind than the one written is removed.
    """
    written = set(values)
    dropped = {name for kind in written & set(OTHER_CREDENTIAL) for name in OTHER_CREDENTIAL[kind]}
    out: list[str] = []
    for binding in parse_stream(io.StringIO(text)):
        raw = binding.original.string
        if binding.key is None or binding.key not in written | dropped:
            out.append(raw)
            continue
        # Keep the blank lines python-dotenv counts as this binding's, and its `export `.
        body = raw.lstrip()
        lead = raw[: len(raw) - len(body)]
        if binding.key in dropped:
            out.append(lead)
            continue
        export = "export " if body.startswith(("export ", "export\t")) else ""
        out.append(f"{lead}{export}{binding.key}={values[binding.key]}\n")
        written.discard(binding.key)
    merged = "".join(out)
    if merged and not merged.endswith("\n"):
        merged += "\n"
    return merged + "".join(f"{k}={v}\n" for k, v in values.items() if k in written)


def write_env(path: Path, values: dict[str, str]) -> None:
    """Merge the settings into a .env file (merge_env) readable by its owner only: it holds
    the secret."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(merge_env(text, values))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def run(target: Target, *, env_file: Path | None = None, out: TextIO = sys.stdout) -> int:
    """Sign in, register, print the settings and the consent URL; answers the exit status.

    With `env_file` the settings are merged into that file and a new secret is written there
    only: it is never printed then, so it stays out of terminal scroll-back and CI logs.
    """
    session = Session(context=ssl_context(target.ca_bundle), timeout=(3.05, 30))
    token, tenant_id = sign_in(target, session, out)
    outcome = register(target, Graph(session, target.graph, token), tenant_id)
    print(f"App registration {target.unique_name!r} ({outcome.app['appId']}):", file=out)
    for change in outcome.changes or ["already as Tandem needs it: nothing changed"]:
        print(f"  {change}", file=out)
    values = settings(target, outcome)
    secret_in_file = False
    if env_file:
        try:
            write_env(env_file, values)
        except OSError as error:
            # The secret exists only in this answer: show it rather than lose it.
            print(f"could not write {env_file}: {error}", file=out)
        else:
            secret_in_file = True
            print(f"merged the settings into {env_file} (mode 0600)", file=out)
    print("Settings for the backend:", file=out)
    for name, value in values.items():
        if name == "TANDEM_CLIENT_SECRET" and secret_in_file:
            print(f"  # TANDEM_CLIENT_SECRET: new, written to {env_file} only", file=out)
        else:
            print(f"  export {name}={value}", file=out)
    if not target.certificate and not outcome.secret:
        print(
            "  # TANDEM_CLIENT_SECRET: unchanged (shown when it was made; --new-secret adds one)",
            file=out,
        )
    print("An administrator grants the Graph permissions for the organisation at:", file=out)
    print(f"  {consent_url(target, outcome)}", file=out)
    for line in role_instructions(target, outcome):
        print(line, file=out)
    out.flush()
    return 1 if env_file and not secret_in_file else 0


def cmd_register(args: argparse.Namespace) -> int:
    """Create or update the app registration through Graph, then print the settings."""
    from tandem_mailbox.cli import register

    public_url = args.public_url.rstrip("/")
    parts = urlsplit(public_url)
    if parts.scheme != "https" or not parts.netloc or parts.path:
        print("tandem: --public-url must be an https origin such as https://host", file=sys.stderr)
        return 2
    if args.cloud not in CLOUDS:
        print(f"tandem: --cloud must be one of {', '.join(CLOUDS)}", file=sys.stderr)
        return 2
    if bool(args.certificate_key) and not args.certificate:
        print("tandem: --certificate-key goes with --certificate", file=sys.stderr)
        return 2
    target = register.Target(
        tenant=args.tenant,
        public_url=public_url,
        cloud=args.cloud,
        authority_host=args.authority_host,
        graph_url=args.graph_url,
        ca_bundle=Path(args.ca_bundle) if args.ca_bundle else None,
        scopes=tuple((args.scopes or os.environ.get("TANDEM_SCOPES") or DEFAULT_SCOPES).split()),
        name=args.name,
        multi_tenant=args.multi_tenant,
        certificate=Path(args.certificate) if args.certificate else None,
        certificate_key=Path(args.certificate_key) if args.certificate_key else None,
        new_secret=args.new_secret,
        public_client=args.public_client,
    )
    try:
        return register.run(target, env_file=Path(args.env_file) if args.env_file else None)
    except register.RegisterError as error:
        print(f"tandem: register: {error}", file=sys.stderr)
        return 1
