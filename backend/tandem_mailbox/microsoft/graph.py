"""GraphClient: Graph on /users/<mailbox>, with timeouts, retries and per-mailbox slots.

Graph's error bodies become the contract's ApiErrors here, so views never see a raw answer.
Outlook's documented limits are per app per mailbox: 4 concurrent requests and 10,000 per
10 minutes (learn.microsoft.com/graph/throttling-limits#outlook-service-limits), so requests
take one of 4 slots of the mailbox they land on, keyed by the mailbox itself; a name Graph has
not shown yet goes one request at a time (`mailboxes.Mailboxes.slots`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tandem_mailbox import metrics
from tandem_mailbox.coordination import Coordinator, SlotTimeout
from tandem_mailbox.errors import (
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
from tandem_mailbox.microsoft.identity import Caller
from tandem_mailbox.microsoft.mailboxes import Mailboxes, Route, mailbox_guid
from tandem_mailbox.microsoft.obo import GraphToken
from tandem_mailbox.microsoft.outbound import (
    Broken,
    ConnectTimeout,
    Pool,
    ReadTimeout,
    Reply,
    retry_after,
)

log = logging.getLogger("tandem.graph")

MAILBOX_CONCURRENCY = 4
RETRY_STATUSES = {429, 502, 503, 504}
ITEM_PATHS = {"message": "/messages/", "appointment": "/events/"}
MESSAGE_SELECT = (
    "id,subject,from,sender,toRecipients,receivedDateTime,categories,isRead,flag,importance,"
    "hasAttachments,bodyPreview,conversationId,parentFolderId,changeKey,webLink,isDraft"
)
EVENT_SELECT = (
    "id,subject,organizer,start,end,location,categories,isCancelled,showAs,importance,"
    "bodyPreview,changeKey,responseStatus,isOrganizer,webLink"
)
SELECTS = {"message": MESSAGE_SELECT, "appointment": EVENT_SELECT}
# Every call asks for immutable ids (learn.microsoft.com/graph/outlook-immutable-id): an item
# keeps its id while it stays in its mailbox, whichever folder it is moved to, in Outlook or
# through Tandem; Graph takes either form as input. The header applies to the request it is
# sent with, so it goes on every one.
PREFER_IMMUTABLE = 'IdType="ImmutableId"'
# How long the immutable id answered for a posted id is remembered: a posted REST id names one
# item for good (it only stops working when the item moves), so this bounds memory only.
STABLE_MEMORY = 3600.0


@dataclass
class Answer:
    """A successful Graph answer."""

    status: int
    body: dict[str, Any]
    request_id: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class GraphClient:
    """Calls Graph for one person on one mailbox, keeping to the mailbox's 4 slots."""

    def __init__(
        self,
        session: Pool,
        *,
        graph_url: str,
        coordinator: Coordinator,
        timeout: tuple[float, float] = (3.05, 10.0),
        request_id: Callable[[], str | None] = lambda: None,
        observe: Callable[[str], None] = lambda request_id: None,
        max_attempts: int = 4,
        budget: float = 20.0,
        slot_wait: float = 10.0,
        concurrency: int = MAILBOX_CONCURRENCY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        self._session = session
        self._graph_url = graph_url.rstrip("/")
        self._coordinator = coordinator
        self._mailboxes = Mailboxes(coordinator, concurrency=concurrency, clock=clock)
        self._timeout = timeout
        self._request_id = request_id
        self._observe = observe
        self._max_attempts = max_attempts
        self._budget = budget
        self._slot_wait = slot_wait
        self._sleep = sleep
        self._clock = clock
        self._wall = wall

    # -- where calls go -------------------------------------------------------------------
    def route(self, caller: Caller, target: str | None, item_id: str) -> Route:
        """The route of an item's mailbox (`target`, or the person's own for None): see
        `Mailboxes.route`; an id of another mailbox than the one it is known to reach is
        refused (ItemNotFound) before Graph is asked."""
        return self._mailboxes.route(caller, target, item_id)

    def own_route(self, caller: Caller) -> Route:
        """The route of the person's own mailbox (/me)."""
        return self._mailboxes.own_route(caller)

    def learn(self, route: Route, answered_id: str) -> None:
        """Remember the mailbox a route reaches from an id Graph answered through it (a listed
        message's folder id, say): its slots, locks and presence are keyed by it from now on."""
        self._mailboxes.learn(route, answered_id)

    # -- calls ------------------------------------------------------------------------------
    def get(self, token: str, route: Route, path: str, **params: str) -> dict[str, Any]:
        """GET a resource of the mailbox; answers the JSON body."""
        return self.request("GET", token, route, path, params=params).body

    def item(
        self,
        token: str,
        route: Route,
        item_type: str,
        item_id: str,
        *,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """The item as Graph has it now, with the fields the pane shows and the etag."""
        path = ITEM_PATHS[item_type] + quote(item_id, safe="")
        params = {"$select": SELECTS[item_type]}
        body = self.request("GET", token, route, path, params=params, deadline=deadline).body
        self._answered(route, item_id, body)
        return body

    def stable_id(
        self,
        token: str,
        route: Route,
        item_type: str,
        item_id: str,
        *,
        deadline: float | None = None,
    ) -> str:
        """The item's immutable id for an id the pane posted (its REST id, or the immutable id
        a context answer gave it): what Tandem keys locks, presence and records by.

        Remembered from the last answer about that id (the context call reads the item
        anyway), else asked of Graph with `$select=id`.
        """
        known = self.known_stable_id(item_id)
        if known:
            return known
        path = ITEM_PATHS[item_type] + quote(item_id, safe="")
        body = self.request(
            "GET", token, route, path, params={"$select": "id"}, deadline=deadline
        ).body
        return self._answered(route, item_id, body)

    def known_stable_id(self, item_id: str) -> str | None:
        """The immutable id remembered for a posted id, or None (no Graph call)."""
        raw = self._coordinator.fetch(_stable_key(item_id))
        return raw.decode() if raw else None

    def _answered(self, route: Route, posted: str, body: dict[str, Any]) -> str:
        """Learn what an answer about `posted` shows: the route's mailbox, the immutable id."""
        stable = body.get("id")
        if not isinstance(stable, str) or not stable:
            raise UpstreamUnavailable("Microsoft Graph answered an item with no id.", status=502)
        # An immutable id tells no mailbox; the id Graph just accepted through this route does
        # (Exchange refuses an id of another mailbox), and so does the item's folder id
        # (folder ids have one form only).
        for candidate in (stable, posted, body.get("parentFolderId")):
            if isinstance(candidate, str) and mailbox_guid(candidate):
                self._mailboxes.learn(route, candidate)
                break
        self._coordinator.store(_stable_key(posted), stable.encode(), ttl=STABLE_MEMORY)
        if stable != posted:
            self._coordinator.store(_stable_key(stable), stable.encode(), ttl=STABLE_MEMORY)
        return stable

    def clock(self) -> float:
        """The clock deadlines are measured on (monotonic)."""
        return self._clock()

    def request(
        self,
        method: str,
        token: str,
        route: Route,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        if_match: str | None = None,
        idempotent: bool | None = None,
        deadline: float | None = None,
    ) -> Answer:
        """One Graph call, retried within the budget (and `deadline`, on `clock()`) when safe.

        Reads are retried on 429, 502-504, a timeout (once) and a broken connection; writes
        (`idempotent=False`, the default for anything but GET) only on 429, which Graph answers
        before doing anything, and when the connection failed before the request was sent.
        An UpstreamUnavailable says in `reached` whether the request may have reached Graph.
        """
        safe = method in ("GET", "HEAD") if idempotent is None else idempotent
        url = self._graph_url + route.root + path
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Prefer": PREFER_IMMUTABLE,
        }
        request_id = self._request_id()
        if request_id:
            headers["client-request-id"] = request_id
            headers["return-client-request-id"] = "true"
        if if_match:
            headers["If-Match"] = if_match
        deadline = min(self._clock() + self._budget, deadline or float("inf"))
        attempt = timeouts = 0
        renewed = False
        while True:
            attempt += 1
            remaining = deadline - self._clock()
            response = None
            waited = self._clock()
            bound = max(0.0, min(self._slot_wait, remaining))
            try:
                with self._mailboxes.slots(route, bound) as slot:
                    metrics.SLOT_WAIT.observe(self._clock() - waited)
                    metrics.IN_FLIGHT.observe(slot.taken)
                    metrics.GRAPH_IN_FLIGHT.inc()
                    read = max(0.5, min(self._timeout[1], deadline - self._clock()))
                    try:
                        response = self._session.request(
                            method,
                            url,
                            params=params,
                            json_body=body,
                            headers=headers,
                            timeout=(self._timeout[0], read),
                        )
                    except ConnectTimeout as error:  # nothing was sent
                        again = attempt < self._max_attempts and self._clock() < deadline
                        self._failed(method, "connect_timeout", again, error, 504, reached=False)
                        continue
                    except ReadTimeout as error:
                        # Exchange may still be working on it: keep its slot a while.
                        slot.hold_after(self._timeout[1])
                        timeouts += 1
                        again = safe and timeouts < 2 and self._clock() < deadline
                        self._failed(method, "timeout", again, error, 504)
                        continue
                    except Broken as error:
                        self._failed(method, "connection_error", safe and attempt < 2, error, 503)
                        continue
                    finally:
                        metrics.GRAPH_IN_FLIGHT.dec()
            except SlotTimeout:
                log.warning("no Graph slot of %s came free in time", route.key)
                metrics.GRAPH_THROTTLED.inc()
                raise Throttled(
                    "Microsoft 365 is busy with this mailbox; try again shortly.", retry_after=2
                ) from None
            status = response.status_code
            metrics.child(metrics.GRAPH_CALLS, method, str(status)).inc()
            if response.headers.get("request-id"):
                self._observe(response.headers["request-id"])
            if status < 300:
                return self._answer(response)
            if status == 401 and not renewed and isinstance(token, GraphToken):
                # Graph refused this person's token (InvalidAuthenticationToken): revoked, or
                # signed with a key it no longer trusts. Graph did nothing with the request,
                # so it is sent once more, writes too, with a freshly exchanged token.
                log.info("Graph refused the person's token (401); once more with a fresh one")
                renewed = True
                token = token.renew()
                headers["Authorization"] = f"Bearer {token}"
                continue
            if status in RETRY_STATUSES and (status == 429 or safe):
                wait = retry_after(response.headers.get("Retry-After"), now=self._wall())
                wait = float(min(8, 2 ** (attempt - 1))) if wait is None else wait
                if attempt < self._max_attempts and self._clock() + wait <= deadline:
                    log.info("Graph answered %s; retrying in %.1f s", status, wait)
                    metrics.GRAPH_RETRIES.labels(str(status)).inc()
                    self._sleep(wait)  # outside the slot: waiting holds none
                    continue
            if status == 429:
                metrics.GRAPH_THROTTLED.inc()
            if status in (403, 404):
                # Exchange refused the mailbox or the item (ErrorInvalidMailboxItemId: the id is
                # another mailbox's): what the posted id claimed is not to be trusted.
                self._mailboxes.refused(route)
            raise graph_error(response, wall=self._wall)

    @staticmethod
    def _failed(
        method: str, kind: str, again: bool, error: Exception, status: int, *, reached: bool = True
    ) -> None:
        """Count a call that got no answer; return to try again, or raise the contract's error.

        A timeout or a broken connection after connecting may have reached Graph (`reached`);
        a connect timeout did not.
        """
        metrics.child(metrics.GRAPH_CALLS, method, kind).inc()
        if again:
            metrics.child(metrics.GRAPH_RETRIES, kind).inc()
            return
        words = "did not answer in time" if status == 504 else "is unreachable"
        raise _unavailable(f"Microsoft Graph {words}.", status, reached=reached) from error

    @staticmethod
    def _answer(response: Reply) -> Answer:
        request_id = response.headers.get("request-id")
        if response.status_code == 204 or not response.content:
            return Answer(response.status_code, {}, request_id, response.headers)
        try:
            body = response.json()
        except ValueError as error:
            raise UpstreamUnavailable(
                "Microsoft Graph answered something unreadable.", status=502
            ) from error
        if not isinstance(body, dict):
            raise UpstreamUnavailable("Microsoft Graph answered something unexpected.", status=502)
        return Answer(response.status_code, body, request_id, response.headers)


def _unavailable(detail: str, status: int, *, reached: bool) -> UpstreamUnavailable:
    """UpstreamUnavailable for a request Graph never answered, saying whether it may have
    reached Graph (which may then still be working on it)."""
    error = UpstreamUnavailable(detail, status=status)
    error.reached = reached
    error.answered = False
    return error


class TokenRefused(ServerMisconfigured):
    """Graph answered 401 to a token that was renewed already, or that could not be."""


def _stable_key(item_id: str) -> str:
    """The coordinator's key for the immutable id of a posted id (hashed, as ids are long)."""
    return "stable-id:" + hashlib.sha256(item_id.encode()).hexdigest()


def graph_error(response: Reply, *, wall: Callable[[], float] = time.time) -> ApiError:
    """Graph's error answer as the contract's error."""
    status = response.status_code
    try:
        error = response.json().get("error", {})
        code = str(error.get("code", ""))
    except (ValueError, AttributeError):
        code = ""
    log.info(
        "Graph refused: %s %s request-id=%s client-request-id=%s",
        status,
        code,
        response.headers.get("request-id"),
        response.headers.get("client-request-id"),
    )
    if status == 429:
        wait = retry_after(response.headers.get("Retry-After"), now=wall())
        return Throttled(
            "Microsoft 365 is busy with this mailbox; try again shortly.",
            retry_after=5 if wait is None else wait,
        )
    if code == "ErrorSendAsDenied":
        return SendAsDenied(
            "You may not send as this mailbox: you have neither Send As nor Send on Behalf on "
            "it. Ask your administrator to grant one of them."
        )
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
    if status in (409, 412) or code == "ErrorIrresolvableConflict":
        return Conflict("The item changed while we were saving it.")
    if status == 401:
        # A freshly exchanged token refused too (GraphClient renews a refused one once): the
        # tokens are for the wrong resource or cloud, which only the operator can fix.
        log.error(
            "Graph refused the on-behalf-of token (%s): check TANDEM_SCOPES, "
            "TANDEM_CLOUD and TANDEM_GRAPH_URL",
            code,
        )
        return TokenRefused("Microsoft Graph refused the add-in's access.")
    if code == "ErrorInvalidRecipients":
        return InvalidRequest("The message has no recipient Exchange can send to.", "toRecipients")
    if code.startswith("ErrorCalendarIsOrganizerFor"):
        return InvalidRequest(
            "This mailbox organizes the meeting: there is no invitation to answer.", "response"
        )
    if status == 400:
        # A request Graph finds malformed is the caller's to fix, not an upstream failure.
        return InvalidRequest(f"Microsoft Graph refused the request as malformed ({code}).")
    if 300 <= status < 400:
        return UpstreamUnavailable("Microsoft Graph redirected; not followed.", status=502)
    if status in (502, 503, 504):
        return UpstreamUnavailable("Microsoft Graph is unavailable.", status=status)
    return UpstreamUnavailable(f"Microsoft Graph answered {status} {code}".strip(), status=502)
