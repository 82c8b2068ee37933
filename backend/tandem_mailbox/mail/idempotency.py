"""Idempotency keys: a keyed action happens once, and a replay answers what it did.

The pane sends `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header) with every action
and sends the same key again when the person retries that submission. The key is scoped to the
person (tenant and oid), so nobody can replay or block another person's key. What the action has
done so far is its **record**, kept where every worker reads it (Redis with TANDEM_REDIS_URL,
this process otherwise) for a day:

- `running`, with the `stage` a send reached: `drafted` (a draft exists; /send was never
  called), `sending` (/send was called: the outcome is whatever Graph did), `unknown` (the
  answer to /send never came or said nothing we can trust), and the same for a meeting
  response (`responding`);
- `done`, with the answer (status and body) every replay gets.

A replay while the first attempt runs waits for it a little (the record's lock), then answers
`conflict`; a replay of a record left `sending` or `unknown` resolves it by looking, never by
sending blindly (mail/sending.py). The same key with another body is refused (422).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tandem_mailbox.coordination import CoordinationUnavailable, Coordinator, Hold
from tandem_mailbox.errors import ApiError, Conflict, InvalidRequest, KeyReused, UpstreamUnavailable
from tandem_mailbox.microsoft.identity import Caller

HEADER = "Idempotency-Key"
RECORD_TTL = 24 * 3600.0  # the draft's suggested retention: a day
REPLAY_WAIT = 5.0  # a replay waits this long for the first attempt to end, then `conflict`
# Answers kept for replays: success, and refusals that would be the same again. Not 401 (a new
# token fixes it), 409 (the item or a lock was in the way), 429 (later works): those run again.
KEPT_STATUSES = frozenset({200, 400, 403, 404, 422})
LOST = (
    "Tandem lost its hold on this item while working on it (its shared store was reset), so "
    "it stopped before changing or sending anything more. Check the item, then try again."
)


def parse_key(raw: str | None) -> str | None:
    """The header's value, checked: 1-255 printable ASCII characters, or None when absent."""
    if raw is None:
        return None
    if not (0 < len(raw) <= 255) or not all(" " <= c <= "~" for c in raw):
        raise InvalidRequest(
            "Idempotency-Key must be 1 to 255 printable ASCII characters.", field=HEADER
        )
    return raw


def fingerprint(action: str, body: Any) -> str:
    """A hash of what was asked: the action and the whole body, in a canonical form."""
    canonical = json.dumps(
        {"action": action, "body": body}, sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def scope(caller: Caller, key: str) -> str:
    """The record's name: the person's own (tenant, oid) and a hash of their key."""
    digest = hashlib.sha256(f"{caller.tid}\n{caller.oid}\n{key}".encode()).hexdigest()
    return "once:" + digest


@dataclass
class Journal:
    """The record of one keyed action, written as it goes (before Graph is asked to send)."""

    coordinator: Coordinator
    name: str
    record: dict[str, Any]
    # The locks the action holds: a write happens only while every one is still held.
    holds: list[Hold] = field(default_factory=list)
    wall: Callable[[], float] = time.time

    @property
    def stage(self) -> str | None:
        """How far a send got: None, drafted, sending, responding or unknown."""
        return self.record.get("stage")

    @property
    def done(self) -> bool:
        """Whether the action ended with an answer kept for replays."""
        return self.record.get("state") == "done"

    def note(self, **changes: Any) -> None:
        """Write what the action did (or is about to do) before going on."""
        self.record.update(changes)
        self._save()

    def finish(self, status: int, body: dict[str, Any]) -> None:
        """The action ended: its answer, for every replay."""
        self.record.update(state="done", answer={"status": status, "body": body})
        self._save()

    def drop(self) -> None:
        """Nothing was done that a replay must know of: the key may run afresh."""
        if self._ours():
            self.coordinator.forget(self.name)

    def _ours(self) -> bool:
        return all(hold.held() for hold in self.holds)

    def _save(self) -> None:
        if not self._ours():
            # Another attempt holds the key now (the store lost our lock): its record wins,
            # and this attempt stops before it changes anything more.
            raise Conflict(LOST)
        try:
            data = json.dumps(self.record, separators=(",", ":")).encode()
            self.coordinator.remember(self.name, data, ttl=RECORD_TTL)
        except CoordinationUnavailable as error:
            raise _store_down() from error


def open_journal(
    coordinator: Coordinator, name: str, *, action: str, print_: str
) -> Journal | None:
    """The record under `name` as a Journal, or None when there is none yet.

    KeyReused when it was made for another action or body.
    """
    try:
        raw = coordinator.recall(name)
    except CoordinationUnavailable as error:
        raise _store_down() from error
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if record.get("fingerprint") != print_:
        raise KeyReused(
            "This Idempotency-Key was already used for another request; a new submission "
            "needs a new key."
        )
    return Journal(coordinator, name, record)


def new_journal(coordinator: Coordinator, name: str, *, action: str, print_: str) -> Journal:
    """A record for an action about to start (kept only once it writes something)."""
    record = {"fingerprint": print_, "action": action, "state": "running", "started": time.time()}
    return Journal(coordinator, name, record)


def kept(error: ApiError) -> bool:
    """Whether an error is the answer every replay of the key gets."""
    return error.status in KEPT_STATUSES


def _store_down() -> ApiError:
    error = UpstreamUnavailable(
        "Tandem can't reach the store that makes sure an action happens once; nothing was "
        "done. Try again in a moment.",
        status=503,
    )
    error.reached = False
    error.headers["Retry-After"] = "2"
    return error
