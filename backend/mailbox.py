"""MailboxClient: Graph on /users/<mailbox>, with timeouts, retries, per-mailbox concurrency.

Graph's error bodies become the contract's ApiErrors here, so views never see a raw answer.
Outlook's documented limits are per app per mailbox: 4 concurrent requests and 10,000 per
10 minutes (learn.microsoft.com/graph/throttling-limits#outlook-service-limits).
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import requests

from .errors import (
    ApiError,
    Conflict,
    InvalidRequest,
    ItemNotFound,
    MailboxAccessDenied,
    MailboxNotFound,
    SendAsDenied,
    ServerMisconfigured,
    Throttled,
    UpstreamUnavailable,
)

log = logging.getLogger("tandem.graph")

MAILBOX_CONCURRENCY = 4
IDEMPOTENT = {"GET", "HEAD", "PUT", "PATCH", "DELETE"}
RETRY_STATUSES = {429, 502, 503, 504}


class MailboxClient:
    """Calls Graph for one person on one mailbox at a time; all state is per process."""

    def __init__(
        self,
        session: requests.Session,
        *,
        graph_url: str,
        max_attempts: int = 4,
        max_wait: float = 20.0,
        concurrency: int = MAILBOX_CONCURRENCY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._session = session
        self._graph_url = graph_url.rstrip("/")
        self._max_attempts = max_attempts
        self._max_wait = max_wait
        self._concurrency = concurrency
        self._sleep = sleep
        self._clock = clock
        self._gates: dict[str, tuple[threading.BoundedSemaphore, int]] = {}
        self._gates_lock = threading.Lock()

    @staticmethod
    def root(mailbox: str | None) -> str:
        """The path of a mailbox: /me for the person's own, else /users/<percent-encoded>."""
        return "/me" if mailbox is None else "/users/" + quote(mailbox, safe="")

    def get(self, token: str, mailbox: str | None, path: str, **params: str) -> dict[str, Any]:
        """GET a resource of the mailbox."""
        return self.request("GET", token, mailbox, path, params=params)

    def request(
        self,
        method: str,
        token: str,
        mailbox: str | None,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One Graph call, retried on 429/5xx within the time budget; answers the JSON body."""
        url = self._graph_url + self.root(mailbox) + path
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        started = self._clock()
        attempt = 0
        with self._gate(mailbox or "me"):
            while True:
                attempt += 1
                try:
                    response = self._session.request(
                        method, url, params=params, json=body, headers=headers
                    )
                except requests.Timeout as error:
                    # One more try for a read that timed out; each costs a whole timeout.
                    if method in IDEMPOTENT and attempt < 2:
                        continue
                    raise UpstreamUnavailable(
                        "Microsoft Graph did not answer in time.", status=504
                    ) from error
                except requests.RequestException as error:
                    raise UpstreamUnavailable(
                        "Microsoft Graph is unreachable.", status=503
                    ) from error
                status = response.status_code
                if status < 300:
                    if status == 204 or not response.content:
                        return {}
                    try:
                        return response.json()
                    except ValueError as error:
                        raise UpstreamUnavailable(
                            "Microsoft Graph answered something unreadable.", status=502
                        ) from error
                if status in RETRY_STATUSES and (status == 429 or method in IDEMPOTENT):
                    wait = retry_after(response, attempt)
                    spent = self._clock() - started
                    if attempt < self._max_attempts and spent + wait <= self._max_wait:
                        log.info("Graph answered %s; retrying in %.1f s", status, wait)
                        self._sleep(wait)
                        continue
                raise graph_error(response)

    @contextmanager
    def _gate(self, mailbox: str) -> Iterator[None]:
        """At most `concurrency` requests in flight per mailbox from this process."""
        key = mailbox.lower()
        with self._gates_lock:
            gate, users = self._gates.get(key, (threading.BoundedSemaphore(self._concurrency), 0))
            self._gates[key] = (gate, users + 1)
        gate.acquire()
        try:
            yield
        finally:
            gate.release()
            with self._gates_lock:
                gate, users = self._gates[key]
                if users <= 1:
                    del self._gates[key]
                else:
                    self._gates[key] = (gate, users - 1)


def retry_after(response: requests.Response, attempt: int) -> float:
    """Seconds to wait: Retry-After (seconds or an HTTP date), else exponential back-off."""
    value = response.headers.get("Retry-After")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            pass
    return float(min(8, 2 ** (attempt - 1)))


def graph_error(response: requests.Response) -> ApiError:
    """Graph's error answer as the contract's error."""
    status = response.status_code
    try:
        error = response.json().get("error", {})
        code = str(error.get("code", ""))
    except (ValueError, AttributeError):
        code = ""
    log.info("Graph refused: %s %s", status, code)
    if status == 429:
        wait = retry_after(response, 1)
        return Throttled(
            "Microsoft 365 is busy with this mailbox; try again shortly.",
            retry_after=max(1, round(wait)),
        )
    if code == "ErrorSendAsDenied":
        return SendAsDenied("You may not send as this mailbox (no Send As or Send on Behalf).")
    if code == "ErrorAccessDenied" or status == 403:  # ErrorSendAsDenied was answered above
        return MailboxAccessDenied(
            "Exchange refused access. You may lack rights on this mailbox or folder, or they were "
            "granted less than an hour ago."
        )
    if code in ("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "MailboxNotSupportedForRESTAPI"):
        return MailboxNotFound(
            "There is no Exchange Online mailbox at that address (a typo, an on-premises "
            "mailbox, or a guest)."
        )
    if code in ("ErrorItemNotFound", "ErrorInvalidMailboxItemId"):
        return ItemNotFound("The item is gone, or it belongs to another mailbox.")
    if code == "ErrorInvalidIdMalformed":
        return InvalidRequest("The item id is malformed.", field="itemId")
    if status == 412 or code == "ErrorIrresolvableConflict":
        return Conflict("The item changed while we were saving it.")
    if status == 401:
        log.error(
            "Graph refused the on-behalf-of token (%s): check TANDEM_SCOPES, "
            "TANDEM_CLOUD and TANDEM_GRAPH_URL",
            code,
        )
        return ServerMisconfigured("Microsoft Graph refused the add-in's access.")
    if 300 <= status < 400:
        return UpstreamUnavailable("Microsoft Graph redirected; not followed.", status=502)
    if status in (502, 503, 504):
        return UpstreamUnavailable("Microsoft Graph is unavailable.", status=status)
    return UpstreamUnavailable(f"Microsoft Graph answered {status} {code}".strip(), status=502)
