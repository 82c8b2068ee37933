"""The soak: two minutes of people working at a fixed rate through faults, and nothing lost.

`tandem serve` (one worker, so its mailbox gate and item locks are the whole deployment's),
eight people on six mailboxes (the two shared ones, Adele's Inbox as herself and as her
Editor, their own), each on items of their own, at 12 requests a second in all: reading the
context, flagging, categorizing, marking read and unread, claiming and releasing, in turn.
Every ten seconds a fault arrives: Graph answering 429 with Retry-After, 503 before doing
anything (to reads, which are retried; and once in a cycle to a write, which is not: nobody
can tell it was not done), or answering slower than usual but within the timeout.

What must hold: no answer but 200, except one 503 per write fault; every write answered
`changed: true` is in the item's history in the emulator exactly once, under the request id
the backend answered with, and nothing else wrote (the 503s wrote nothing); the backend's
memory stays flat. The figures go to artifacts/soak.json.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tandem_mailbox.certs import CertPaths
from tandem_mailbox.microsoft.outbound import Session, ssl_context
from tests.support.api import shared_body
from tests.support.paths import ARTIFACTS
from tests.support.servers import BackendSettings, EmulatorHandle
from tests.support.serving import StartServe, workers_of

SECONDS = 120
RATE = 12.0  # requests a second, all people together
RSS_BOUND_KIB = 40 * 1024  # generous: the measured growth is a few MiB (README, Performance)
CATEGORY = "Soak"
# person, mailbox (None: their own), which of the mailbox's Inbox items are theirs
PEOPLE: list[tuple[str, str | None, slice]] = [
    ("lee@contoso.com", "support@contoso.com", slice(0, 3)),
    ("sam@contoso.com", "support@contoso.com", slice(3, 6)),
    ("pat@contoso.com", "sales@contoso.com", slice(0, 3)),
    ("nestor@contoso.com", "adele@contoso.com", slice(0, 3)),
    ("adele@contoso.com", None, slice(3, 6)),
    ("megan@contoso.com", None, slice(0, 3)),
    ("alex@contoso.com", None, slice(0, 3)),
    ("joni@contoso.com", None, slice(0, 3)),
]
STEPS = ("context", "flag", "categorize", "read", "claim")
# One cycle of faults, one every 10 s: (fault, what it does to answers).
FAULTS: list[dict[str, Any]] = [
    {"target": "graph", "status": 429, "retryAfter": 1, "times": 3},
    {"target": "graph", "method": "GET", "status": 503, "retryAfter": 0, "times": 2},
    {"target": "graph", "delayMs": 1500, "times": 6},  # under the 10 s timeout
    {"target": "graph", "method": "PATCH", "status": 503, "times": 1},  # a write refused
]


@dataclass
class Person:
    """One person working on their items in turn, as the pane would, and what they were told."""

    upn: str
    bodies: list[dict[str, Any]]
    token: str
    http: Session
    url: str
    state: dict[str, dict[str, Any]] = field(default_factory=dict)  # item id -> last item seen
    answers: list[dict[str, Any]] = field(default_factory=list)
    turn: int = 0

    def step(self) -> None:
        """The next action on the next item, with the etag last seen (as the pane sends it)."""
        step = STEPS[self.turn % len(STEPS)]
        body = dict(self.bodies[(self.turn // len(STEPS)) % len(self.bodies)])
        self.turn += 1
        item = self.state.get(body["itemId"])
        if step == "context" or item is None:
            self.send("context", "/api/items/context", body)
            return
        body["etag"] = item["etag"]
        if step == "flag":
            body["flag"] = "notFlagged" if item["flag"] == "flagged" else "flagged"
            action = "flag"
        elif step == "categorize":
            present = CATEGORY in item["categories"]
            body.update(add=[] if present else [CATEGORY], remove=[CATEGORY] if present else [])
            action = "categorize"
        elif step == "read":
            action = "markUnread" if item["isRead"] else "markRead"
        else:
            action = "release" if item["claim"] else "claim"
        self.send(action, f"/api/items/actions/{action}", body)

    def send(self, action: str, path: str, body: dict[str, Any]) -> None:
        """POST, and remember what the backend answered."""
        response = self.http.post(
            self.url + path, json=body, headers={"Authorization": f"Bearer {self.token}"}
        )
        answer = response.json()
        record = {
            "action": action,
            "item": body["itemId"],
            "status": response.status_code,
            "requestId": response.headers.get("request-id"),
            "code": answer.get("code"),
            "changed": (answer.get("result") or {}).get("changed"),
        }
        self.answers.append(record)
        if response.status_code == 200 and answer.get("item"):
            self.state[body["itemId"]] = answer["item"]
        else:
            self.state.pop(body["itemId"], None)  # read it afresh next time


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(pid)


def test_two_minutes_of_mixed_work_through_faults_lose_nothing(
    fresh_emulator: EmulatorHandle,
    cert_paths: CertPaths,
    backend_settings: BackendSettings,
    start_serve: StartServe,
    tmp_path: Path,
):
    served = start_serve(
        ["--workers", "1", "--threads", "16", "--certs", str(cert_paths.ca_cert.parent)],
        backend_settings(fresh_emulator),
        tmp_path,
        cert_paths.ca_cert,
    )
    people: list[Person] = []
    try:
        (worker,) = workers_of(served.process.pid)
        for upn, mailbox, mine in PEOPLE:
            items = fresh_emulator.items(mailbox or upn)[mine]
            bodies = [
                shared_body(i["id"], mailbox)
                if mailbox
                else {"itemId": i["id"], "itemType": "message"}
                for i in items
            ]
            people.append(
                Person(
                    upn=upn,
                    bodies=bodies,
                    token=fresh_emulator.sso(upn),
                    http=Session(context=ssl_context(cert_paths.ca_cert), timeout=30),
                    url=served.url,
                )
            )
        for person in people:  # each item read once: the state every write starts from
            for body in person.bodies:
                person.send("context", "/api/items/context", body)
        started = time.monotonic()
        stop_at = started + SECONDS
        period = len(people) / RATE
        rss: dict[str, int] = {}
        injected: Counter[int] = Counter()

        def work(n: int, person: Person) -> None:
            next_at = started + n * period / len(people)  # spread over the period
            while next_at < stop_at:
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)  # the fixed rate: the next request's turn
                person.step()
                next_at += period

        threads = [
            threading.Thread(target=work, args=(n, p), daemon=True) for n, p in enumerate(people)
        ]
        for thread in threads:
            thread.start()
        for n, at in enumerate(range(5, SECONDS - 5, 10)):
            time.sleep(max(0.0, started + at - time.monotonic()))  # the next fault's turn
            if at == 25:
                rss["warm"] = _rss_kib(worker)  # caches and pools have filled by now
            fresh_emulator.fault(**FAULTS[n % len(FAULTS)])
            injected[n % len(FAULTS)] += 1
        for thread in threads:
            thread.join(timeout=SECONDS + 60)
        rss["end"] = _rss_kib(worker)
        remaining = fresh_emulator.http.get(f"{fresh_emulator.url}/_emulator/faults").json()
        fresh_emulator.clear_faults()

        answers = [a for p in people for a in p.answers]
        refused_writes = injected[3] - sum(
            f["times"] for f in remaining["faults"] if f.get("method") == "PATCH"
        )
        unexpected = [a for a in answers if a["status"] != 200 and a["status"] != 503]
        failed = [a for a in answers if a["status"] == 503]
        report = {
            "seconds": SECONDS,
            "requests": len(answers),
            "perSecond": round(len(answers) / SECONDS, 2),
            "byAction": dict(Counter(a["action"] for a in answers)),
            "statuses": dict(Counter(a["status"] for a in answers)),
            "faultsInjected": sum(injected.values()),
            "faultsLeft": remaining["faults"],
            "writesRefused": refused_writes,
            "rssKiB": rss,
            "rssGrowthKiB": rss["end"] - rss["warm"],
        }
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "soak.json").write_text(json.dumps(report, indent=2) + "\n")
        print("soak:", json.dumps(report))
        assert len(answers) >= 0.9 * RATE * SECONDS, report  # the rate was kept
        assert remaining["faults"] == [], report  # every fault met the load
        assert unexpected == [], unexpected
        assert len(failed) == refused_writes, (failed, report)
        assert all(a["action"] != "context" and a["code"] == "upstream_unavailable" for a in failed)

        # Every write answered changed: true is in the history once, under its request id;
        # nothing else wrote, and a refused write wrote nothing.
        written = {a["requestId"]: a for a in answers if a["status"] == 200 and a["changed"]}
        assert len(written) > 500, report
        recorded: dict[str, dict[str, Any]] = {}
        for person in people:
            for body in person.bodies:
                for entry in fresh_emulator.item(body["itemId"])["history"]:
                    if entry["via"] == "graph" and entry["operation"] == "update":
                        assert entry["by"] == person.upn
                        assert entry["clientRequestId"] not in recorded, "a write done twice"
                        recorded[entry["clientRequestId"]] = entry
        assert set(recorded) == set(written)
        assert not {a["requestId"] for a in failed} & set(recorded)
        fields = {"flag": "flag", "categorize": "categories", "claim": "categories"}
        fields.update(release="categories", markRead="isRead", markUnread="isRead")
        for request_id, answer in written.items():
            assert list(recorded[request_id]["fields"]) == [fields[answer["action"]]]

        assert report["rssGrowthKiB"] < RSS_BOUND_KIB, report
    finally:
        for person in people:
            person.http.close()
        assert served.stop() == 0
