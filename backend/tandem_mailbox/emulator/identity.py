"""Entra ID, emulated: discovery, JWKS with rotation, the token endpoint's on-behalf-of and
client-credentials grants.

Here: the AADSTS table, the keys, the app registration, the token checks in Entra's order and
the blueprint that speaks them. The model (`Entra`) takes parsed inputs and raises
`EntraError`; only the blueprint reads `flask.request`.

Wire formats follow learn.microsoft.com (v2-oauth2-on-behalf-of-flow,
v2-oauth2-client-creds-grant-flow, reference-error-codes,
access-token-claims-reference): error bodies carry error, error_description ("AADSTS<code>: …
\\r\\nTrace ID: …\\r\\nCorrelation ID: …\\r\\nTimestamp: …"), error_codes, timestamp, trace_id,
correlation_id, error_uri, and suberror / claims where Entra sends them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Blueprint, Response, jsonify, request

from tandem_mailbox.certs import self_signed
from tandem_mailbox.emulator import seed
from tandem_mailbox.emulator.exchange import Exchange, Person
from tandem_mailbox.emulator.faults import Faults, Stats

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_CREDENTIALS = "client_credentials"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
OIDC_SCOPES = {"openid", "profile", "offline_access", "email"}
SSO_SCOPE = "access_as_user"
# Office clients that ask for SSO tokens (azp / appid of the token Office hands the pane).
OFFICE_DESKTOP = "d3590ed6-52b3-4102-aeff-aad2292ab01c"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_RESOURCES = (
    "https://graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
)
DELEGATED_SCOPES = {
    "Mail.Read",
    "Mail.ReadWrite",
    "Mail.Read.Shared",
    "Mail.ReadWrite.Shared",
    "Mail.Send",
    "Mail.Send.Shared",
    "Calendars.Read",
    "Calendars.ReadWrite",
    "Calendars.Read.Shared",
    "Calendars.ReadWrite.Shared",
    "User.Read",
    "User.ReadBasic.All",
    "MailboxSettings.Read",
}

# What each injectable AADSTS error looks like on the wire.
AADSTS: dict[int, dict[str, Any]] = {
    50076: {
        "status": 400,
        "error": "interaction_required",
        "suberror": "basic_action",
        "claims": True,
        "message": "Due to a configuration change made by your administrator, or because you "
        "moved to a new location, you must use multi-factor authentication to access "
        f"'{GRAPH_APP_ID}'.",
    },
    50079: {
        "status": 400,
        "error": "interaction_required",
        "claims": True,
        "message": "Due to a configuration change made by your administrator, or because you "
        "moved to a new location, you must enroll in multifactor authentication to access "
        f"'{GRAPH_APP_ID}'.",
    },
    65001: {
        "status": 400,
        "error": "invalid_grant",
        "suberror": "consent_required",
        "message": "The user or administrator has not consented to use the application with "
        "ID '{client_id}' named 'Tandem'. Send an interactive authorization request for this "
        "user and resource.",
    },
    500133: {
        "status": 400,
        "error": "invalid_grant",
        "message": "Assertion is not within its valid time range. Ensure that the access token "
        "is not expired before using it for user assertion, or request a new token. Current "
        "time: {now}, expiry time of assertion {exp}.",
    },
    50013: {
        "status": 400,
        "error": "invalid_grant",
        "message": "Assertion failed signature validation. [Reason - {reason}]",
    },
    7000215: {
        "status": 401,
        "error": "invalid_client",
        "message": "Invalid client secret provided. Ensure the secret being sent in the request "
        "is the client secret value, not the client secret ID, for a secret added to app "
        "'{client_id}'.",
    },
    700027: {
        "status": 401,
        "error": "invalid_client",
        "message": "Client assertion contains an invalid signature. [Reason - {reason}]",
    },
    700016: {
        "status": 400,
        "error": "unauthorized_client",
        "message": "Application with identifier '{client_id}' was not found in the directory "
        "'{tenant}'. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You may have "
        "sent your authentication request to the wrong tenant.",
    },
    7000218: {
        "status": 400,
        "error": "invalid_client",
        "message": "The request body must contain the following parameter: 'client_assertion' "
        "or 'client_secret'.",
    },
    50196: {
        "status": 400,
        "error": "invalid_grant",
        "message": "The server terminated an operation because it encountered a client request "
        "loop. Please contact your app vendor.",
    },
    90002: {
        "status": 400,
        "error": "invalid_request",
        "message": "Tenant '{tenant}' not found. Check to make sure you have the correct tenant "
        "ID and are signing into the correct cloud.",
    },
    70003: {
        "status": 400,
        "error": "unsupported_grant_type",
        "message": "The app requested an unsupported grant type '{grant}'.",
    },
    900144: {
        "status": 400,
        "error": "invalid_request",
        "message": "The request body must contain the following parameter: '{parameter}'.",
    },
    90055: {
        "status": 429,
        "error": "temporarily_unavailable",
        "message": "There are too many incoming requests. Please try again later.",
    },
    90006: {
        "status": 503,
        "error": "temporarily_unavailable",
        "message": "The service is temporarily unavailable. Please try again later.",
    },
    70011: {
        "status": 400,
        "error": "invalid_scope",
        "message": "The provided request must include a 'scope' input parameter.",
    },
    1002012: {
        "status": 400,
        "error": "invalid_scope",
        "message": "The provided value for scope {scope} is not valid. Client credential flows "
        "must have a scope value with /.default suffixed to the resource identifier "
        "(application ID URI).",
    },
    500011: {
        "status": 400,
        "error": "invalid_resource",
        "message": "The resource principal named {resource} was not found in the tenant named "
        "{tenant}. This can happen if the application has not been installed by the "
        "administrator of the tenant or consented to by any user in the tenant. You might have "
        "sent your authentication request to the wrong tenant.",
    },
    # The error member is not in Microsoft's table (reference-error-codes lists the code and
    # message only); invalid_request is what Entra answers for a request it will not serve.
    9001023: {
        "status": 400,
        "error": "invalid_request",
        "message": "The grant type is not supported over the /common or /consumers endpoints. "
        "Please use the /organizations or tenant-specific endpoint.",
    },
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _thumbprint(value: object) -> bytes | None:
    """A certificate thumbprint header (x5t, x5t#S256) as bytes, whichever base64 it uses.

    RFC 7515 says base64url without padding; MSAL for Python sends standard base64 with it,
    and Entra ID accepts both.
    """
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError:
        return None


def _b64url_int(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass
class SigningKey:
    """One RSA key Entra signs tokens with, and its self-signed certificate (for x5c/x5t)."""

    kid: str
    private_key: rsa.RSAPrivateKey
    cert_der: bytes

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh 2048-bit key and certificate; kid = base64url SHA-1 thumbprint, as Entra."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = self_signed(key, "accounts.accesscontrol.windows.net", days=365)
        der = cert.public_bytes(serialization.Encoding.DER)
        kid = _b64url(hashlib.sha1(der).digest())  # noqa: S324 - x5t is SHA-1 by definition
        return cls(kid=kid, private_key=key, cert_der=der)

    def jwk(self) -> dict[str, Any]:
        """The public JWK as Entra publishes it."""
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": _b64url_int(numbers.n),
            "e": _b64url_int(numbers.e),
            "x5c": [base64.b64encode(self.cert_der).decode()],
        }


@dataclass
class AppRegistration:
    """The add-in's Entra app: credentials, identifier URI, and per-tenant consent."""

    client_id: str
    name: str
    secrets: list[str]
    identifier_uris: list[str]
    certificates: list[x509.Certificate] = field(default_factory=list)
    consented: dict[str, set[str]] = field(default_factory=dict)  # tenant -> scope names


class EntraError(Exception):
    """An AADSTS error, answered by the blueprint in Entra's body shape."""

    def __init__(
        self,
        code: int,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **values: Any,
    ):
        super().__init__(f"AADSTS{code}")
        self.code = code
        self.status = status or AADSTS[code]["status"]
        self.headers = headers or {}
        self.values = values


class KeysUnavailable(Exception):
    """The keys endpoint fails (an injected fault): a bare status, as a broken CDN answers."""

    def __init__(self, status: int, body: str = "unavailable"):
        super().__init__(str(status))
        self.status = status
        self.body = body


class Entra:
    """The identity half of the emulator: keys, the app registration, tokens and their checks."""

    def __init__(self, exchange: Exchange, faults: Faults, stats: Stats, *, public_url: str):
        self.exchange = exchange
        self.faults = faults
        self.stats = stats
        self.base_url = "https://localhost:3001"  # set by the server once it has its port
        self.keys: list[SigningKey] = [SigningKey.generate()]
        self._keys_lock = threading.Lock()
        self.graph_token_lifetime = 3599
        # The app manifest's accessTokenAcceptedVersion: what Office's SSO token looks like.
        self.access_token_version = 2
        host = public_url.split("://", 1)[1].rstrip("/")
        self.app = AppRegistration(
            client_id=seed.CLIENT_ID,
            name=seed.APP_NAME,
            secrets=[seed.CLIENT_SECRET],
            identifier_uris=[f"api://{host}/{seed.CLIENT_ID}"],
            consented={
                seed.CONTOSO: set(DELEGATED_SCOPES),
                seed.FABRIKAM: set(DELEGATED_SCOPES),
            },
        )
        # The app roles assigned to a person on the app's service principal (what Entra puts
        # in `roles`): the directory's assignments once directory.py is wired in.
        self.assigned_roles: Callable[[Person], list[str]] = lambda person: []

    # -- keys -----------------------------------------------------------------------------
    @property
    def signer(self) -> SigningKey:
        """The key new tokens are signed with."""
        with self._keys_lock:
            return self.keys[-1]

    def rotate(self, *, retire_old: bool = False) -> SigningKey:
        """Publish a new signing key and sign with it from now on."""
        key = SigningKey.generate()
        with self._keys_lock:
            if retire_old:
                self.keys = [key]
            else:
                self.keys = [*self.keys[-2:], key]
        return key

    def public_key(self, kid: str) -> rsa.RSAPublicKey | None:
        """A published key by id."""
        with self._keys_lock:
            for key in self.keys:
                if key.kid == kid:
                    return key.private_key.public_key()
        return None

    def sign(self, claims: dict[str, Any], *, key: SigningKey | None = None) -> str:
        """Sign claims as Entra does (RS256, typ JWT, kid and x5t headers)."""
        key = key or self.signer
        return jwt.encode(
            claims,
            key.private_key,
            algorithm="RS256",
            headers={"typ": "JWT", "kid": key.kid, "x5t": key.kid},
        )

    def verify(self, token: str, *, audience: list[str] | None) -> dict[str, Any]:
        """Verify a token this emulator issued; raises jwt.InvalidTokenError."""
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "RS256":
            raise jwt.InvalidSignatureError("The key was not found.")
        public = self.public_key(str(header.get("kid")))
        if public is None:
            raise jwt.InvalidSignatureError("The key was not found.")
        return jwt.decode(
            token,
            public,
            algorithms=["RS256"],
            audience=audience,
            options={"verify_aud": audience is not None, "verify_exp": False},
        )

    # -- tenants and issuers ----------------------------------------------------------------
    @property
    def host(self) -> str:
        """host:port of the emulator, the authority host its tokens name."""
        return self.base_url.split("://", 1)[1]

    def v2_issuer(self, tid: str) -> str:
        """The v2.0 issuer: the authority host, the tenant, /v2.0."""
        return f"https://{self.host}/{tid}/v2.0"

    @staticmethod
    def v1_issuer(tid: str) -> str:
        """The v1.0 issuer Entra uses in every worldwide and US Government tenant."""
        return f"https://sts.windows.net/{tid}/"

    @staticmethod
    def tenant(segment: str) -> str | None:
        """The tenant id a path segment names (GUID or domain), or None."""
        key = segment.lower()
        if key in seed.TENANTS:
            return key
        for tid, info in seed.TENANTS.items():
            if key in (info["domain"], f"{info['name']}.onmicrosoft.com"):
                return tid
        return None

    def _known_tenant(self, segment: str) -> str | None:
        """The tenant id of a path segment; `common` and `organizations` give None; else 90002."""
        tid = self.tenant(segment)
        if tid is None and segment.lower() not in ("common", "organizations"):
            raise EntraError(90002, tenant=segment)
        return tid

    # -- discovery ------------------------------------------------------------------------
    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        """GET /<tenant>/v2.0/.well-known/openid-configuration, as Entra publishes it."""
        self.stats.bump("openidConfigFetches")
        tid = self._known_tenant(tenant)
        base = self.base_url
        issuer_tenant = tid or "{tenantid}"
        return {
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"https://{self.host}/{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "tid", "ver", "oid"],
            "kerberos_endpoint": f"{base}/{tenant}/kerberos",
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }

    def jwks(self, tenant: str) -> dict[str, Any]:
        """GET /<tenant>/discovery/v2.0/keys: every published key."""
        self.stats.bump("jwksFetches")
        fault = self.faults.take("jwks")
        if fault is not None:
            # delayMs: a slow key endpoint; status: a bare failure; body "text": a 200 that is
            # not JSON, "empty": a key set with no key (both seen from broken proxies and CDNs).
            time.sleep(float(fault.get("delayMs", 0)) / 1000)
            if fault.get("status"):
                raise KeysUnavailable(int(fault["status"]))
            if fault.get("body") == "text":
                raise KeysUnavailable(200, "<html>Service maintenance</html>")
            if fault.get("body") == "empty":
                return {"keys": []}
        self._known_tenant(tenant)
        with self._keys_lock:
            return {"keys": [k.jwk() for k in self.keys]}

    # -- tokens ---------------------------------------------------------------------------
    def sso_token(
        self,
        person: Person,
        *,
        version: int = 2,
        lifetime: int = 3600,
        client_app: str = OFFICE_DESKTOP,
        overrides: dict[str, Any] | None = None,
        remove: list[str] | None = None,
    ) -> str:
        """The token Office hands the task pane for this person (aud: the add-in)."""
        now = int(time.time())
        tid = person.tenant_id
        claims: dict[str, Any] = {
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "aio": _b64url(uuid.uuid4().bytes),
            "name": person.name,
            "oid": person.oid,
            "rh": "0.AAAA" + _b64url(uuid.uuid4().bytes),
            "scp": SSO_SCOPE,
            "sub": _b64url(hashlib.sha256(f"{person.oid}{self.app.client_id}".encode()).digest()),
            "tid": tid,
            "uti": _b64url(uuid.uuid4().bytes),
        }
        if version == 2:
            claims.update(
                aud=self.app.client_id,
                iss=self.v2_issuer(tid),
                azp=client_app,
                azpacr="0",
                preferred_username=person.upn,
                ver="2.0",
            )
        else:
            first, _, last = person.name.partition(" ")
            claims.update(
                aud=self.app.identifier_uris[0],
                iss=self.v1_issuer(tid),
                acr="1",
                amr=["pwd"],
                appid=client_app,
                appidacr="0",
                given_name=first,
                family_name=last,
                ipaddr="127.0.0.1",
                unique_name=person.upn,
                upn=person.upn,
                ver="1.0",
            )
        # The app roles assigned to the person on Tandem's enterprise app: the seeded table,
        # and the assignments made through Graph (appRoleAssignedTo).
        roles = list(seed.APP_ROLES.get(person.upn.lower(), ()))
        roles += [r for r in self.assigned_roles(person) if r not in roles]
        if roles:
            claims["roles"] = roles
        claims.update(overrides or {})
        for name in remove or []:
            claims.pop(name, None)
        self.stats.bump("ssoTokensIssued")
        return self.sign(claims)

    def graph_token(
        self, person: Person, names: list[str], *, resource: str = GRAPH_RESOURCES[0]
    ) -> str:
        """A v1 Graph access token for the person with these delegated scope names."""
        now = int(time.time())
        tid = person.tenant_id
        return self.sign(
            {
                "aud": resource,
                "iss": self.v1_issuer(tid),
                "iat": now,
                "nbf": now,
                "exp": now + self.graph_token_lifetime,
                "acr": "1",
                "app_displayname": self.app.name,
                "appid": self.app.client_id,
                "appidacr": "1" if not self.app.certificates else "2",
                "idtyp": "user",
                "name": person.name,
                "oid": person.oid,
                "scp": " ".join(sorted(names)),
                "sub": _b64url(uuid.uuid4().bytes),
                "tid": tid,
                "unique_name": person.upn,
                "upn": person.upn,
                "uti": _b64url(uuid.uuid4().bytes),
                "ver": "1.0",
            }
        )

    def error_body(self, error: EntraError, correlation_id: str | None) -> dict[str, Any]:
        """Entra's error body for an AADSTS code: the exact members Entra sends."""
        spec = AADSTS[error.code]
        trace = str(uuid.uuid4())
        correlation = correlation_id or str(uuid.uuid4())
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        defaults = {
            "client_id": self.app.client_id,
            "tenant": "",
            "reason": "",
            "now": "",
            "exp": "",
            "grant": "",
            "parameter": "",
            "scope": "",
            "resource": "",
        }
        message = spec["message"].format(**dict(defaults, **error.values))
        body: dict[str, Any] = {
            "error": spec["error"],
            "error_description": f"AADSTS{error.code}: {message}\r\nTrace ID: {trace}\r\n"
            f"Correlation ID: {correlation}\r\nTimestamp: {stamp}",
            "error_codes": [error.code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"{self.base_url}/error?code={error.code}",
        }
        if spec.get("suberror"):
            body["suberror"] = spec["suberror"]
        if spec.get("claims"):
            body["claims"] = json.dumps(
                {"access_token": {"capolids": {"essential": True, "values": [str(uuid.uuid4())]}}},
                separators=(",", ":"),
            )
        return body

    def authenticate_client(
        self,
        form: dict[str, str],
        tenant: str,
        *,
        basic: tuple[str, str] | None,
        token_endpoint: str,
    ) -> None:
        """Check the confidential client's secret (body or Basic) or certificate assertion."""
        client_id = form.get("client_id", "") or (basic[0] if basic else "")
        if client_id.lower() != self.app.client_id:
            raise EntraError(700016, client_id=client_id, tenant=tenant)
        secret = form.get("client_secret") or (basic[1] if basic else "")
        if secret:
            if any(hmac.compare_digest(secret, s) for s in self.app.secrets):
                return
            raise EntraError(7000215)
        assertion = form.get("client_assertion")
        if assertion:
            if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
                raise EntraError(900144, parameter="client_assertion_type")
            self._check_client_assertion(assertion, token_endpoint)
            return
        raise EntraError(7000218)

    def _check_client_assertion(self, assertion: str, token_endpoint: str) -> None:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError:
            raise EntraError(700027, reason="The assertion is not a JWT.") from None
        alg = header.get("alg")
        if alg not in ("RS256", "PS256"):
            raise EntraError(700027, reason=f"The algorithm {alg} is not supported.")
        match = None
        s256, s1 = _thumbprint(header.get("x5t#S256")), _thumbprint(header.get("x5t"))
        for cert in self.app.certificates:
            der = cert.public_bytes(serialization.Encoding.DER)
            sha1 = hashlib.sha1(der).digest()  # noqa: S324 - x5t is SHA-1 by definition
            if s256 == hashlib.sha256(der).digest() or s1 == sha1:
                match = cert
                break
        if match is None:
            raise EntraError(700027, reason="The key was not found.")
        try:
            claims = jwt.decode(
                assertion,
                # A certificate's key type also names keys that sign nothing (X25519, X448),
                # which PyJWT's does not: RS256/PS256 (checked above) need an RSA key anyway.
                match.public_key(),  # type: ignore[arg-type]
                algorithms=[alg],
                audience=token_endpoint,
                options={"require": ["exp", "aud", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise EntraError(700027, reason="The client assertion has expired.") from None
        except jwt.InvalidAudienceError:
            raise EntraError(
                700027, reason="The client assertion audience is not this endpoint."
            ) from None
        except jwt.InvalidTokenError:
            raise EntraError(
                700027, reason="The signature does not match the certificate."
            ) from None
        if claims.get("iss") != self.app.client_id or claims.get("sub") != self.app.client_id:
            raise EntraError(700027, reason="The assertion's issuer and subject must be the app.")

    def on_behalf_of(
        self,
        tenant_segment: str,
        form: dict[str, str],
        *,
        basic: tuple[str, str] | None = None,
        token_endpoint: str,
    ) -> dict[str, Any]:
        """The jwt-bearer grant as MSAL sends it: Entra's checks in Entra's order, or EntraError."""
        self.stats.bump("tokenRequests")
        path_tenant = self._known_tenant(tenant_segment)
        grant = form.get("grant_type", "")
        if grant != JWT_BEARER:
            raise EntraError(70003, grant=grant)
        self.authenticate_client(form, tenant_segment, basic=basic, token_endpoint=token_endpoint)
        fault = self.faults.take("token")
        if fault is not None:
            self._fault(fault)
        if form.get("requested_token_use") != "on_behalf_of":
            raise EntraError(900144, parameter="requested_token_use")
        assertion = form.get("assertion", "")
        if not assertion:
            raise EntraError(900144, parameter="assertion")
        try:
            claims = self.verify(assertion, audience=None)
        except jwt.InvalidTokenError as error:
            raise EntraError(50013, reason=str(error) or "The key was not found.") from None
        person = self.exchange.person(str(claims.get("oid", "")))
        if person is not None:
            self.stats.token_request(person.upn)
        now = int(time.time())
        if int(claims.get("exp", 0)) <= now:
            stamp = "%m/%d/%Y %H:%M:%S"
            raise EntraError(
                500133,
                now=time.strftime(stamp, time.gmtime(now)),
                exp=time.strftime(stamp, time.gmtime(int(claims.get("exp", 0)))),
            )
        if claims.get("aud") not in [self.app.client_id, *self.app.identifier_uris]:
            raise EntraError(
                50013,
                reason="Assertion audience does not match the Client app presenting the assertion.",
            )
        tid = str(claims.get("tid", ""))
        if path_tenant is not None and tid != path_tenant:
            raise EntraError(50013, reason="Assertion issuer mismatch.")
        if claims.get("iss") not in {self.v2_issuer(tid), self.v1_issuer(tid)}:
            raise EntraError(50013, reason="Assertion issuer is not valid.")
        if person is None:
            raise EntraError(50013, reason="The user in the assertion does not exist.")
        scopes = form.get("scope", "").split()
        resource_scopes = [s for s in scopes if s not in OIDC_SCOPES]
        if not resource_scopes:
            raise EntraError(70011)
        resources = {
            s.rsplit("/", 1)[0] if "://" in s else "https://graph.microsoft.com"
            for s in resource_scopes
        }
        if len(resources) != 1 or next(iter(resources)) not in GRAPH_RESOURCES:
            raise EntraError(70011)
        resource = resources.pop()
        names = [s.rsplit("/", 1)[-1] for s in resource_scopes]
        if not set(names) <= self.app.consented.get(tid, set()):
            raise EntraError(65001)
        return self._issue(person, resource, names, scopes)

    def client_credentials(
        self,
        tenant_segment: str,
        form: dict[str, str],
        *,
        basic: tuple[str, str] | None = None,
        token_endpoint: str,
    ) -> dict[str, Any]:
        """The client-credentials grant (an app-only token), in Entra's order, or EntraError.

        The scope is one resource's `/.default`: the application permissions an administrator
        granted on it, none for Tandem's app (its token then has no `roles`). The answer holds
        token_type, expires_in, ext_expires_in and access_token: no refresh or id token.
        """
        self.stats.bump("tokenRequests")
        tid = self._known_tenant(tenant_segment)
        if tid is None:  # an app-only token is for one tenant: /common names none
            raise EntraError(9001023)
        self.authenticate_client(form, tenant_segment, basic=basic, token_endpoint=token_endpoint)
        fault = self.faults.take("token")
        if fault is not None:
            self._fault(fault)
        scope = form.get("scope", "")
        if not scope:
            raise EntraError(900144, parameter="scope")
        if len(scope.split()) != 1 or not scope.endswith("/.default"):
            raise EntraError(1002012, scope=scope)
        resource = scope.removesuffix("/.default").removesuffix("/")
        own = {self.app.client_id, f"api://{self.app.client_id}", *self.app.identifier_uris}
        if resource not in GRAPH_RESOURCES and resource not in own:
            raise EntraError(500011, resource=resource, tenant=tid)
        if tid not in self.app.consented:  # no service principal of the app in that tenant
            raise EntraError(700016, client_id=self.app.client_id, tenant=tid)
        now = int(time.time())
        # The service principal's object id, stable per app and tenant.
        principal = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.app.client_id}/{tid}"))
        token = self.sign(
            {
                "aud": resource if resource in GRAPH_RESOURCES else self.app.client_id,
                "iss": self.v1_issuer(tid),
                "iat": now,
                "nbf": now,
                "exp": now + self.graph_token_lifetime,
                "app_displayname": self.app.name,
                "appid": self.app.client_id,
                "appidacr": "2" if form.get("client_assertion") else "1",
                "idp": self.v1_issuer(tid),
                "idtyp": "app",
                "oid": principal,
                "sub": principal,
                "tid": tid,
                "uti": _b64url(uuid.uuid4().bytes),
                "ver": "1.0",
            }
        )
        self.stats.bump("tokenIssued")
        lifetime = self.graph_token_lifetime
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }

    def _issue(
        self, person: Person, resource: str, names: list[str], scopes: list[str]
    ) -> dict[str, Any]:
        now = int(time.time())
        tid = person.tenant_id
        id_token = self.sign(
            {
                "aud": self.app.client_id,
                "iss": self.v2_issuer(tid),
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "name": person.name,
                "oid": person.oid,
                "preferred_username": person.upn,
                "sub": _b64url(uuid.uuid4().bytes),
                "tid": tid,
                "ver": "2.0",
            }
        )
        client_info = _b64url(json.dumps({"uid": person.oid, "utid": tid}).encode())
        self.stats.bump("tokenIssued")
        granted = [f"{resource}/{n}" for n in sorted(names)]
        granted += [s for s in scopes if s in OIDC_SCOPES]
        lifetime = self.graph_token_lifetime
        return {
            "token_type": "Bearer",
            "scope": " ".join(granted),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": self.graph_token(person, names, resource=resource),
            "refresh_token": "0.A" + _b64url(uuid.uuid4().bytes * 4),
            "id_token": id_token,
            "client_info": client_info,
        }

    @staticmethod
    def _fault(fault: dict[str, Any]) -> None:
        """Apply an injected token fault: latency, then an AADSTS error or a throttling status."""
        delay = float(fault.get("delayMs", 0)) / 1000
        if delay:
            time.sleep(delay)
        if "aadsts" in fault:
            raise EntraError(int(fault["aadsts"]), reason="Injected.", now="", exp="")
        status = int(fault.get("status", 0))
        if status:
            headers = {}
            if fault.get("retryAfter") is not None:
                headers["Retry-After"] = str(fault["retryAfter"])
            # AADSTS90055 is Entra's throttling answer; 90006 its "temporarily unavailable".
            raise EntraError(90055 if status == 429 else 90006, status=status, headers=headers)


def blueprint(entra: Entra) -> Blueprint:
    """The Entra ID routes: parse the request, ask the model, answer in Entra's shape."""
    bp = Blueprint("entra", __name__)

    @bp.errorhandler(EntraError)
    def entra_error(error: EntraError) -> Response:
        body = entra.error_body(error, request.headers.get("client-request-id"))
        response = jsonify(body)
        response.status_code = error.status
        response.headers.update(error.headers)
        return response

    @bp.errorhandler(KeysUnavailable)
    def keys_unavailable(error: KeysUnavailable) -> Response:
        return Response(error.body, status=error.status, mimetype="text/html")

    @bp.get("/<tenant>/v2.0/.well-known/openid-configuration")
    def openid_configuration(tenant: str) -> Response:
        return jsonify(entra.openid_configuration(tenant))

    @bp.get("/<tenant>/discovery/v2.0/keys")
    @bp.get("/<tenant>/discovery/keys")
    def keys(tenant: str) -> Response:
        return jsonify(entra.jwks(tenant))

    @bp.post("/<tenant>/oauth2/v2.0/token")
    def token(tenant: str) -> Response:
        auth = request.authorization
        basic = None
        if auth is not None and auth.type == "basic" and auth.username:
            basic = (auth.username, auth.password or "")
        form = request.form.to_dict()
        # The on-behalf-of grant answers every other grant type with AADSTS70003.
        grant = entra.on_behalf_of
        if form.get("grant_type") == CLIENT_CREDENTIALS:
            grant = entra.client_credentials
        answer = grant(tenant, form, basic=basic, token_endpoint=f"{entra.base_url}{request.path}")
        return jsonify(answer)

    @bp.get("/error")
    def error_page() -> Response:
        return Response(f"AADSTS{request.args.get('code', '')}", mimetype="text/plain")

    return bp
