"""Measured, not claimed: Tandem against the direct Graph call it wraps, in one run.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python -m bench [--naive] [--quick]

Starts, over HTTPS on loopback: the emulator under gunicorn (one worker, many threads,
keep-alive) with latency injected into Entra ID's token endpoint (120 ms) and Graph (80 ms),
the backend as in production (`tandem serve`, gunicorn) and the read path's floor app
(bench/floor.py, the same gunicorn). Then, for concurrency 1, 16 and 64, it runs the same
people on the same items through the backend and straight to the emulator's Graph with a Graph
token (what a client that skipped Tandem would pay), and the context through the floor app, in
alternating slices so that all see the same machine; and every action, through Tandem and as
its minimum of Graph calls made directly, at concurrency 1 and 16, counting Graph requests per
action (bench/actions.py). It writes `bench/results/`: `bench.json` (everything), `bench.md`
(the tables) and `latency.png` (the plot).

Also measured: token-endpoint calls and JWKS fetches per 1,000 requests (a key rotation
happens halfway), the largest number in flight to one mailbox, the backend's memory across
20,000 requests, CPU time per request of each process, a py-spy profile of the backend at
concurrency 16, and the pane in Chromium (`bench/pane.py`). `--naive` adds the backend with
its on-behalf-of cache and mailbox gate off, side by side.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import ssl
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tandem_mailbox.certs import ensure
from tandem_mailbox.microsoft.outbound import Session, ssl_context

from . import actions, floors, load, minimum, pane, profile, report, stack
from .load import Connection, Gate, Sample, User

REPO = Path(__file__).resolve().parent.parent
PEOPLE = [
    "adele@contoso.com",
    "megan@contoso.com",
    "alex@contoso.com",
    "nestor@contoso.com",
    "lee@contoso.com",
    "sam@contoso.com",
    "pat@contoso.com",
    "joni@contoso.com",
]
# The mailboxes load is spread over, and who works in each with write rights: the two shared
# mailboxes (Full Access), Adele's (herself, and Nestor as Editor) and everyone's own.
MAILBOXES = [
    ("support@contoso.com", ["lee@contoso.com", "sam@contoso.com"]),
    ("sales@contoso.com", ["pat@contoso.com"]),
    ("adele@contoso.com", ["adele@contoso.com", "nestor@contoso.com"]),
    *[(upn, [upn]) for upn in PEOPLE if upn != "adele@contoso.com"],
]
LEVELS = (1, 16, 64)
WORKLOADS = ("context", "write")
# The targets of a workload, in the order of the first slice (then alternating).
TARGETS = {"context": ("direct", "floor", "backend"), "write": ("direct", "backend")}
DELEGATE = ("nestor@contoso.com", "adele@contoso.com")  # the delegate route's user


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; answers the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--token-ms", type=int, default=120, help="Entra ID's token endpoint")
    parser.add_argument("--graph-ms", type=int, default=80, help="every Graph request")
    parser.add_argument("--seconds", type=float, default=5.0, help="one slice of load")
    parser.add_argument("--rounds", type=int, default=3, help="slices per target and level")
    parser.add_argument("--rss-requests", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=64, help="the backend's threads")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="the backend's gunicorn workers; above 1 they share a redis-server the run starts",
    )
    parser.add_argument("--naive", action="store_true", help="also the naive backend")
    parser.add_argument("--no-pane", action="store_true", help="skip the Chromium part")
    parser.add_argument("--no-profile", action="store_true", help="skip py-spy")
    parser.add_argument("--quick", action="store_true", help="short slices: a smoke run")
    parser.add_argument(
        "--action-rounds", type=int, default=4, help="rounds of each action at c=1 (per item)"
    )
    parser.add_argument("--no-actions", action="store_true", help="skip the per-action table")
    parser.add_argument(
        "--levels", default="1,16,64", help="concurrencies, comma-separated (1,16,64)"
    )
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds, args.rss_requests, args.action_rounds = 1.0, 1, 2_000, 1
    args.levels = tuple(int(n) for n in args.levels.split(","))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tandem-bench-"))
    try:
        results = Bench(args, work).run()
    finally:
        shutil.rmtree(work / "certs", ignore_errors=True)  # keys: the logs stay for a look
    stack.dump(out / "bench.json", results)
    (out / "bench.md").write_text(report.markdown(results))
    report.plot(results, out / "latency.png")
    print(report.markdown(results))
    print(f"wrote {out / 'bench.json'}, {out / 'bench.md'}, {out / 'latency.png'}; logs in {work}")
    return 0


class Bench:
    """One run: the servers, the users, the phases, the counters."""

    def __init__(self, args: argparse.Namespace, work: Path):
        self.args = args
        self.work = work
        self.certs, _ = ensure(work / "certs")
        self.tls = ssl.create_default_context(cafile=str(self.certs.ca_cert))
        self.http = Session(context=ssl_context(self.certs.ca_cert), timeout=60, pool_size=16)
        self.servers: list[stack.Process] = []
        self.redis: stack.Process | None = None
        self.served = 0  # backend requests answered (every 200 counted, warm-ups too)

    # -- the emulator's control routes ------------------------------------------------------
    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call an emulator control route; answers its JSON."""
        response = self.http.request(method, f"{self.emulator.url}{path}", json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def stats(self) -> dict[str, Any]:
        """GET /_emulator/stats."""
        return self.control("GET", "/_emulator/stats")

    def probe(self, url: str) -> int:
        """The status of a GET (for readiness)."""
        return self.http.get(url, timeout=5).status_code

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Everything, in order; the servers are stopped whatever happens."""
        args = self.args
        results: dict[str, Any] = {
            "machine": stack.machine(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "settings": {
                "tokenEndpointMs": args.token_ms,
                "graphMs": args.graph_ms,
                "sliceSeconds": args.seconds,
                "rounds": args.rounds,
                "backend": f"tandem serve --workers {args.workers} --threads {args.threads}"
                + (" with Redis" if args.workers > 1 else ""),
                "emulator": "gunicorn, 1 worker x 128 threads (bench/servers.py)",
            },
        }
        try:
            if args.workers > 1:  # their gate, locks and token cache shared, as in production
                self.redis = stack.redis_server(self.work)
                self.servers.append(self.redis)
            self.emulator = stack.emulator(
                Path(self.certs.ca_cert.parent), self.work, threads=128, probe=self.probe
            )
            self.servers.append(self.emulator)
            self.users = self.prepare()
            results["workload"] = self.describe_workload()
            self.control(
                "POST",
                "/_emulator/faults",
                [
                    {"target": "token", "delayMs": args.token_ms, "times": -1},
                    {"target": "graph", "delayMs": args.graph_ms, "times": -1},
                ],
            )
            results.update(self.measure())
            if not args.no_actions:
                results["actions"] = self.actions()
            if args.naive:
                results["naive"] = self.naive()
        finally:
            for server in reversed(self.servers):
                server.stop()
        if not args.no_pane:
            results["pane"] = pane.measure(self.certs.ca_cert.parent, self.work)
        results["pane"] = dict(results.get("pane", {}), sizes=pane.sizes())
        results["machine"]["loadAverageAfter"] = [round(x, 2) for x in os.getloadavg()]
        return results

    def prepare(self) -> list[User]:
        """Mail for everyone (so each user has items of their own), then 64 users with tokens."""
        joni = self.control("POST", "/_emulator/graph-token", {"user": "joni@contoso.com"})
        recipients = [{"emailAddress": {"address": m}} for m, _ in MAILBOXES]
        for n in range(14):
            message = {
                "subject": f"Benchmark message {n + 1}",
                "body": {"contentType": "text", "content": "Delivered for the benchmark."},
                "toRecipients": recipients,
            }
            answer = self.http.post(
                f"{self.emulator.url}/v1.0/me/sendMail",
                json={"message": message, "saveToSentItems": False},
                headers={"Authorization": f"Bearer {joni['token']}"},
            )
            assert answer.status_code == 202, answer.text
        world = self.control("GET", "/_emulator/world")
        # Items by their immutable ids, as the pane knows them after its first context call
        # (the moves of the action table change an item's REST id, never its immutable one).
        inboxes = {
            box["address"]: [
                i["immutableId"]
                for f in box["folders"]
                if f["wellKnownName"] == "inbox"
                for i in f["items"]
                if i["itemType"] == "message"
            ]
            for box in world["mailboxes"]
        }
        # User n works in mailbox n % 10 as its next eligible person, on its share of the
        # mailbox's Inbox: users of one mailbox never write the same item.
        users = []
        sharing = Counter(n % len(MAILBOXES) for n in range(max(LEVELS)))
        for n in range(max(LEVELS)):
            address, people = MAILBOXES[n % len(MAILBOXES)]
            rank = n // len(MAILBOXES)
            upn = people[rank % len(people)]
            items = inboxes[address][rank :: sharing[n % len(MAILBOXES)]]
            users.append(User(upn=upn, mailbox=address, own=upn == address, items=items))
        self.mint(users)
        for user in users:
            user.direct = Connection(self.emulator.port, self.tls)
            for _ in user.items:  # what each item is now: the writes toggle it from there
                load.direct_context(user, Gate())
        return users

    def mint(self, users: list[User]) -> None:
        """A new SSO token for each user (a distinct exchange each) and a Graph token."""
        for user in users:
            user.sso = self.control("POST", "/_emulator/sso-token", {"user": user.upn})["token"]
            if not user.graph:
                user.graph = self.control("POST", "/_emulator/graph-token", {"user": user.upn})[
                    "token"
                ]

    def describe_workload(self) -> dict[str, Any]:
        """Who works where, at each concurrency."""
        spread = {}
        for level in self.args.levels:
            per = Counter(u.mailbox for u in self.users[:level])
            spread[str(level)] = dict(sorted(per.items(), key=lambda kv: -kv[1]))
        return {
            "users": len(self.users),
            "people": len({u.upn for u in self.users}),
            "mailboxes": len(MAILBOXES),
            "itemsPerUser": min(len(u.items) for u in self.users),
            "usersPerMailbox": spread,
        }

    def start_floor(self) -> stack.Process:
        """The read path's floor app (bench/floor.py) wired to the emulator, as the backend."""
        config = self.control("GET", "/_emulator/config")
        settings = stack.settings_for(config, self.certs.ca_cert)
        settings["TANDEM_DATA_DIR"] = str(self.work / "data")  # Tandem's record (its actions write)
        server = stack.backend(
            "floor",
            settings,
            self.certs.ca_cert.parent,
            self.work,
            workers=1,
            threads=self.args.threads,
            naive=False,
            probe=self.probe,
        )
        self.servers.append(server)
        for user in self.users:
            user.floor = Connection(server.port, self.tls)
        return server

    def start_backend(self, name: str, *, naive: bool) -> stack.Process:
        """`tandem serve` (or the naive backend) wired to the emulator."""
        config = self.control("GET", "/_emulator/config")
        settings = stack.settings_for(config, self.certs.ca_cert)
        settings["TANDEM_DATA_DIR"] = str(self.work / "data")  # the record, which the floor reads
        if self.redis is not None:
            settings.update(
                TANDEM_REDIS_URL=f"redis://127.0.0.1:{self.redis.port}/0",
                TANDEM_CACHE_KEY=stack.CACHE_KEY,
            )
        server = stack.backend(
            name,
            settings,
            self.certs.ca_cert.parent,
            self.work,
            workers=self.args.workers,
            threads=self.args.threads,
            naive=naive,
            probe=self.probe,
        )
        self.servers.append(server)
        for user in self.users:
            if user.backend is not None:
                user.backend.close()
            user.backend = Connection(server.port, self.tls)
        return server

    # -- the main measurement -----------------------------------------------------------------
    def measure(self) -> dict[str, Any]:
        """Backend against direct at every level; counters, memory, CPU, the profile."""
        args = self.args
        before = self.stats()
        backend = self.start_backend("backend", naive=False)
        self.floor = self.start_floor()
        worker = backend.workers()[0]  # the profile's and memory's worker; CPU sums them all
        rss = {"idleKiB": stack.rss_kib(worker)}
        gate = Gate()
        warm = load.once_each(self.users, load.backend_context, gate)
        load.once_each(self.users, load.direct_context, gate)
        _check(load.once_each(self.users, load.floor_context, gate), "the floor's warm-up")
        _check(warm, "warm-up")
        self.served = len(warm.latencies)
        baseline = self.served
        rss["afterWarmupKiB"] = stack.rss_kib(worker)
        busy0 = stack.machine_busy()
        cpu0 = self.cpu(backend)
        levels = []
        rotation: dict[str, Any] = {}
        for level in self.args.levels:
            if level == max(self.args.levels) and not rotation:
                rotation = self.rotate()
            for workload in WORKLOADS:
                levels.append(self.level(self.users[:level], workload, gate, backend))
        profiled = {}
        if not args.no_profile:
            profiled = profile.record(
                worker,
                lambda seconds: load.run(
                    self.users[:16], load.backend_context, gate, seconds=seconds
                ),
                self.work,
                seconds=4 if args.quick else 15,
            )
            self.served += profiled.get("requests", 0)
        endurance = self.endurance(gate, until=baseline + args.rss_requests)
        rss["afterKiB"] = stack.rss_kib(worker)
        rss["requests"] = self.served - baseline
        rss["growthKiB"] = rss["afterKiB"] - rss["afterWarmupKiB"]
        busy1 = stack.machine_busy()
        cpu1 = self.cpu(backend)
        after = self.stats()
        backend_requests = self.served
        # The floor app exchanges each token once too: its calls are its own.
        floor = self.http.get(f"{self.floor.url}/_floor/stats").json()
        floor_tokens, floor_keys = int(floor["tokenRequests"]), int(floor["jwksFetches"])
        tokens = after["tokenRequests"] - before["tokenRequests"] - floor_tokens
        distinct = len(self.users) * (2 if rotation else 1)
        counters = {
            "backendRequests": backend_requests,
            "tokenRequests": tokens,
            "distinctPersonTokens": distinct,
            "tokenRequestsPer1000": round(1000 * tokens / backend_requests, 2),
            "floorTokenRequests": floor_tokens,
            "floorJwksFetches": floor_keys,
            "jwksFetches": after["jwksFetches"] - before["jwksFetches"] - floor_keys,
            "jwksFetchesPer1000": round(
                1000
                * (after["jwksFetches"] - before["jwksFetches"] - floor_keys)
                / backend_requests,
                3,
            ),
            "keyRotations": 1 if rotation else 0,
            "jwksFetchesForTheRotation": rotation.get("jwksFetches"),
            "maxInFlightPerMailbox": after["maxInFlightPerMailbox"],
            "maxInFlight": after["maxInFlight"],
            "throttledByConcurrency": after["throttledByConcurrency"]
            - before["throttledByConcurrency"],
        }
        elapsed = busy1[1] - busy0[1]
        ours = sum(cpu1.values()) - sum(cpu0.values())
        cpu = {
            "seconds": {k: round(cpu1[k] - cpu0[k], 2) for k in cpu1},
            "machineBusyCores": round((busy1[0] - busy0[0]) / elapsed * _cores(), 2),
            "othersBusyCores": round(((busy1[0] - busy0[0]) - ours) / elapsed * _cores(), 2),
        }
        return {
            "levels": levels,
            "counters": counters,
            "rotation": rotation,
            "rss": rss,
            "endurance": endurance,
            "cpu": cpu,
            "profile": profiled,
        }

    def level(
        self, users: list[User], workload: str, gate: Gate, backend: stack.Process
    ) -> dict[str, Any]:
        """Backend and direct at one concurrency, in alternating slices; their figures."""
        before = self.stats()
        targets = TARGETS[workload]
        pooled = {target: Sample() for target in targets}
        for target in targets:  # connections, tokens, the servers' caches
            warm = load.once_each(users, load.OPERATIONS[workload, target], gate)
            _check(warm, f"warm-up of {workload} at {len(users)}")
            if target == "backend":
                self.served += len(warm.latencies)
        cpu0, busy0 = self.cpu(backend), stack.machine_busy()
        for n in range(self.args.rounds):
            order = targets if n % 2 == 0 else tuple(reversed(targets))
            for target in order:
                sample = load.run(
                    users, load.OPERATIONS[workload, target], gate, seconds=self.args.seconds
                )
                pooled[target].add(sample)
                if target == "backend":
                    self.served += len(sample.latencies)
        after = self.stats()
        cpu1, busy1 = self.cpu(backend), stack.machine_busy()
        ours = sum(cpu1.values()) - sum(cpu0.values())
        row = {
            "concurrency": len(users),
            "workload": workload,
            "requests": len(pooled["backend"].latencies),
            "backend": report.summary(pooled["backend"]),
            "direct": report.summary(pooled["direct"]),
            "tokenRequests": after["tokenRequests"] - before["tokenRequests"],
            "throttledByConcurrency": after["throttledByConcurrency"]
            - before["throttledByConcurrency"],
            "cpuMsPerRequest": _per_request(cpu0, cpu1, pooled),
            # Cores other people's processes kept busy meanwhile: how noisy these figures are.
            "othersBusyCores": round(
                ((busy1[0] - busy0[0]) - ours) / (busy1[1] - busy0[1]) * _cores(), 2
            ),
        }
        row["addedMs"] = {
            p: round(row["backend"][p] - row["direct"][p], 2) for p in ("p50", "p95", "p99")
        }
        row["ratio"] = {
            p: round(row["backend"][p] / row["direct"][p], 3) for p in ("p50", "p95", "p99")
        }
        if "floor" in pooled:
            row["floor"] = report.summary(pooled["floor"])
            row["overFloorMs"] = {
                p: round(row["backend"][p] - row["floor"][p], 2) for p in ("p50", "p95", "p99")
            }
            cpu = row["cpuMsPerRequest"]
            cpu["floorRatio"] = round(cpu["backend"] / cpu["floor"], 3) if cpu["floor"] else None
        print(report.line(row), flush=True)
        return row

    def rotate(self) -> dict[str, Any]:
        """Rotate Entra ID's signing key and give every user a token signed with the new one."""
        before = self.stats()
        kid = self.control("POST", "/_emulator/keys/rotate", {"retireOld": False})["kid"]
        self.mint(self.users)
        warm = load.once_each(self.users, load.backend_context, Gate())
        _check(warm, "the first requests after the key rotation")
        self.served += len(warm.latencies)
        after = self.stats()
        return {
            "kid": kid,
            "jwksFetches": after["jwksFetches"] - before["jwksFetches"],
            "tokenRequests": after["tokenRequests"] - before["tokenRequests"],
            "requests": len(warm.latencies),
        }

    def endurance(self, gate: Gate, *, until: int) -> dict[str, Any]:
        """Reads and writes at concurrency 64 until the backend has answered `until` in all."""
        started = time.monotonic()
        pooled = Sample()
        operations = (load.backend_context, load.backend_write)
        n = 0
        while self.served < until and time.monotonic() - started < 600:
            sample = load.run(self.users, operations[n % 2], gate, seconds=10)
            pooled.add(sample)
            self.served += len(sample.latencies)
            n += 1
        return dict(report.summary(pooled), seconds=round(time.monotonic() - started, 1))

    def cpu(self, backend: stack.Process) -> dict[str, float]:
        """CPU seconds so far of the backend's worker, the floor's, the emulator's worker and
        the load."""
        floor = getattr(self, "floor", None)
        return {
            "backend": sum(stack.cpu_seconds(pid) for pid in backend.workers()),
            "floor": sum(stack.cpu_seconds(pid) for pid in floor.workers()) if floor else 0.0,
            "emulator": stack.cpu_seconds(self.emulator.workers()[0]),
            "load": time.process_time(),
        }

    # -- every action ------------------------------------------------------------------------
    def actions(self) -> dict[str, Any]:
        """Every action through Tandem and as its minimum made directly, at c=1 and c=16 (the
        mailbox route's users), with Graph requests per action counted at c=1; and the
        delegate route's count of each action it can take."""
        gate = Gate()
        members = [u for u in self.users if (u.upn, u.mailbox) != DELEGATE]
        for user in self.users:
            user.state.clear()
        for user in members[:16]:
            actions.direct_folders(user, gate)
        count = lambda: int(self.stats()["graphRequests"])  # noqa: E731 - one line
        rows: dict[str, dict[str, Any]] = {}
        for experiment in actions.EXPERIMENTS:
            for level in (1, 16):
                users = members[:level]
                for user in users:  # what the pane last saw is stale after the direct rounds
                    user.state.clear()
                actions.prepare(users, experiment, gate)
                rounds = self.args.action_rounds if level == 1 else 1
                targets = ["backend", "direct"]
                if experiment in actions.FLOOR_EXPERIMENTS and getattr(self, "floor", None):
                    targets.insert(1, "floor")
                for target in targets:
                    measured = actions.run(
                        users,
                        experiment,
                        target,
                        gate,
                        rounds=rounds,
                        count=count if level == 1 and target == "backend" else None,
                    )
                    for name, sample in measured.samples.items():
                        row = rows.setdefault(name, {"action": name})
                        row.setdefault(str(level), {})[target] = report.summary(sample)
                    for name, made in measured.graph_requests.items():
                        rows.setdefault(name, {"action": name})["graphRequests"] = dict(made)
            print(floors.action_line(rows, experiment), flush=True)
        delegate = self.delegate_counts(gate, count)
        hop = self.hop() if getattr(self, "floor", None) else None
        table = minimum.table()
        for name, row in rows.items():
            row["minimum"] = table.get(("mailbox", name))
            row["delegateMinimum"] = table.get(("delegate", name))
            row["delegateGraphRequests"] = delegate.get(name)
        return {
            "graphMs": self.args.graph_ms,
            "users": {"1": members[0].upn, "16": len(members[:16])},
            "rows": [rows[n] for n in actions.NAMES if n in rows],
            "errors": rows.get("errors"),
            "hop": hop,
        }

    def hop(self, count: int = 60) -> dict[str, Any]:
        """What one hop through the stack costs on its own at c=1: the floor app's minimal
        route answered back to back, and after a wait as long as Graph's (a server's work
        after a wait runs on caches that went cold meanwhile, and so does the client's)."""
        assert self.floor is not None
        connection = Connection(self.floor.port, self.tls)
        took: dict[int, list[float]] = {}
        try:
            for wait in (0, self.args.graph_ms):
                took[wait] = []
                for n in range(count + 2):
                    began = time.perf_counter()
                    status, _ = connection.call("GET", f"/_floor/wait/{wait}")
                    ms = (time.perf_counter() - began) * 1000 - wait
                    if status != 200:
                        raise SystemExit(f"bench: the floor app's wait route answered {status}")
                    if n >= 2:  # the first: a new connection, or the series before it
                        took[wait].append(ms)
        finally:
            connection.close()
        return {
            "waitMs": self.args.graph_ms,
            "atOnceMs": round(load.percentile(took[0], 50), 2),
            "afterWaitMs": round(load.percentile(took[self.args.graph_ms], 50), 2),
        }

    def delegate_counts(self, gate: Gate, count: Any) -> dict[str, dict[str, int]]:
        """Graph requests per action of the delegate (Nestor on Adele's Inbox), one warm each;
        his moves have nowhere to go and his deletes can't be undone, so they are left to the
        tests (tests/api/test_round_trips.py)."""
        user = next((u for u in self.users if (u.upn, u.mailbox) == DELEGATE), None)
        if user is None:
            return {}
        one = dataclasses.replace(user, items=user.items[:1], state={})
        made: dict[str, dict[str, int]] = {}
        for experiment in ("claim", "read", "flag", "categorize", "reply", "forward", "draft"):
            actions.prepare([one], experiment, gate)
            measured = actions.run([one], experiment, "backend", gate, rounds=1, count=count)
            for name, counted in measured.graph_requests.items():
                made[name] = dict(counted)
        return made

    # -- naive ---------------------------------------------------------------------------------
    def naive(self) -> dict[str, Any]:
        """The backend with its on-behalf-of cache and mailbox gate off: one slice per level."""
        for server in [s for s in self.servers if s.name == "backend"]:
            server.stop()
            self.servers.remove(server)
        before = self.stats()
        backend = self.start_backend("naive", naive=True)
        gate = Gate()
        warm = load.once_each(self.users, load.backend_context, gate)
        rows = []
        for level in self.args.levels:
            users = self.users[:level]
            for workload in WORKLOADS:
                stats0 = self.stats()
                cpu0 = self.cpu(backend)
                sample = load.run(
                    users, load.OPERATIONS[workload, "backend"], gate, seconds=self.args.seconds
                )
                stats1 = self.stats()
                cpu1 = self.cpu(backend)
                row = {
                    "concurrency": level,
                    "workload": workload,
                    "naive": report.summary(sample),
                    "tokenRequests": stats1["tokenRequests"] - stats0["tokenRequests"],
                    "throttledByConcurrency": stats1["throttledByConcurrency"]
                    - stats0["throttledByConcurrency"],
                    "cpuMsPerRequest": round(
                        1000
                        * (cpu1["backend"] - cpu0["backend"])
                        / max(1, len(sample.latencies) + sum(sample.errors.values())),
                        2,
                    ),
                }
                print(report.naive_line(row), flush=True)
                rows.append(row)
        after = self.stats()
        return {
            "levels": rows,
            "warmupErrors": dict(warm.errors),
            "maxInFlightPerMailbox": after["maxInFlightPerMailbox"],
            "throttledByConcurrency": after["throttledByConcurrency"]
            - before["throttledByConcurrency"],
        }


def _check(sample: Sample, what: str) -> None:
    if sample.errors:
        raise SystemExit(f"bench: {what} failed: {dict(sample.errors)}")


def _cores() -> int:
    return os.cpu_count() or 1


def _per_request(
    cpu0: dict[str, float], cpu1: dict[str, float], pooled: dict[str, Sample]
) -> dict[str, float]:
    """CPU milliseconds per request: the backend's per backend request, and the others'."""
    backend_n = max(1, len(pooled["backend"].latencies))
    floor_n = len(pooled["floor"].latencies) if "floor" in pooled else 0
    total_n = max(1, sum(len(sample.latencies) for sample in pooled.values()))
    return {
        "backend": round(1000 * (cpu1["backend"] - cpu0["backend"]) / backend_n, 3),
        "floor": round(1000 * (cpu1["floor"] - cpu0["floor"]) / floor_n, 3) if floor_n else 0.0,
        "emulator": round(1000 * (cpu1["emulator"] - cpu0["emulator"]) / total_n, 2),
        "load": round(1000 * (cpu1["load"] - cpu0["load"]) / total_n, 2),
    }


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
