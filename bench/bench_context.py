"""Benchmark POST /api/items/context: what the on-behalf-of cache and the mailbox gate are worth.

Runs the emulator and a backend in-process over HTTPS on loopback, with latency injected into
Entra ID's token endpoint and Graph (as a real tenant has), and reports, from one run:

- cached / uncached: requests per second when every request carries the same SSO token (one
  exchange, then the cache) against a fresh SSO token per request (an exchange each time);
- gated concurrency: 16 clients on one mailbox; the backend keeps Graph at 4 in flight, so no
  request is refused by Exchange's MailboxConcurrency limit.

Usage: .venv/bin/python bench/bench_context.py [--requests 200] [--token-ms 80] [--graph-ms 30]
Figures are ratios from one run on one machine; compare them, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from backend import create_app  # noqa: E402
from backend.certs import ensure  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.emulator import serve_emulator  # noqa: E402
from backend.outbound import Session, ssl_context  # noqa: E402
from backend.serving import Server  # noqa: E402


def main() -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--token-ms", type=int, default=80)
    parser.add_argument("--graph-ms", type=int, default=30)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    paths, _ = ensure(Path(tempfile.mkdtemp(prefix="tandem-bench-")))
    emulator_server, emulator = serve_emulator(
        host="127.0.0.1",
        port=0,
        cert=paths.cert,
        key=paths.key,
        public_url="https://localhost:3000",
    )
    settings = Settings.from_mapping(
        {**emulator.settings(), "TANDEM_CA_BUNDLE": str(paths.ca_cert)}
    )
    backend_server = Server(
        create_app(settings), host="127.0.0.1", port=0, cert=paths.cert, key=paths.key
    ).start()
    http = Session(context=ssl_context(paths.ca_cert), timeout=60, pool_size=32)

    def sso(user: str = "lee@contoso.com") -> str:
        return http.post(f"{emulator_server.url}/_emulator/sso-token", json={"user": user}).json()[
            "token"
        ]

    world = http.get(f"{emulator_server.url}/_emulator/world").json()
    support = next(m for m in world["mailboxes"] if m["address"] == "support@contoso.com")
    items = [i["id"] for f in support["folders"] for i in f["items"] if i["itemType"] == "message"]

    def body(n: int) -> dict:
        return {
            "itemId": items[n % len(items)],
            "itemType": "message",
            "shared": {
                "targetMailbox": "support@contoso.com",
                "targetRestUrl": "https://outlook.office.com/api",
                "owner": "support@contoso.com",
                "delegatePermissions": 63,
            },
        }

    def call(token: str, n: int) -> float:
        started = time.perf_counter()
        response = http.post(
            f"{backend_server.url}/api/items/context",
            json=body(n),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        return time.perf_counter() - started

    http.post(
        f"{emulator_server.url}/_emulator/faults",
        json=[
            {"target": "token", "delayMs": args.token_ms, "times": -1},
            {"target": "graph", "delayMs": args.graph_ms, "times": -1},
        ],
    ).raise_for_status()
    call(sso(), 0)  # warm the key cache and the connections

    results: dict[str, dict[str, float]] = {}

    def run(name: str, tokens: list[str], workers: int) -> None:
        before = http.get(f"{emulator_server.url}/_emulator/stats").json()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            latencies = list(pool.map(lambda n: call(tokens[n], n), range(len(tokens))))
        elapsed = time.perf_counter() - started
        after = http.get(f"{emulator_server.url}/_emulator/stats").json()
        results[name] = {
            "requests": len(tokens),
            "workers": workers,
            "per_second": len(tokens) / elapsed,
            "median_ms": statistics.median(latencies) * 1000,
            "p95_ms": sorted(latencies)[int(len(latencies) * 0.95) - 1] * 1000,
            "token_requests": after["tokenRequests"] - before["tokenRequests"],
            "throttled": after["throttledByConcurrency"] - before["throttledByConcurrency"],
            "max_in_flight": after["maxInFlightPerMailbox"].get("support@contoso.com", 0),
        }

    n = args.requests
    run("cached (one SSO token)", [sso()] * n, 4)
    run("uncached (new SSO token each)", [sso() for _ in range(n)], 4)
    run("16 clients, one mailbox", [sso()] * n, 16)

    cached = results["cached (one SSO token)"]["per_second"]
    uncached = results["uncached (new SSO token each)"]["per_second"]
    print(f"latency injected: token endpoint {args.token_ms} ms, Graph {args.graph_ms} ms")
    print(
        f"{'scenario':34} {'req/s':>8} {'median ms':>10} {'p95 ms':>8} {'token calls':>12} "
        f"{'429s':>5} {'max in flight':>14}"
    )
    for name, r in results.items():
        print(
            f"{name:34} {r['per_second']:8.1f} {r['median_ms']:10.1f} {r['p95_ms']:8.1f} "
            f"{r['token_requests']:12d} {r['throttled']:5d} {r['max_in_flight']:14d}"
        )
    print(f"cached / uncached throughput: {cached / uncached:.2f}x")
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "context.json").write_text(
        json.dumps(
            {"args": vars(args), "results": results, "cached_over_uncached": cached / uncached},
            indent=2,
        )
    )
    backend_server.stop()
    emulator_server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
