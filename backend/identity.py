"""TokenValidator: checks the Office SSO token (PyJWT + Entra ID's JWKS) and names the caller."""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient

from .config import GUID, OFFICE_CLIENT_IDS, Settings
from .errors import InvalidToken, TokenExpired, UpstreamUnavailable

log = logging.getLogger("tandem.identity")

JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
MAX_TOKEN_LENGTH = 16_384
LEEWAY_SECONDS = 60
SCOPE = "access_as_user"


@dataclass(frozen=True)
class Caller:
    """The person an SSO token speaks for."""

    oid: str
    tid: str
    name: str
    upn: str
    version: str
    client_app: str
    expires_at: int
    assertion: str = field(repr=False)


class KeySet:
    """Entra ID's signing keys through PyJWKClient: cached, refetched on an unknown `kid`.

    A refetch for an unknown `kid` happens at most once per `cooldown` seconds, so a flood
    of forged kids can't become a flood of fetches, while a genuine key rotation is picked
    up by the first token signed with the new key after the cool-down.
    """

    def __init__(
        self,
        url: str,
        *,
        context: ssl.SSLContext,
        timeout: float,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = url
        self._client = PyJWKClient(
            url,
            cache_keys=False,
            cache_jwk_set=True,
            lifespan=3600,
            timeout=timeout,
            ssl_context=context,
        )
        self._cooldown = cooldown
        self._clock = clock
        self._last_refetch: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> PyJWK | None:
        """The key with this id, or None when Entra ID does not publish it."""
        with self._lock:
            cache = self._client.jwk_set_cache
            cold = cache is None or cache.get() is None
            found = self._find(self._fetch(refresh=False), kid)
            if found is not None or cold:  # a cold cache was just fetched: no second fetch
                return found
            now = self._clock()
            if self._last_refetch is not None and now - self._last_refetch < self._cooldown:
                return None
            self._last_refetch = now
            return self._find(self._fetch(refresh=True), kid)

    def ready(self) -> None:
        """Raise UpstreamUnavailable unless the key set can be had (cached or fetched)."""
        with self._lock:
            self._fetch(refresh=False)

    def _fetch(self, *, refresh: bool) -> Any:
        try:
            return self._client.get_jwk_set(refresh=refresh)
        except jwt.PyJWKClientError as error:
            log.warning("could not fetch signing keys from %s: %s", self.url, error)
            raise UpstreamUnavailable(
                "Could not fetch Microsoft Entra ID's signing keys.", status=503
            ) from error

    @staticmethod
    def _find(jwk_set: Any, kid: str) -> PyJWK | None:
        for key in jwk_set.keys:
            if key.key_id == kid and key.public_key_use in (None, "sig"):
                return key
        return None


class TokenValidator:
    """Validates Office SSO tokens: signature, audience, issuer, tenant, time, scope."""

    def __init__(self, settings: Settings, keys: KeySet, *, clock: Callable[[], float] = time.time):
        self._settings = settings
        self._keys = keys
        self._clock = clock
        cloud = settings.cloud
        # TANDEM_AUTHORITY_HOST (the emulator, a regional host) issues under its own name.
        self._v2_hosts = (
            cloud.v2_issuer_hosts
            if settings.authority_host in cloud.v2_issuer_hosts
            else (settings.authority_host,)
        )
        self._v1_hosts = settings.cloud.v1_issuer_hosts

    def caller(self, authorization: str | None) -> Caller:
        """The caller behind an `Authorization: Bearer` header, or InvalidToken / TokenExpired."""
        token = self._bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise InvalidToken("The token is not a well-formed JWT.") from error
        # RS256 only: "none", HS256 (signed with the public key as a secret) and friends
        # never reach a key. Entra ID signs access tokens with RS256 (RFC 7518 section 3.3).
        if header.get("alg") != "RS256":
            raise InvalidToken("The token is not signed with RS256.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 256:
            raise InvalidToken("The token names no signing key.")
        if "crit" in header:
            raise InvalidToken("The token carries critical header parameters.")
        key = self._keys.key(kid)
        if key is None:
            raise InvalidToken("The token is signed with a key Entra ID does not publish.")
        settings = self._settings
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=["RS256"],
                audience=[settings.client_id, settings.app_id_uri],
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["exp", "nbf", "iat", "iss", "aud", "tid", "ver", "oid"],
                    "verify_iss": False,  # checked below against the token's own tid
                },
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenExpired("The sign-in token has expired.") from error
        except jwt.ImmatureSignatureError as error:
            raise InvalidToken("The token is not valid yet.") from error
        except jwt.InvalidAudienceError as error:
            raise InvalidToken("The token was issued for another application.") from error
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"The token lacks the '{error.claim}' claim.") from error
        except jwt.InvalidTokenError as error:
            raise InvalidToken("The token's signature or claims are invalid.") from error
        return self._check_claims(claims, token)

    def _bearer(self, authorization: str | None) -> str:
        if not authorization:
            raise InvalidToken("Sign-in is required: the request carries no token.")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidToken("The Authorization header must be 'Bearer <token>'.")
        if len(token) > MAX_TOKEN_LENGTH or not JWT_SHAPE.match(token):
            raise InvalidToken("The token is not a well-formed JWT.")
        return token

    def _check_claims(self, claims: dict[str, Any], token: str) -> Caller:
        settings = self._settings
        now = self._clock()
        if claims["exp"] + LEEWAY_SECONDS <= now:
            raise TokenExpired("The sign-in token has expired.")
        if claims["nbf"] - LEEWAY_SECONDS > now:
            raise InvalidToken("The token is not valid yet.")
        tid = str(claims["tid"]).lower()
        if not GUID.match(tid):
            raise InvalidToken("The token's tenant id is malformed.")
        version = claims["ver"]
        issuer = claims["iss"]
        if version == "2.0":
            expected = {f"https://{host}/{tid}/v2.0" for host in self._v2_hosts}
            if claims["aud"] != settings.client_id:
                raise InvalidToken("A v2.0 token's audience must be the app's client id.")
            client_app = claims.get("azp")
            upn = claims.get("preferred_username")
        elif version == "1.0":
            expected = {f"https://{host}/{tid}/" for host in self._v1_hosts}
            client_app = claims.get("appid")
            upn = claims.get("upn") or claims.get("unique_name")
        else:
            raise InvalidToken("The token's version is not 1.0 or 2.0.")
        if issuer not in expected:
            raise InvalidToken("The token's issuer does not match its version, cloud and tenant.")
        if settings.allowed_tenants is not None and tid not in settings.allowed_tenants:
            raise InvalidToken("People of this organisation may not use this add-in.")
        scopes = str(claims.get("scp", "")).split()
        if SCOPE not in scopes:
            raise InvalidToken(f"The token does not grant the '{SCOPE}' scope.")
        if settings.office_clients_only and client_app not in OFFICE_CLIENT_IDS:
            raise InvalidToken("The token was not obtained by an Office client.")
        oid = str(claims["oid"]).lower()
        if not GUID.match(oid):
            raise InvalidToken("The token's object id is malformed.")
        return Caller(
            oid=oid,
            tid=tid,
            name=str(claims.get("name") or upn or ""),
            upn=str(upn or ""),
            version=version,
            client_app=str(client_app or ""),
            expires_at=int(claims["exp"]),
            assertion=token,
        )
