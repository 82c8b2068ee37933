"""OnBehalfOf: the SSO token exchanged through MSAL for a Graph token; cached; errors mapped."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import urlencode

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from tandem_mailbox import metrics
from tandem_mailbox.config import ConfigError, Settings
from tandem_mailbox.coordination import CoordinationUnavailable, Coordinator, LockTimeout
from tandem_mailbox.coordination.memory import LocalCoordinator
from tandem_mailbox.errors import (
    ApiError,
    ConsentRequired,
    InteractionRequired,
    InvalidToken,
    ServerMisconfigured,
    Throttled,
    TokenExpired,
    UpstreamUnavailable,
)
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.microsoft.outbound import Session, retry_after

log = logging.getLogger("tandem.obo")

# AADSTS codes, from Microsoft Entra's error code reference.
EXPIRED_ASSERTION = {500133}
INTERACTION = {50076, 50079, 50158, 50072, 50074, 53003, 53000, 53001, 50125}
CONSENT = {65001, 65004, 65005}
BAD_CREDENTIALS = {
    7000215: "TANDEM_CLIENT_SECRET",  # invalid client secret
    7000222: "TANDEM_CLIENT_SECRET",  # the secret has expired
    7000218: "TANDEM_CLIENT_SECRET",  # neither secret nor assertion
    700027: "TANDEM_CLIENT_CERT",  # client assertion signature invalid
    700024: "TANDEM_CLIENT_CERT",  # client assertion not within its valid time range
    700023: "TANDEM_CLIENT_CERT",  # client assertion audience invalid
    700016: "TANDEM_CLIENT_ID",  # app not found in the directory
    90002: "TANDEM_TENANT_ID",  # tenant not found
    900023: "TANDEM_TENANT_ID",  # tenant identifier malformed
    7000112: "TANDEM_CLIENT_ID",  # application is disabled
}
THROTTLED = {50196, 90055, 90056}
# MSAL's own memory of a 429/5xx is keyed by URL, client id and scopes only: for on-behalf-of
# requests that is everyone of a tenant. Its keys end with this marker (msal
# throttled_http_client); `_PerPersonThrottling` keeps such entries out of MSAL's memory, and
# OnBehalfOf remembers throttling per person instead.
MSAL_THROTTLE_MARKER = "429/5xx/Retry-After"
# The lock that makes one exchange per key across workers outlives a killed holder this long.
EXCHANGE_LOCK_TTL = 10.0
# How long the marker of an evicted cache entry lasts: the exchange that follows overwrites it.
EVICTED_TTL = 60.0


class _PerPersonThrottling(dict[Any, Any]):  # MSAL's keys and values, whatever they are
    """MSAL's http_cache, minus its tenant-wide memory of 429 and 5xx answers.

    Everything else MSAL keeps there (its 60 s memory of an identical failed request, which is
    per person since it hashes the whole request) stays.
    """

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, str) and key.endswith(MSAL_THROTTLE_MARKER):
            return
        super().__setitem__(key, value)


class GraphToken(str):
    """A Graph access token that can be replaced when Graph refuses it.

    It is the token's text wherever a string goes (the Authorization header), and carries how
    to get its replacement: GraphClient calls `renew()` once on a 401 and retries with the
    answer, so a refused cached token costs the person one more exchange, not an error for
    the rest of its life, and no caller between the view and Graph needs to know.
    """

    def __new__(cls, token: str, renew: Callable[[str], str]) -> GraphToken:
        made = super().__new__(cls, token)
        made._renew = renew
        return made

    _renew: Callable[[str], str]

    def renew(self) -> str:
        """A fresh token for the same person (their cached entry evicted first)."""
        return self._renew(str(self))

    def __repr__(self) -> str:
        return "GraphToken(<redacted>)"


class _Flight:
    """One exchange in progress; others with the same key wait for its outcome."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.token: str | None = None
        self.error: ApiError | None = None


class OnBehalfOf:
    """Exchanges a person's SSO token for a Graph token; one MSAL client per authority tenant.

    MSAL for Python's acquire_token_on_behalf_of never reads its token cache, so a cache keyed
    by a hash of the assertion, the tenant and the scopes sits in front of it: the
    coordinator's (in this process, or in Redis encrypted for every worker). Concurrent
    requests with one assertion wait for a single exchange (single flight per key: unrelated
    people never wait for each other), across workers too: the leader holds the coordinator's
    lock on the key while it exchanges, and the others find its entry once they get the lock.
    Throttling by Entra ID is remembered per key for its Retry-After, so one person's 429 is
    neither replayed to the rest of the tenant (MSAL's own memory would) nor retried against
    Entra by that person before it has passed.
    """

    def __init__(
        self,
        settings: Settings,
        session: Session,
        *,
        clock: Callable[[], float] = time.time,
        max_entries: int = 10_000,
        margin: float = 300.0,
        coordinator: Coordinator | None = None,
    ):
        self._settings = settings
        self._session = session
        self._clock = clock
        self._max_entries = max_entries
        self._margin = margin
        self._cache = coordinator or LocalCoordinator(max_entries=max_entries)
        self._cache_lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}
        self._throttled_until: dict[str, float] = {}  # key -> wall-clock time the throttling ends
        self._apps: OrderedDict[str, msal.ConfidentialClientApplication] = OrderedDict()
        self._apps_lock = threading.Lock()
        self._credential = credential(settings)
        # What a cache hit would work out again each time: the key of an assertion (a hash of
        # 2 KB), and an entry's token and expiry (its JSON, read as it is stored).
        self._keys: dict[str, str] = {}
        self._entries: dict[str, tuple[bytes, str, float]] = {}

    def graph_token(self, caller: Caller) -> GraphToken:
        """A Graph access token on behalf of the caller, from the cache when still fresh.

        The token knows how to replace itself should Graph refuse it (see GraphToken).
        """
        return GraphToken(self._token(caller), lambda refused: self.renewed(caller, refused))

    def renewed(self, caller: Caller, refused: str) -> GraphToken:
        """A new Graph token for the caller, after Graph answered 401 to `refused`.

        Graph refuses a token it no longer accepts (revoked sessions, a key rolled over) long
        before the cache would let it go: the person's entry is evicted (for every worker) and
        the SSO token exchanged once more. When another request of theirs already did so, the
        token it cached is the answer, without asking Entra ID again.
        """
        key = self._key(caller)
        cached = self._lookup(key)
        if cached is not None and cached != refused:
            return GraphToken(cached, lambda again: self.renewed(caller, again))
        log.info("Microsoft Graph refused a cached on-behalf-of token (401); exchanging again")
        metrics.OBO_CACHE.labels("evicted").inc()
        # The coordinator has no delete: an entry that names no token is a miss everywhere.
        self._cache.store(key, b"{}", ttl=EVICTED_TTL)
        return self.graph_token(caller)

    def _key(self, caller: Caller) -> str:
        """The cache key of the caller's Graph token: their assertion, tenant and scopes."""
        key = self._keys.get(caller.assertion)
        if key is None:
            scopes = self._settings.scopes
            key = hashlib.sha256(
                "\n".join(
                    [caller.assertion, self._tenant(caller), " ".join(sorted(scopes))]
                ).encode()
            ).hexdigest()
            with self._cache_lock:
                self._keys[caller.assertion] = key
                while len(self._keys) > self._max_entries:
                    self._keys.pop(next(iter(self._keys)))
        return key

    def _tenant(self, caller: Caller) -> str:
        return caller.tid if self._settings.multi_tenant else self._settings.tenant_id

    def _token(self, caller: Caller) -> str:
        scopes = list(self._settings.scopes)
        tenant = self._tenant(caller)
        key = self._key(caller)
        cached = self._lookup(key)
        if cached is not None:
            metrics.child(metrics.OBO_CACHE, "hit").inc()
            return cached
        metrics.OBO_CACHE.labels("miss").inc()
        with self._cache_lock:
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
        assert flight is not None
        if not leader:
            flight.done.wait(timeout=self._settings.http_timeout * 3 + 5)
            if flight.token is not None:
                return flight.token
            if flight.error is not None:
                raise flight.error
            raise UpstreamUnavailable("Microsoft Entra ID did not answer.", status=504)
        try:
            flight.token = self._exchange_once(key, tenant, caller, scopes)
            return flight.token
        except ApiError as error:
            flight.error = error
            raise
        finally:
            with self._cache_lock:
                self._flights.pop(key, None)
            flight.done.set()

    def _exchange_once(self, key: str, tenant: str, caller: Caller, scopes: list[str]) -> str:
        cached = self._lookup(key)  # a flight that ended just before this one began
        if cached is not None:
            return cached
        with ExitStack() as stack:
            try:
                stack.enter_context(
                    self._cache.lock(
                        "obo:" + key,
                        ttl=EXCHANGE_LOCK_TTL,
                        wait=2 * self._settings.http_timeout + 1,
                    )
                )
            except LockTimeout:
                log.info("another worker's exchange for this person is slow; exchanging here")
            except CoordinationUnavailable:
                pass  # without Redis every worker exchanges for itself
            return self._exchange_now(key, tenant, caller, scopes)
        raise AssertionError("unreachable")

    def _exchange_now(self, key: str, tenant: str, caller: Caller, scopes: list[str]) -> str:
        cached = self._lookup(key)  # another worker's, stored while this one waited
        if cached is not None:
            return cached
        until = self._throttled_until.get(key)
        now = self._clock()
        if until is not None:
            if until > now:
                raise Throttled(
                    "Microsoft Entra ID asked us to slow down.", retry_after=until - now
                )
            self._throttled_until.pop(key, None)
        try:
            result = self._exchange(tenant, caller, scopes)
        except ApiError as error:
            metrics.OBO_EXCHANGES.labels(error.code).inc()
            if isinstance(error, Throttled):
                self._remember_throttling(key, error)
            raise
        metrics.OBO_EXCHANGES.labels("ok").inc()
        token: str = result["access_token"]
        lifetime = float(result.get("expires_in") or 0)
        keep = lifetime - min(self._margin, lifetime / 2)
        entry = {"token": token, "expiresAt": self._clock() + keep}
        self._cache.store(key, json.dumps(entry).encode(), ttl=keep)
        return token

    def _remember_throttling(self, key: str, error: Throttled) -> None:
        """Answer this person `throttled` from memory until Entra's Retry-After has passed."""
        with self._cache_lock:
            self._throttled_until[key] = self._clock() + float(error.members["retryAfter"])
            while len(self._throttled_until) > self._max_entries:
                self._throttled_until.pop(next(iter(self._throttled_until)))

    def _lookup(self, key: str) -> str | None:
        raw = self._cache.fetch(key)
        if raw is None:
            return None
        read = self._entries.get(key)
        if read is not None and read[0] == raw:
            token, expires_at = read[1], read[2]
        else:
            try:
                entry = json.loads(raw)
                token, expires_at = str(entry["token"]), float(entry["expiresAt"])
            except (ValueError, KeyError, TypeError):
                return None
            with self._cache_lock:
                self._entries[key] = (raw, token, expires_at)
                while len(self._entries) > self._max_entries:
                    self._entries.pop(next(iter(self._entries)))
        # The cache's own expiry runs on its clock; this one on the injected wall clock.
        return token if expires_at > self._clock() else None

    def _app(self, tenant: str) -> msal.ConfidentialClientApplication:
        with self._apps_lock:
            app = self._apps.get(tenant)
            if app is not None:
                self._apps.move_to_end(tenant)
                return app
        settings = self._settings
        authority = f"https://{settings.authority_host}/{tenant}"
        with upstream_errors(authority):
            app = msal.ConfidentialClientApplication(
                settings.client_id,
                client_credential=self._credential,
                authority=authority,
                http_client=self._session,
                http_cache=_PerPersonThrottling(),
                instance_discovery=False,  # the authority comes from the fixed cloud table
            )
        with self._apps_lock:
            self._apps[tenant] = app
            while len(self._apps) > 1000:
                self._apps.popitem(last=False)
        return app

    def _exchange(self, tenant: str, caller: Caller, scopes: list[str]) -> dict[str, Any]:
        app = self._app(tenant)
        last = self._session.last
        last.status = last.retry_after = None
        try:
            with upstream_errors(f"the token endpoint of {tenant}"):
                result: dict[str, Any] = app.acquire_token_on_behalf_of(caller.assertion, scopes)
        except UpstreamUnavailable as error:
            # A body that is not JSON (Entra's 429 may be plain text) or a 5xx: a 429 it was?
            raise self._throttled() or error from error
        if "access_token" in result:
            return result
        raise self._throttled() or self._error(result, tenant)

    def _throttled(self) -> Throttled | None:
        """Throttled, with Entra's Retry-After, when the token endpoint just answered 429."""
        last = self._session.last
        if getattr(last, "status", None) != 429:
            return None
        wait = retry_after(last.retry_after, now=self._clock())
        return Throttled("Microsoft Entra ID asked us to slow down.", retry_after=wait or 5)

    def _error(self, result: dict[str, Any], tenant: str) -> ApiError:
        """An Entra ID error body as the contract's error; logs what the operator needs."""
        error = str(result.get("error") or "")
        codes = {int(c) for c in result.get("error_codes") or [] if str(c).isdigit()}
        suberror = str(result.get("suberror") or "")
        first = min(codes) if codes else None
        log.info(
            "on-behalf-of refused: error=%s codes=%s suberror=%s", error, sorted(codes), suberror
        )
        if codes & EXPIRED_ASSERTION:
            return TokenExpired("The sign-in token has expired.")
        if codes & CONSENT or suberror == "consent_required" or error == "consent_required":
            return ConsentRequired(
                "An administrator must grant this add-in access to mailboxes first.",
                consent_url=self.consent_url(tenant),
            )
        if codes & INTERACTION or error == "interaction_required":
            return InteractionRequired(
                "Your organisation requires another sign-in step (such as MFA).",
                claims=result.get("claims"),
            )
        bad = [BAD_CREDENTIALS[c] for c in codes if c in BAD_CREDENTIALS]
        if bad or error in {"invalid_client", "unauthorized_client"}:
            setting = bad[0] if bad else "TANDEM_CLIENT_ID"
            log.error(
                "Entra ID refused the app's own credentials (AADSTS%s, %s): check %s",
                first,
                error,
                setting,
            )
            return ServerMisconfigured("The add-in's server could not sign in to Microsoft 365.")
        if codes & THROTTLED or error in {"temporarily_unavailable", "slow_down"}:
            return Throttled("Microsoft Entra ID asked us to slow down.", retry_after=5)
        if error in {"invalid_grant", "invalid_request"}:
            return InvalidToken("Microsoft Entra ID did not accept the sign-in token.")
        log.error("unexpected Entra ID answer: error=%s codes=%s", error, sorted(codes))
        return UpstreamUnavailable("Microsoft Entra ID gave an unexpected answer.", status=502)

    def consent_url(self, tenant: str) -> str:
        """Where an administrator grants the app's permissions for the organisation."""
        settings = self._settings
        query = urlencode(
            {"client_id": settings.client_id, "redirect_uri": settings.public_url + "/consent-done"}
        )
        return f"https://{settings.authority_host}/{tenant}/adminconsent?{query}"


@contextmanager
def upstream_errors(where: str) -> Iterator[None]:
    """What MSAL raises while talking to Entra ID, as the contract's errors."""
    try:
        yield
    except requests.Timeout as error:
        raise UpstreamUnavailable("Microsoft Entra ID did not answer.", status=504) from error
    except requests.RequestException as error:
        raise UpstreamUnavailable("Microsoft Entra ID is unreachable.", status=503) from error
    except msal.exceptions.MsalServiceError as error:
        # MSAL raises on a 5xx from the token endpoint (and on discovery failures).
        raise UpstreamUnavailable("Microsoft Entra ID is unavailable.", status=503) from error
    except ValueError as error:
        # Not JSON, or an authority MSAL could not read (a tenant Entra doesn't know).
        log.error("Entra ID answered %s with something unreadable: %s", where, error)
        raise UpstreamUnavailable(
            "Microsoft Entra ID answered something unreadable.", status=502
        ) from error


def credential(settings: Settings) -> str | dict[str, str]:
    """A client secret, or the certificate credential MSAL signs client assertions with."""
    if settings.client_secret:
        return settings.client_secret
    assert settings.client_cert and settings.client_key
    cert_pem = settings.client_cert.read_bytes()
    key_pem = settings.client_key.read_bytes()
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except ValueError as error:
        raise ConfigError(
            "TANDEM_CLIENT_CERT / TANDEM_CLIENT_KEY are not a PEM certificate and unencrypted key"
        ) from error
    if cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise ConfigError("TANDEM_CLIENT_KEY is not the key of TANDEM_CLIENT_CERT")
    log.info(
        "certificate credential: SHA-1 thumbprint %s (what the Entra portal shows)",
        cert.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - a display thumbprint
    )
    return {"private_key": key_pem.decode(), "public_certificate": cert_pem.decode()}
