"""Each action through Tandem against the same Graph calls made directly: Graph requests per
action, and its latency at a concurrency.

Experiments, each on every user's own items, its writes in pairs that undo each other so an
item can be acted on again: claim / release, markRead / markUnread, flag (flagged, then not
flagged), categorize (a category added, then removed), move (to Archive, then back to the
Inbox), delete (then moved back to the Inbox, untimed), reply and forward (sent), and reply
saved as a draft. Before the timed rounds each user runs the experiment's undo once on every
item (so every timed write changes something) and one action of each kind (what Tandem
remembers per person and mailbox is warm, as it is after a person's first minutes).

The floor ("direct") is each action's minimum of Graph calls (docs/performance.md), made
straight to the emulator with a Graph token, keeping to 4 in flight per mailbox: a GET then
the PATCH or `move` with If-Match; `createReply` / `createForward` with the comment, then
`/send`. The field changes (markRead, markUnread, flag, categorize) also go through the floor
app (bench/floor.py), which adds to those calls only the hop through a server on Tandem's
stack and the timeline's write: what Tandem adds beyond it is its own work.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from tandem_mailbox.microsoft.graph import MESSAGE_SELECT

from .load import Failed, Gate, Sample, User

CATEGORY = "Benchmark"
CUSTOMER = "maria.lopez@adatum.com"
# The actions of the table, in its order (the names the minimum table uses).
NAMES = (
    "claim",
    "release",
    "categorize",
    "flag",
    "markRead",
    "markUnread",
    "move",
    "delete",
    "reply",
    "forward",
    "reply (draft)",
)


@dataclass
class Step:
    """One action of an experiment: its name in the table, the route's action and fields."""

    name: str
    action: str
    fields: dict[str, Any] = field(default_factory=dict)
    timed: bool = True


# Each experiment: its steps, run in order on every item; its undo, run once before.
EXPERIMENTS: dict[str, tuple[list[Step], list[Step]]] = {
    "claim": ([Step("claim", "claim"), Step("release", "release")], [Step("", "release")]),
    "read": (
        [Step("markRead", "markRead"), Step("markUnread", "markUnread")],
        [Step("", "markUnread")],
    ),
    "flag": (
        [
            Step("flag", "flag", {"flag": "flagged"}),
            Step("flag", "flag", {"flag": "notFlagged"}),
        ],
        [Step("", "flag", {"flag": "notFlagged"})],
    ),
    "categorize": (
        [
            Step("categorize", "categorize", {"add": [CATEGORY], "remove": []}),
            Step("categorize", "categorize", {"add": [], "remove": [CATEGORY]}),
        ],
        [Step("", "categorize", {"add": [], "remove": [CATEGORY]})],
    ),
    "move": (
        [
            Step("move", "move", {"folder": "archive"}),
            Step("move", "move", {"folder": "inbox"}),
        ],
        [Step("", "move", {"folder": "inbox"})],
    ),
    "delete": (
        [Step("delete", "delete"), Step("", "move", {"folder": "inbox"}, timed=False)],
        [Step("", "move", {"folder": "inbox"})],
    ),
    "reply": ([Step("reply", "reply", {"comment": "Benchmark reply.", "send": True})], []),
    "forward": (
        [
            Step(
                "forward",
                "forward",
                {"comment": "Benchmark forward.", "send": True, "toRecipients": [CUSTOMER]},
            )
        ],
        [],
    ),
    "draft": ([Step("reply (draft)", "reply", {"comment": "Benchmark draft."})], []),
}


# -- through Tandem --------------------------------------------------------------------------
def backend_step(user: User, item: str, step: Step) -> dict[str, Any]:
    """POST /api/items/actions/<action> as the pane does: the etag it last saw, a new key."""
    assert user.backend is not None
    body = user.body(item) | step.fields
    etag = user.state.get(item, {}).get("etag")
    if etag:
        body["etag"] = etag
    status, answer = user.backend.call(
        "POST",
        f"/api/items/actions/{step.action}",
        body,
        {"Authorization": f"Bearer {user.sso}", "Idempotency-Key": str(uuid.uuid4())},
    )
    if status != 200:
        user.state.pop(item, None)
        raise Failed(f"{step.action} {status} {answer.get('code')}")
    if answer.get("item"):
        user.state[item] = {"etag": answer["item"]["etag"]}
    return answer


# -- through the floor app ---------------------------------------------------------------------
# The experiments whose actions the floor app (bench/floor.py) also serves: the field changes.
FLOOR_EXPERIMENTS = ("read", "flag", "categorize")


def floor_step(user: User, item: str, step: Step) -> None:
    """The same action through the floor app: a read, the PATCH, the timeline's event and the
    record, and nothing else Tandem guarantees."""
    assert user.floor is not None
    status, answer = user.floor.call(
        "POST",
        f"/api/items/actions/{step.action}",
        user.body(item) | step.fields,
        {"Authorization": f"Bearer {user.sso}"},
    )
    if status != 200:
        raise Failed(f"floor {step.action} {status} {answer.get('code')}")


# -- straight to Graph: the minimum ----------------------------------------------------------
def _graph(user: User, gate: Gate, method: str, path: str, body: Any = None, **headers: str):
    assert user.direct is not None
    sent = {"Authorization": f"Bearer {user.graph}", "Accept": "application/json"}
    sent["Prefer"] = 'IdType="ImmutableId"'
    sent.update(headers)
    with gate.slot(user.mailbox):
        status, answer = user.direct.call(method, path, body, sent)
    if status >= 300:
        raise Failed(f"Graph {method} {status} {answer.get('error', {}).get('code')}")
    return answer


def direct_step(user: User, gate: Gate, item: str, step: Step) -> None:
    """The action's minimum of Graph calls, made directly."""
    path = user.graph_path(item)
    if step.action in ("reply", "forward"):
        verb = "createReply" if step.action == "reply" else "createForward"
        body: dict[str, Any] = {"comment": step.fields["comment"]}
        if step.action == "forward":
            body["toRecipients"] = [{"emailAddress": {"address": CUSTOMER}}]
        draft = _graph(user, gate, "POST", f"{path}/{verb}", body)
        if step.fields.get("send"):
            root = path.split("/messages/", 1)[0]
            _graph(user, gate, "POST", f"{root}/messages/{quote(draft['id'], safe='')}/send")
        return
    query = urlencode({"$select": MESSAGE_SELECT})
    current = _graph(user, gate, "GET", f"{path}?{query}")
    etag = current["@odata.etag"]
    if step.action in ("move", "delete"):
        where = "deleteditems" if step.action == "delete" else step.fields["folder"]
        if current.get("parentFolderId") == user.folders[where]:
            return
        _graph(
            user,
            gate,
            "POST",
            f"{path}/move",
            {"destinationId": user.folders[where]},
            **{"If-Match": etag},
        )
        return
    categories = list(current.get("categories") or [])
    changes: dict[str, Any]
    if step.action == "claim":
        changes = {"categories": [*categories, f"Tandem: Bench ({user.upn})"]}
    elif step.action == "release":
        changes = {"categories": [c for c in categories if not c.startswith("Tandem:")]}
    elif step.action == "categorize":
        add, remove = step.fields["add"], step.fields["remove"]
        changes = {"categories": [c for c in categories if c not in remove] + add}
    elif step.action == "flag":
        changes = {"flag": {"flagStatus": step.fields["flag"]}}
    else:
        changes = {"isRead": step.action == "markRead"}
    _graph(user, gate, "PATCH", path, changes, **{"If-Match": etag})


def direct_folders(user: User, gate: Gate) -> None:
    """The ids of the folders the direct moves go to (once, untimed)."""
    root = user.graph_path("x").split("/messages/", 1)[0]
    user.folders = {
        name: _graph(user, gate, "GET", f"{root}/mailFolders/{name}?$select=id")["id"]
        for name in ("inbox", "archive", "deleteditems")
    }


# -- running an experiment ---------------------------------------------------------------------
@dataclass
class Measured:
    """What one experiment measured for one target: samples by action name, and for Tandem at
    c=1 the Graph requests each timed action made."""

    samples: dict[str, Sample] = field(default_factory=lambda: defaultdict(Sample))
    graph_requests: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))


def run(
    users: list[User],
    experiment: str,
    target: str,
    gate: Gate,
    *,
    rounds: int,
    count: Callable[[], int] | None = None,
) -> Measured:
    """Every user runs the experiment's steps on each of its items, `rounds` times; timed.

    `count` (the emulator's Graph request counter), at concurrency 1 only, notes how many
    Graph requests each timed backend action made.
    """
    steps, _ = EXPERIMENTS[experiment]
    measured = Measured()
    lock = threading.Lock()
    started = time.perf_counter()

    def one(user: User) -> None:
        mine: dict[str, list[float]] = defaultdict(list)
        errors: Counter[str] = Counter()
        made: dict[str, Counter[int]] = defaultdict(Counter)
        for _ in range(rounds):
            for item in user.items:
                for step in steps:
                    before = count() if count and step.timed else 0
                    began = time.perf_counter()
                    try:
                        if target == "backend":
                            backend_step(user, item, step)
                        elif target == "floor":
                            floor_step(user, item, step)
                        else:
                            direct_step(user, gate, item, step)
                    except Failed as error:
                        errors[str(error)] += 1
                        continue
                    ms = (time.perf_counter() - began) * 1000
                    if step.timed:
                        mine[step.name].append(ms)
                        if count:
                            made[step.name][count() - before] += 1
        with lock:
            for name, values in mine.items():
                measured.samples[name].latencies += values
            for name, counted in made.items():
                measured.graph_requests[name].update(counted)
            if errors:
                measured.samples["errors"].errors.update(errors)

    threads = [threading.Thread(target=one, args=(u,), daemon=True) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    seconds = time.perf_counter() - started
    for sample in measured.samples.values():
        sample.seconds = seconds
    return measured


def prepare(users: list[User], experiment: str, gate: Gate) -> None:
    """Each user's undo on every item, and one of each step on its first item, untimed."""
    steps, undo = EXPERIMENTS[experiment]

    def one(user: User) -> None:
        plan = [(item, step) for item in user.items for step in undo]
        plan += [(user.items[0], step) for step in [*steps, *undo]]
        for item, step in plan:
            try:
                backend_step(user, item, step)
            except Failed:  # a stale etag: the next call on the item goes without one
                continue

    threads = [threading.Thread(target=one, args=(u,), daemon=True) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
