"""Several gunicorn workers on one mailbox, with Redis and without: what sharing state is worth.

Starts the emulator in this process, a redis-server on a free loopback port (no persistence)
and, for each mode, two backends as `gunicorn -w 2 --threads 16 'backend:create_app()'`
(four workers), then measures:

- 64 clients x 4 `POST /api/items/context` on support@ (Graph latency 20 ms): the most Graph
  requests the emulator saw in flight on the mailbox, and its `MailboxConcurrency` 429s;
- 50 claim races (Lee and Sam, on different backends) with the emulator ignoring If-Match, so
  the item lock alone keeps the updates: races with two winners are lost updates;
- 100 requests with one fresh SSO token spread over the workers: token-endpoint calls.

The mode without Redis runs with TANDEM_SINGLE_WORKER_STATE=true (the settings refuse it
otherwise). Usage: .venv/bin/python bench/bench_workers.py; docs/deployment.md quotes one run.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import stack  # noqa: E402
from tandem_mailbox.certs import ensure  # noqa: E402
from tandem_mailbox.cli.demo import serve_emulator  # noqa: E402
from tandem_mailbox.mail.claim_category import holder  # noqa: E402
from tandem_mailbox.microsoft.outbound import Session, ssl_context  # noqa: E402

SUPPORT = "support@contoso.com"


def wait_for(condition: Any, seconds: float, what: str) -> None:
    """Poll until `condition()` holds; give up after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.05)  # polling for readiness, bounded by the deadline
    raise SystemExit(f"{what} never became ready")


def gunicorn(env: dict[str, str], log: Path, http: Session) -> tuple[subprocess.Popen, str]:
    """One backend of two workers with 16 threads each; answers the process and its URL."""
    command = [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "16"]
    command += ["-b", "127.0.0.1:0", "--certfile", env["BENCH_CERT"], "--keyfile", env["BENCH_KEY"]]
    command += ["--error-logfile", "-", "backend:create_app()"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=sink, stderr=sink)
    found: list[str] = []

    def listening() -> bool:
        match = re.search(r"Listening at: https://127\.0\.0\.1:(\d+)", log.read_text())
        if match:
            found.append(f"https://localhost:{match.group(1)}")
        return bool(match)

    wait_for(listening, 60, "gunicorn")
    wait_for(lambda: http.get(f"{found[0]}/healthz").status_code == 200, 60, "gunicorn")
    return process, found[0]


def run_mode(name: str, env: dict[str, str], paths: Any, http: Session, tmp: Path) -> dict:
    """A fresh emulator and two backends with `env`: measure, stop them, answer the figures."""
    server, emulator = serve_emulator(
        host="127.0.0.1",
        port=0,
        cert=paths.cert,
        key=paths.key,
        public_url="https://localhost:3000",
    )
    env = {
        **env,
        **emulator.settings(),
        "TANDEM_PUBLIC_URL": "https://localhost:3000",
        "TANDEM_CA_BUNDLE": str(paths.ca_cert),
        "BENCH_CERT": str(paths.cert),
        "BENCH_KEY": str(paths.key),
    }
    processes, urls = [], []
    for n in range(2):
        process, url = gunicorn(env, tmp / f"{name}-{n}.log", http)
        processes.append(process)
        urls.append(url)
    control = emulator.base_url + "/_emulator"

    def sso(user: str) -> str:
        return http.post(f"{control}/sso-token", json={"user": user}).json()["token"]

    def stats() -> dict[str, Any]:
        return http.get(f"{control}/stats").json()

    def post(url: str, path: str, token: str, body: dict[str, Any]) -> int:
        return http.post(
            url + path, json=body, headers={"Authorization": f"Bearer {token}"}
        ).status_code

    world = http.get(f"{control}/world").json()
    box = next(b for b in world["mailboxes"] if b["address"] == SUPPORT)
    inbox = next(f for f in box["folders"] if f["wellKnownName"] == "inbox")["items"]

    def body(item_id: str) -> dict[str, Any]:
        return {
            "itemId": item_id,
            "itemType": "message",
            "shared": {
                "targetMailbox": SUPPORT,
                "targetRestUrl": "https://outlook.office.com/api",
                "owner": SUPPORT,
                "delegatePermissions": 63,
            },
        }

    # 1. 64 clients on one mailbox.
    read = body(inbox[0]["id"])
    tokens = [sso("lee@contoso.com"), sso("sam@contoso.com")]
    for url in urls:
        for token in tokens:
            post(url, "/api/items/context", token, read)
    fault = {"target": "graph", "mailbox": SUPPORT, "method": "GET", "delayMs": 20, "times": -1}
    http.post(f"{control}/faults", json=fault)
    before = stats()
    barrier = threading.Barrier(64)

    def client(n: int) -> list[int]:
        barrier.wait()
        return [
            post(urls[(n + i) % 2], "/api/items/context", tokens[n % 2], read) for i in range(4)
        ]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=64) as pool:
        statuses = [s for answers in pool.map(client, range(64)) for s in answers]
    elapsed = time.monotonic() - started
    after = stats()
    http.delete(f"{control}/faults")
    gate = {
        "answers": {str(s): statuses.count(s) for s in sorted(set(statuses))},
        "maxInFlight": after["maxInFlightPerMailbox"].get(SUPPORT),
        "mailboxConcurrency429": after["throttledByConcurrency"] - before["throttledByConcurrency"],
        "seconds": round(elapsed, 2),
    }

    # 2. Claim races with If-Match ignored.
    http.post(f"{control}/settings", json={"ifMatch": "ignore"})
    item = inbox[3]["id"]
    both_won = 0
    for race in range(50):
        sides = [(tokens[0], urls[race % 2]), (tokens[1], urls[(race + 1) % 2])]
        pair = threading.Barrier(2)

        def claim(side: tuple[str, str], b: threading.Barrier = pair) -> int:
            b.wait()
            return post(side[1], "/api/items/actions/claim", side[0], body(item))

        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(claim, sides))
        both_won += answers.count(200) == 2
        http.post(
            f"{control}/items/{item}/change",
            json={"by": "lee@contoso.com", "categories": []},
        )
    http.post(f"{control}/settings", json={"ifMatch": "honour"})
    history = http.get(f"{control}/items/{item}").json()["history"]
    overwritten = sum(
        1
        for h in history
        if h["via"] == "graph"
        and "categories" in h.get("fields", {})
        and holder(h["fields"]["categories"]["old"] or []) is not None
    )

    # 3. One SSO token, 100 requests.
    fresh = sso("pat@contoso.com")
    sales = next(b for b in world["mailboxes"] if b["address"] == "sales@contoso.com")
    sales_item = next(f for f in sales["folders"] if f["wellKnownName"] == "inbox")["items"][0]
    sales_body = dict(body(sales_item["id"]))
    sales_body["shared"] = dict(sales_body["shared"], targetMailbox="sales@contoso.com")
    sales_body["shared"]["owner"] = "sales@contoso.com"
    before_tokens = stats()["tokenRequestsByPerson"].get("pat@contoso.com", 0)
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(
            pool.map(
                lambda n: post(urls[n % 2], "/api/items/context", fresh, sales_body), range(100)
            )
        )
    exchanges = stats()["tokenRequestsByPerson"]["pat@contoso.com"] - before_tokens

    for process in processes:
        process.terminate()
        process.wait(timeout=15)
    server.stop()
    return {
        "gate": gate,
        "claimRaces": {"races": 50, "bothWon": both_won, "claimOverwritten": overwritten},
        "tokenExchangesFor100Requests": exchanges,
    }


def main() -> int:
    """Run both modes and print their figures as JSON."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    tmp = Path(tempfile.mkdtemp(prefix="tandem-bench-workers-"))
    paths, _ = ensure(tmp / "certs")
    http = Session(context=ssl_context(paths.ca_cert), timeout=60)
    redis = stack.redis_server(tmp)
    try:
        base = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
        base["TANDEM_WORKERS"] = "2"
        results = {
            "redis": run_mode(
                "redis",
                {
                    **base,
                    "TANDEM_REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
                    "TANDEM_CACHE_KEY": stack.CACHE_KEY,
                },
                paths,
                http,
                tmp,
            ),
            "no redis": run_mode(
                "local", {**base, "TANDEM_SINGLE_WORKER_STATE": "true"}, paths, http, tmp
            ),
        }
    finally:
        redis.stop()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
