"""TokenValidator: checks the Office SSO token (PyJWT + Entra ID's JWKS) and names the caller."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet

from tandem_mailbox import metrics
from tandem_mailbox.config import GUID, OFFICE_CLIENT_IDS, Settings
from tandem_mailbox.errors import InvalidToken, TokenExpired, UpstreamUnavailable

log = logging.getLogger("tandem.identity")

JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
MAX_TOKEN_LENGTH = 16_384
LEEWAY_SECONDS = 60
SCOPE = "access_as_user"
# A sign-in name as claims.py matches it in `Tandem: <name> (<upn>)`: user@domain, no space,
# comma or bracket (a UPN has none of them).
SIGN_IN_NAME = re.compile(r"[^()\s,@]{1,128}@[^()\s,@]{1,127}")


@dataclass(frozen=True)
class Caller:
    """The person an SSO token speaks for."""

    oid: str
    tid: str
    name: str
    upn: str
    assertion: str = field(repr=False)
    # The app roles Entra assigned the person on this app (the token's `roles`).
    roles: frozenset[str] = frozenset()


class KeySet:
    """Entra ID's signing keys: a snapshot read without a lock, refreshed by one fetch at a time.

    A token whose `kid` is in the snapshot never waits for the network, whatever else is
    happening: only a request that needs a fetch (a cold start, an hour-old snapshot, an
    unknown `kid`) takes the fetch lock, and only one fetch runs at a time. An unknown `kid`
    refetches at most once per `cooldown` seconds, so a flood of forged kids can't become a
    flood of fetches, while a genuine key rotation is picked up by the first token signed with
    the new key after the cool-down. A failed fetch is remembered for `failure_memory` seconds:
    with the key endpoint down, a burst of requests makes one fetch, not one each.
    """

    def __init__(
        self,
        url: str,
        *,
        context: ssl.SSLContext,
        timeout: float,
        cooldown: float,
        failure_memory: float = 5.0,
        lifespan: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = url
        self._client = PyJWKClient(
            url, cache_keys=False, cache_jwk_set=False, timeout=timeout, ssl_context=context
        )
        self._cooldown = cooldown
        self._failure_memory = failure_memory
        self._lifespan = lifespan
        self._clock = clock
        self._keys: dict[str, PyJWK] | None = None
        self._fetched_at = 0.0
        self._last_refetch: float | None = None
        self._failed_until = 0.0
        self._fetch_lock = threading.Lock()

    def key(self, kid: str) -> PyJWK | None:
        """The key with this id, or None when Entra ID does not publish it."""
        keys = self._keys
        if keys is not None:
            found = keys.get(kid)
            if found is not None:
                if self._clock() - self._fetched_at > self._lifespan:
                    self._refresh_in_passing()
                return found
        with self._fetch_lock:
            keys = self._keys  # another request may have fetched while this one waited
            if keys is not None and kid in keys:
                return keys[kid]
            if keys is not None:
                now = self._clock()
                if self._last_refetch is not None and now - self._last_refetch < self._cooldown:
                    return None
                self._last_refetch = now
            return self._fetch().get(kid)

    def publishes(self, kid: str) -> bool:
        """Whether the snapshot held now has this key (no fetch)."""
        keys = self._keys
        return keys is not None and kid in keys

    def ready(self) -> None:
        """Raise UpstreamUnavailable unless the key set can be had (cached or fetched)."""
        if self._keys is not None:
            return
        with self._fetch_lock:
            if self._keys is None:
                self._fetch()

    def _refresh_in_passing(self) -> None:
        """Refresh an old snapshot without making anyone wait: skipped if a fetch is running."""
        if not self._fetch_lock.acquire(blocking=False):
            return
        try:
            if self._clock() - self._fetched_at > self._lifespan:
                self._fetch()
        except UpstreamUnavailable:
            pass  # the old keys still serve; the next request tries again after the memory
        finally:
            self._fetch_lock.release()

    def _fetch(self) -> dict[str, PyJWK]:
        """Fetch the key set (the caller holds the fetch lock)."""
        if self._clock() < self._failed_until:
            raise UpstreamUnavailable(
                "Could not fetch Microsoft Entra ID's signing keys.", status=503
            )
        try:
            data = self._client.fetch_data()
            if not isinstance(data, dict):
                raise jwt.PyJWKSetError("the key set is not a JSON object")
            jwk_set = PyJWKSet.from_dict(data)
        except (jwt.PyJWKClientError, jwt.PyJWKSetError, ValueError, OSError) as error:
            # Unreachable, not JSON, or no usable key ({"keys": []}): Entra is not answering
            # as it should, which is a 503 for the caller, never a 500.
            self._failed_until = self._clock() + self._failure_memory
            metrics.JWKS_FETCHES.labels("failed").inc()
            log.warning("could not fetch signing keys from %s: %s", self.url, error)
            raise UpstreamUnavailable(
                "Could not fetch Microsoft Entra ID's signing keys.", status=503
            ) from error
        keys = {
            key.key_id: key
            for key in jwk_set.keys
            if key.key_id and key.public_key_use in (None, "sig")
        }
        metrics.JWKS_FETCHES.labels("ok").inc()
        self._keys = keys
        self._fetched_at = self._clock()
        self._failed_until = 0.0
        return keys


# Tokens whose validation is remembered (until each one's `exp`): a person's pane sends the
# same token for up to an hour, and verifying its RSA signature again each time is the largest
# part of a request's own CPU after the Graph call.
MAX_VALIDATED = 4096


class TokenValidator:
    """Validates Office SSO tokens: signature, audience, issuer, tenant, time, scope.

    A token that passed is remembered with its claims until its `exp` (at most MAX_VALIDATED
    of them, the oldest forgotten first), so the next request with it is not verified again,
    as long as the key that signed it is still in the key set's snapshot: a key Entra ID
    stopped publishing ends the tokens it signed as soon as a fetch shows it gone.
    """

    def __init__(
        self,
        settings: Settings,
        keys: KeySet,
        *,
        clock: Callable[[], float] = time.time,
        remembered: int = MAX_VALIDATED,
    ):
        self._settings = settings
        self._keys = keys
        self._clock = clock
        self._remembered = remembered
        self._validated: dict[str, tuple[Caller, float, str]] = {}
        self._lock = threading.Lock()
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
        known = self._validated.get(token)
        if known is not None:
            caller, expires, kid = known
            if self._clock() < expires and self._keys.publishes(kid):
                metrics.child(metrics.SSO_TOKENS, "remembered").inc()
                return caller
            with self._lock:
                self._validated.pop(token, None)
        caller, expires, kid = self._validate(token)
        metrics.child(metrics.SSO_TOKENS, "verified").inc()
        if self._remembered > 0:
            with self._lock:
                self._validated[token] = (caller, expires, kid)
                while len(self._validated) > self._remembered:
                    self._validated.pop(next(iter(self._validated)))
        return caller

    def _validate(self, token: str) -> tuple[Caller, float, str]:
        """Every check of the token; answers the caller, until when it holds, and the id of
        the key that signed it."""
        header = _header(token)
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
            # Times are checked in _check_claims, after their types: PyJWT reads a digit
            # string or `true` as a number of seconds.
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=["RS256"],
                audience=[settings.client_id, settings.app_id_uri],
                options={
                    "require": ["exp", "nbf", "iat", "iss", "aud", "tid", "ver", "oid"],
                    "verify_iss": False,  # checked below against the token's own tid
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidAudienceError as error:
            raise InvalidToken("The token was issued for another application.") from error
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"The token lacks the '{error.claim}' claim.") from error
        except jwt.InvalidTokenError as error:
            raise InvalidToken("The token's signature or claims are invalid.") from error
        # Until `exp` passes the leeway the checks below allow: then it answers token_expired.
        return self._check_claims(claims, token), float(claims["exp"] + LEEWAY_SECONDS), kid

    def _bearer(self, authorization: str | None) -> str:
        if not authorization:
            raise InvalidToken("Sign-in is required: the request carries no token.")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidToken("The Authorization header must be 'Bearer <token>'.")
        if len(token) > MAX_TOKEN_LENGTH or not JWT_SHAPE.fullmatch(token):
            raise InvalidToken("The token is not a well-formed JWT.")
        return token

    def _check_claims(self, claims: dict[str, Any], token: str) -> Caller:
        settings = self._settings
        for name in ("exp", "nbf", "iat"):
            if isinstance(claims[name], bool) or not isinstance(claims[name], int):
                raise InvalidToken(f"The token's '{name}' claim is not a number of seconds.")
        for name in ("iss", "tid", "ver", "oid"):
            if not isinstance(claims[name], str):
                raise InvalidToken(f"The token's '{name}' claim is not a string.")
        for name in ("scp", "azp", "appid", "preferred_username", "upn", "unique_name", "name"):
            if name in claims and not isinstance(claims[name], str):
                raise InvalidToken(f"The token's '{name}' claim is not a string.")
        now = self._clock()
        if claims["exp"] + LEEWAY_SECONDS <= now:
            raise TokenExpired("The sign-in token has expired.")
        if claims["nbf"] - LEEWAY_SECONDS > now:
            raise InvalidToken("The token is not valid yet.")
        tid = claims["tid"].lower()
        if not GUID.fullmatch(tid):
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
        scopes = claims.get("scp", "").split()
        if SCOPE not in scopes:
            raise InvalidToken(f"The token does not grant the '{SCOPE}' scope.")
        # Office's SSO tokens name an Office client; nested app authentication's name the
        # add-in's own app (MSAL.js in the pane asks for the token as that app).
        if settings.office_clients_only and client_app not in (
            OFFICE_CLIENT_IDS | {settings.client_id}
        ):
            raise InvalidToken("The token was not obtained by an Office client.")
        oid = claims["oid"].lower()
        if not GUID.fullmatch(oid):
            raise InvalidToken("The token's object id is malformed.")
        # Claims, presence and the audit name the person by their sign-in name: a token without
        # one (an app's, a guest's odd account) would claim items as `Tandem: Lee Gu ()`, which
        # no one is seen to hold. Work accounts always carry it (a UPN: no space, no brackets).
        if not isinstance(upn, str) or not SIGN_IN_NAME.fullmatch(upn):
            raise InvalidToken(
                "The token names no user: it needs preferred_username (v2.0) or upn (v1.0) "
                "holding the person's sign-in name."
            )
        roles = claims.get("roles")
        return Caller(
            oid=oid,
            tid=tid,
            name=str(claims.get("name") or upn),
            upn=upn,
            assertion=token,
            roles=frozenset(r for r in roles if isinstance(r, str))
            if isinstance(roles, list)
            else frozenset(),
        )


def _header(token: str) -> dict[str, Any]:
    """The token's JOSE header (RFC 7515 section 7.1: the first segment, base64url JSON), read
    only to choose the key and refuse other algorithms early; `jwt.decode` reads it again.

    PyJWT's get_unverified_header would decode and check all three segments character by
    character, as jwt.decode does once more: about a tenth of a validation's CPU for an Entra
    ID token of 2 KB (bench/RESULTS.md). The segment's alphabet was checked by JWT_SHAPE.
    """
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error) as error:  # not base64, not UTF-8, not JSON
        raise InvalidToken("The token is not a well-formed JWT.") from error
    if not isinstance(header, dict):
        raise InvalidToken("The token is not a well-formed JWT.")
    return header
