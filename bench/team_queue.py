"""The team's queue, measured: what twenty members refreshing it cost the mailbox in Graph
requests, and what the queue adds to the time a refresh takes.

    ./bench/benchmark --queue [--members 20] [--seconds 60] [--every 5]

Starts, over HTTPS on loopback: a redis-server, the emulator under gunicorn with 60 ms on every
Graph request, and `tandem serve` with two workers sharing Redis (the record in SQLite). It
grants support@ to `--members` people (Lee, Sam and more, through the emulator's control
route), writes forty conversations over a week, and lets every member refresh the queue every
`--every` seconds, each on a thread of their own, for `--seconds`. Then it counts the Graph
requests the emulator saw on support@ by kind, against the goal: at most one pair of lists
(the Inbox's, the Sent Items') per cache period (10 s), whatever the number of members.

The latency: each refresh's time, split into those that found the mailbox's lists kept (no
Graph list) and those that made them, beside the floor a client skipping Tandem would pay for
the same two lists straight from Graph. Writes bench/results/queue.json and prints the table.
"""

from __future__ import annotations

import argparse
import random
import shutil
import ssl
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tandem_mailbox.certs import ensure
from tandem_mailbox.mail.queue import SNAPSHOT_TTL
from tandem_mailbox.microsoft.outbound import Session, ssl_context

from . import stack
from .load import Connection

REPO = Path(__file__).resolve().parent.parent
SUPPORT = "support@contoso.com"
CONVERSATIONS = 40
REST_URL = "https://outlook.office.com/api"


def main(argv: list[str] | None = None) -> int:
    """Run the queue's benchmark; answers the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench --queue", description=__doc__)
    parser.add_argument("--queue", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--members", type=int, default=20, help="people refreshing the queue")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they refresh")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between refreshes")
    parser.add_argument("--graph-ms", type=int, default=60, help="every Graph request")
    parser.add_argument("--quick", action="store_true", help="15 s: a smoke run")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 15.0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tandem-bench-queue-"))
    try:
        results = QueueBench(args, work).run()
    finally:
        shutil.rmtree(work / "certs", ignore_errors=True)
    stack.dump(out / "queue.json", results)
    text = markdown(results)
    (out / "queue.md").write_text(text)
    print(text)
    print(f"wrote {out / 'queue.json'}, {out / 'queue.md'}; logs in {work}")
    return 0


class QueueBench:
    """One run: the servers, the team, the refreshes, the emulator's request log."""

    def __init__(self, args: argparse.Namespace, work: Path):
        self.args = args
        self.work = work
        self.certs, _ = ensure(work / "certs")
        self.tls = ssl.create_default_context(cafile=str(self.certs.ca_cert))
        self.http = Session(context=ssl_context(self.certs.ca_cert), timeout=60, pool_size=16)
        self.servers: list[stack.Process] = []

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call an emulator control route; answers its JSON."""
        response = self.http.request(method, f"{self.emulator.url}{path}", json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def probe(self, url: str) -> int:
        """The status of a GET (for readiness)."""
        return self.http.get(url, timeout=5).status_code

    def run(self) -> dict[str, Any]:
        """Everything, in order; the servers are stopped whatever happens."""
        args = self.args
        results: dict[str, Any] = {
            "machine": stack.machine(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "settings": {
                "members": args.members,
                "seconds": args.seconds,
                "refreshEverySeconds": args.every,
                "graphMs": args.graph_ms,
                "cachePeriodSeconds": SNAPSHOT_TTL,
                "backend": "tandem serve --workers 2 --threads 32 with Redis, SQLite",
                "conversations": CONVERSATIONS,
            },
        }
        try:
            self.redis = stack.redis_server(self.work)
            self.servers.append(self.redis)
            self.emulator = stack.emulator(
                Path(self.certs.ca_cert.parent), self.work, threads=128, probe=self.probe
            )
            self.servers.append(self.emulator)
            members = self.team()
            body = self.conversations()
            backend = self.backend()
            delay = {"target": "graph", "delayMs": args.graph_ms, "times": -1}
            self.control("POST", "/_emulator/faults", delay)
            tokens = {
                upn: self.control("POST", "/_emulator/sso-token", {"user": upn})["token"]
                for upn in members
            }
            # Each member once, as when they open the pane: members of the mailbox from then on.
            warm = Connection(backend.port, self.tls)
            for token in tokens.values():
                status, _ = warm.call(
                    "POST", "/api/items/context", body, {"Authorization": f"Bearer {token}"}
                )
                assert status == 200, status
            results["floor"] = self.floor(members[0])
            results["refresh"] = self.refresh(backend, tokens, body)
        finally:
            for server in reversed(self.servers):
                server.stop()
        return results

    def team(self) -> list[str]:
        """Lee, Sam and as many more as --members asks, with Full Access on support@."""
        members = ["lee@contoso.com", "sam@contoso.com"]
        for n in range(len(members), self.args.members):
            upn = f"member{n:02d}@contoso.com"
            self.control(
                "POST",
                f"/_emulator/mailboxes/{SUPPORT}/members",
                {"upn": upn, "name": f"Member {n:02d}"},
            )
            members.append(upn)
        return members

    def conversations(self) -> dict[str, Any]:
        """Forty threads over a week, half answered; answers a context body for one of them."""
        rng = random.Random(7)
        first = None
        for n in range(CONVERSATIONS):
            ago = rng.randint(5, 7 * 24 * 60)
            steps = [{"who": "customer", "minutesAgo": ago, "text": f"Question {n}"}]
            if n % 2:
                steps.append({"who": "lee@contoso.com", "minutesAgo": ago // 2, "text": "Answer"})
            made = self.control(
                "POST",
                f"/_emulator/mailboxes/{SUPPORT}/conversations",
                {
                    "customer": {"name": f"Customer {n}", "address": f"c{n}@adatum.com"},
                    "subject": f"Benchmark conversation {n}",
                    "steps": steps,
                },
            )
            first = first or made["items"][0]["id"]
        assert first is not None
        return {
            "itemId": first,
            "itemType": "message",
            "shared": {
                "targetMailbox": SUPPORT,
                "targetRestUrl": REST_URL,
                "owner": SUPPORT,
                "delegatePermissions": 63,
            },
        }

    def backend(self) -> stack.Process:
        """`tandem serve` with two workers sharing Redis, its record in SQLite."""
        config = self.control("GET", "/_emulator/config")
        settings = stack.settings_for(config, self.certs.ca_cert)
        settings.update(
            TANDEM_REDIS_URL=f"redis://127.0.0.1:{self.redis.port}/0",
            TANDEM_CACHE_KEY=stack.CACHE_KEY,
            TANDEM_DATA_DIR=str(self.work / "data"),
        )
        server = stack.backend(
            "backend",
            settings,
            self.certs.ca_cert.parent,
            self.work,
            workers=2,
            threads=32,
            naive=False,
            probe=self.probe,
        )
        self.servers.append(server)
        return server

    def floor(self, upn: str) -> dict[str, Any]:
        """The same two lists straight from Graph, one after the other (what a client that
        skipped Tandem and its kept lists would pay on every refresh), ten times."""
        graph = self.control("POST", "/_emulator/graph-token", {"user": upn})["token"]
        direct = Connection(self.emulator.port, self.tls)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 14 * 86400))
        inbox = quote(f"receivedDateTime ge {since}"), quote("receivedDateTime desc")
        sent = quote(f"sentDateTime ge {since}"), quote("sentDateTime desc")
        paths = [
            f"/v1.0/users/{SUPPORT}/mailFolders/inbox/messages?$filter={inbox[0]}"
            f"&$orderby={inbox[1]}"
            "&$select=id,conversationId,subject,from,receivedDateTime,parentFolderId&$top=100",
            f"/v1.0/users/{SUPPORT}/mailFolders/sentitems/messages?$filter={sent[0]}"
            f"&$orderby={sent[1]}&$select=conversationId,sentDateTime,from&$top=100",
        ]
        times = []
        for _ in range(10):
            began = time.perf_counter()
            for path in paths:
                status, _ = direct.call("GET", path, None, {"Authorization": f"Bearer {graph}"})
                assert status == 200, status
            times.append((time.perf_counter() - began) * 1000)
        direct.close()
        return {"ms": _spread(times)}

    def refresh(
        self, backend: stack.Process, tokens: dict[str, str], body: dict[str, Any]
    ) -> dict[str, Any]:
        """Every member refreshing every --every seconds for --seconds; the Graph requests on
        support@ by kind, and each refresh's time (kept lists or made)."""
        args = self.args
        before = len(self.control("GET", "/_emulator/requests?limit=100000")["requests"])
        stop = time.monotonic() + args.seconds
        timings: list[tuple[float, float]] = []  # (when, ms)
        failures: list[int] = []
        lock = threading.Lock()
        began = time.monotonic()

        def member(n: int, token: str) -> None:
            connection = Connection(backend.port, self.tls)
            # Spread over the period, as panes opened at different moments would be.
            next_at = began + (n / len(tokens)) * args.every
            while True:
                now = time.monotonic()
                if now >= stop:
                    break
                if next_at > now:
                    time.sleep(next_at - now)  # the member's own pace, not a wait for a server
                    continue
                started = time.perf_counter()
                status, _ = connection.call(
                    "POST",
                    "/api/mailbox/queue",
                    {**body, "view": "open"},
                    {"Authorization": f"Bearer {token}"},
                )
                ms = (time.perf_counter() - started) * 1000
                with lock:
                    if status == 200:
                        timings.append((time.monotonic() - began, ms))
                    else:
                        failures.append(status)
                next_at += args.every
            connection.close()

        threads = [
            threading.Thread(target=member, args=(n, token), daemon=True)
            for n, token in enumerate(tokens.values())
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
        log = self.control("GET", "/_emulator/requests?limit=100000")["requests"][before:]
        mine = [r for r in log if (r.get("mailbox") or "").lower() == SUPPORT]
        kinds: dict[str, int] = {}
        made_at: list[float] = []
        for request in mine:
            kind = _kind(request["path"])
            kinds[kind] = kinds.get(kind, 0) + 1
        inbox_lists = [r for r in mine if _kind(r["path"]) == "list Inbox"]
        for request in inbox_lists:
            made_at.append(request["time"])
        minutes = elapsed / 60
        periods = elapsed / SNAPSHOT_TTL
        # A refresh waited on Graph when it took at least two Graph round trips: it made the
        # lists, waited for another member making them, or checked the person's access.
        made = [ms for _, ms in timings if ms >= 2 * args.graph_ms]
        kept = [ms for _, ms in timings if ms < 2 * args.graph_ms]
        return {
            "seconds": round(elapsed, 1),
            "refreshes": len(timings),
            "failures": failures,
            "refreshesPerMinute": round(len(timings) / minutes, 1),
            "graphRequests": len(mine),
            "graphRequestsPerMinute": round(len(mine) / minutes, 1),
            "byKind": dict(sorted(kinds.items(), key=lambda kv: -kv[1])),
            "inboxListsPerMinute": round(len(inbox_lists) / minutes, 1),
            "inboxListsPerCachePeriod": round(len(inbox_lists) / periods, 2),
            "graphRequestsPerRefresh": round(len(mine) / max(1, len(timings)), 3),
            "ms": {
                "all": _spread([ms for _, ms in timings]),
                "listsKept": _spread(kept),
                "listsMade": _spread(made),
            },
        }


def _kind(path: str) -> str:
    """What a Graph request on the mailbox was, for the table."""
    if path.endswith("/mailFolders/inbox/messages"):
        return "list Inbox"
    if path.endswith("/mailFolders/sentitems/messages"):
        return "list Sent Items"
    if path.endswith("/mailFolders/inbox"):
        return "check Inbox (per person, 5 min)"
    if path.endswith("/mailFolders/sentitems"):
        return "check Sent Items (per person, 5 min)"
    return "other (the context reads)"


def _spread(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 1),
        "p99": round(p99, 1),
        "mean": round(statistics.fmean(ordered), 1),
    }


def markdown(results: dict[str, Any]) -> str:
    """The queue's figures as the tables RESULTS.md quotes."""
    s = results["settings"]
    r = results["refresh"]
    floor = results["floor"]["ms"]
    kept, made = r["ms"]["listsKept"], r["ms"]["listsMade"]
    lines = [
        f"## The queue ({results['started']})",
        "",
        f"{s['members']} members of support@ each refreshing the queue every "
        f"{s['refreshEverySeconds']:g} s for {r['seconds']:g} s ({r['refreshes']} refreshes, "
        f"{r['refreshesPerMinute']:g} a minute; failures: {len(r['failures'])}), {s['backend']}, "
        f"Graph at {s['graphMs']} ms a request, the lists kept {s['cachePeriodSeconds']:g} s.",
        "",
        "| goal | measured | |",
        "|---|---|---|",
        f"| at most one Graph list of the Inbox per mailbox per cache period, whatever the number "
        f"of members | {r['inboxListsPerCachePeriod']:g} per period ({r['inboxListsPerMinute']:g} "
        f"a minute for {r['refreshesPerMinute']:g} refreshes) | "
        f"{'met' if r['inboxListsPerCachePeriod'] <= 1.05 else 'not met'} |",
        f"| Graph requests on the mailbox per minute | {r['graphRequestsPerMinute']:g} "
        f"({r['graphRequestsPerRefresh']:g} per refresh; without the kept lists it would be "
        f"at least 2 per refresh: {2 * r['refreshesPerMinute']:g} a minute) | reported |",
        "",
        "| Graph requests on support@ | count |",
        "|---|---|",
        *[f"| {kind} | {n} |" for kind, n in r["byKind"].items()],
        "",
        "| a refresh | n | p50 ms | p99 ms |",
        "|---|---|---|---|",
        f"| the lists kept (no Graph list) | {kept.get('n', 0)} | {kept.get('p50', '–')} | "
        f"{kept.get('p99', '–')} |",
        f"| waited on Graph (made the lists, waited for them, or checked access) | "
        f"{made.get('n', 0)} | {made.get('p50', '–')} | "
        f"{made.get('p99', '–')} |",
        f"| the floor: the two lists straight from Graph | {floor.get('n', 0)} | "
        f"{floor.get('p50', '–')} | {floor.get('p99', '–')} |",
        "",
    ]
    if kept.get("n") and floor.get("n"):
        lines.append(
            f"A refresh that finds the lists kept takes {kept['p50'] / floor['p50']:.2f} of the "
            "floor's time at p50; one that waits on Graph "
            + (f"{made['p50'] / floor['p50']:.2f}." if made.get("n") else "(none in this run).")
        )
    return "\n".join(lines) + "\n"
