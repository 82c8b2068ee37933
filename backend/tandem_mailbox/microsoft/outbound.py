"""Outbound HTTPS: one trust store built once, and clients the environment cannot weaken.

`Session` (requests) serves MSAL and the doctor; Graph's calls go through `Pool` (urllib3
alone): the same trust store, the environment's proxy rules as requests reads them, no
redirect, no ~/.netrc, and none of requests' per-call preparation (bench/RESULTS.md: about
0.3 ms of CPU a Graph call).
"""

from __future__ import annotations

import email.utils
import json
import ssl
import threading
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import unquote, urlencode, urlsplit

import certifi
import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.utils import get_environ_proxies

if TYPE_CHECKING:  # the stubs' names of what requests passes around (no runtime classes)
    from requests.adapters import _HostParams, _PoolKwargs
    from requests.sessions import _Settings

# Longest Retry-After honoured or passed on, in seconds (MSAL caps Entra's at 3600 too).
RETRY_AFTER_CAP = 3600.0


def retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds a Retry-After header asks for (RFC 9110: delta-seconds or an HTTP date).

    `now` is the wall clock (the caller's injected clock). Answers None when the header is
    absent or unreadable, and clamps what it reads to 0..RETRY_AFTER_CAP, so a date in 2099
    or a 20-digit number cannot become a client's instruction.
    """
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(RETRY_AFTER_CAP, float(text[:8]))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    return max(0.0, min(RETRY_AFTER_CAP, when.timestamp() - now))


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The system's roots, certifi's, and the extra CA (TANDEM_CA_BUNDLE), loaded once."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=certifi.where())
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    return context


class _TrustAdapter(HTTPAdapter):
    """An adapter that verifies every connection against one prepared SSL context.

    requests would otherwise load a CA file on every new connection (tens of milliseconds for
    a full bundle), and would let REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE or a caller's
    `verify=` replace the trust store; here the `verify` argument is ignored altogether.
    """

    def __init__(self, context: ssl.SSLContext, **kwargs: Any):
        self._context = context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Hand our context to urllib3's pools."""
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Always verify, with the context's roots (never a CA file per connection)."""
        conn.cert_reqs = "CERT_REQUIRED"
        conn.ca_certs = None
        conn.ca_cert_dir = None

    def build_connection_pool_key_attributes(
        self,
        request: requests.PreparedRequest,
        verify: bool | str,
        cert: str | tuple[str, str] | None = None,
    ) -> tuple[_HostParams, _PoolKwargs]:
        """Pool keys as for verify=True, whatever the caller passed."""
        host, pool = super().build_connection_pool_key_attributes(request, True, cert)
        pool.pop("ca_certs", None)
        pool.pop("ca_cert_dir", None)
        pool["cert_reqs"] = "CERT_REQUIRED"
        return host, pool


class Session(requests.Session):
    """A requests session with its own trust store, a default timeout, and no redirects.

    Redirects are not followed: a bearer token must never travel to a host it was not meant
    for. `last` records, per thread, the status and Retry-After of the latest answer (MSAL
    turns a 429 body into a dict, and the status is what tells throttling apart).
    """

    def __init__(
        self,
        *,
        context: ssl.SSLContext,
        timeout: float | tuple[float, float],
        pool_size: int = 10,
    ):
        super().__init__()
        self._timeout = timeout
        self._environment: dict[tuple[str, str], _Settings] = {}
        self.auth = _HeadersOnly()
        self.last = threading.local()
        self.mount("https://", _TrustAdapter(context, pool_maxsize=pool_size))
        self.mount("http://", _Refuse())

    # The override takes requests' keywords as **kwargs and hands them on unchanged: callers
    # (requests' own get/post among them) pass everything after the URL by keyword, and
    # restating Session.request's sixteen parameters here would only copy them.
    def request(self, method: str | bytes, url: str | bytes, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send with a timeout, and no redirects unless a caller insists."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        kwargs.setdefault("allow_redirects", False)
        response = super().request(method, url, **kwargs)
        self.last.status = response.status_code
        self.last.retry_after = response.headers.get("Retry-After")
        return response

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: MutableMapping[str, str] | None,
        stream: bool | None,
        verify: bool | str | None,
        cert: str | tuple[str, str] | None,
    ) -> _Settings:
        """What requests reads from the environment for a URL (HTTPS_PROXY, NO_PROXY, its CA
        variables), read once per origin: requests walks os.environ twice on every call, a
        tenth of a millisecond of each Graph call's CPU (bench/RESULTS.md), and a server's
        environment does not change under it. Explicit arguments still go to requests."""
        explicit = proxies or stream is not None or verify is not None or cert is not None
        if explicit or not isinstance(url, str):  # requests passes the prepared URL, a str
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        settings = self._environment.get(origin)
        if settings is None:
            settings = super().merge_environment_settings(url, {}, None, None, None)
            if len(self._environment) < 64:  # a few origins: Entra ID, Graph
                self._environment[origin] = settings
        merged = settings.copy()  # a copy per call, proxies too: what is kept stays as read
        merged["proxies"] = dict(settings["proxies"])
        return merged


class _HeadersOnly(AuthBase):
    """The credentials are the Authorization header the caller set, and nothing else.

    Without an auth of its own, requests looks for ~/.netrc on every request (two stat calls:
    5% of the backend's Python time at concurrency 16, bench/RESULTS.md) and, should the file
    name the host, replaces the caller's bearer token with its Basic credentials.
    """

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """The request as it is."""
        return request


class _Refuse(HTTPAdapter):
    """Plain HTTP is never used for a token: refuse before anything is sent."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> NoReturn:
        """Raise instead of sending."""
        raise requests.exceptions.InvalidURL(f"refusing plain HTTP: {request.url}")


# -- Graph's client: urllib3 alone ------------------------------------------------------------
class Unanswered(OSError):
    """A request that got no answer. `sent` says whether it may have reached the server."""

    sent = True


class ConnectTimeout(Unanswered):
    """No connection within the connect timeout: nothing was sent."""

    sent = False


class ReadTimeout(Unanswered):
    """Sent, and no answer within the read timeout: the server may still be working on it."""


class Broken(Unanswered):
    """The connection failed (refused, reset, TLS, the proxy): it may have been sent."""


class Reply:
    """An answer: its status, headers (case-insensitive) and body."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes):
        self.status_code = status
        self.headers = headers
        self.content = content

    def json(self) -> Any:
        """The body as JSON (ValueError when it is not)."""
        return json.loads(self.content)


class Pool:
    """HTTPS through urllib3's pools, for the calls every request makes (Graph's).

    What `Session` guarantees, kept: the one trust store (`context`, whatever
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE say), the environment's proxy rules (HTTPS_PROXY,
    ALL_PROXY, NO_PROXY, read by requests' own function once per origin), no redirect
    followed with a token, no ~/.netrc, plain HTTP refused, a timeout on every call. Failures
    are `Unanswered`, sorted as requests sorts them (a refused connection is `Broken`, not a
    connect timeout).
    """

    def __init__(
        self,
        *,
        context: ssl.SSLContext,
        timeout: tuple[float, float],
        pool_size: int = 10,
        user_agent: str = "tandem-mailbox",
    ):
        self._context = context
        self._timeout = timeout
        self._size = pool_size
        self._headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"}
        self._managers: dict[tuple[str, str], urllib3.PoolManager] = {}
        self._lock = threading.Lock()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str],
        timeout: tuple[float, float] | None = None,
    ) -> Reply:
        """Send one request and read its answer; `Unanswered` when there is none."""
        manager = self._manager(url)
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        sent = {**self._headers, **headers}
        body = None
        if json_body is not None:
            body = json.dumps(json_body, allow_nan=False).encode()
            sent["Content-Type"] = "application/json"
        connect, read = timeout or self._timeout
        try:
            answer = manager.request(
                method,
                url,
                body=body,
                headers=sent,
                timeout=urllib3.Timeout(connect=connect, read=read),
                retries=False,
                redirect=False,
            )
        except urllib3.exceptions.NewConnectionError as error:
            raise Broken(str(error)) from error
        except urllib3.exceptions.ConnectTimeoutError as error:
            raise ConnectTimeout(str(error)) from error
        except urllib3.exceptions.ReadTimeoutError as error:
            raise ReadTimeout(str(error)) from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise Broken(str(error)) from error
        return Reply(answer.status, answer.headers, answer.data)

    def _manager(self, url: str) -> urllib3.PoolManager:
        """The pools of the URL's origin: direct, or through the proxy the environment names
        for it (read once: a server's environment does not change under it)."""
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        manager = self._managers.get(origin)
        if manager is not None:
            return manager
        if parts.scheme != "https":
            raise Broken(f"refusing plain HTTP: {url}")
        with self._lock:
            manager = self._managers.get(origin)
            if manager is None:
                manager = self._managers[origin] = self._build(url)
            return manager

    def _build(self, url: str) -> urllib3.PoolManager:
        options: dict[str, Any] = {
            "num_pools": 4,
            "maxsize": self._size,
            "ssl_context": self._context,
            "cert_reqs": "CERT_REQUIRED",
        }
        proxies = get_environ_proxies(url)
        proxy = proxies.get("https") or proxies.get("all")
        if not proxy:
            return urllib3.PoolManager(**options)
        parts = urlsplit(proxy)
        headers = {}
        if parts.username:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers = urllib3.make_headers(proxy_basic_auth=credentials)
        return urllib3.ProxyManager(proxy, proxy_headers=headers, **options)

    def clear(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            for manager in self._managers.values():
                manager.clear()
            self._managers.clear()
