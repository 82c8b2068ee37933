"""The benchmark's tables of Tandem against its floors: the read path against the floor app
(bench/floor.py), and each action against its minimum of Graph calls (bench/actions.py)."""

from __future__ import annotations

import math
from typing import Any


def _ms(value: float) -> str:
    return "–" if value != value else f"{value:.1f}"  # NaN: no sample


def action_line(rows: dict[str, dict[str, Any]], experiment: str) -> str:
    """The actions measured so far, for the console."""
    parts = []
    for name, row in rows.items():
        if name == "errors" or "1" not in row:
            continue
        one = row["1"]
        parts.append(
            f"{name}: c=1 {one.get('backend', {}).get('p50', math.nan):.1f} / "
            f"{one.get('direct', {}).get('p50', math.nan):.1f} ms, Graph "
            f"{row.get('graphRequests')}"
        )
    return f"actions after {experiment}: " + "; ".join(parts)


def floor_tables(results: dict[str, Any]) -> list[str]:
    """The read path against the floor app: latency over it and CPU per request."""
    rows = [r for r in results.get("levels", []) if "floor" in r]
    if not rows:
        return []
    out = [
        "",
        "## The read path against its floor (bench/floor.py)",
        "",
        "The floor: a minimal Flask app under the same gunicorn, worker and TLS, with PyJWT and "
        "a cached key, a dict of Graph tokens, one requests Session, 4 in flight per mailbox and "
        "the record read from Tandem's database with sqlite3 (no id checks, record writes, log "
        "line, metrics or error vocabulary), run in the same slices as Tandem. CPU: each "
        "worker's, per request it answered.",
        "",
        "| c | Tandem p50 / p99 ms | floor p50 / p99 ms | Tandem over the floor p50 / p99 ms | "
        "CPU ms per request: Tandem / floor | ratio |",
        "|---:|---|---|---|---|---:|",
    ]
    for row in rows:
        b, f, o, c = row["backend"], row["floor"], row["overFloorMs"], row["cpuMsPerRequest"]
        out.append(
            f"| {row['concurrency']} | {_ms(b['p50'])} / {_ms(b['p99'])} | "
            f"{_ms(f['p50'])} / {_ms(f['p99'])} | **{o['p50']:+.2f}** / {o['p99']:+.2f} | "
            f"{c['backend']:.3f} / {c['floor']:.3f} | **{c['floorRatio']}** |"
        )
    return out


def action_tables(results: dict[str, Any]) -> list[str]:
    """Graph requests per action against the minimum table, and each action's latency."""
    measured = results.get("actions")
    if not measured:
        return []
    graph_ms = measured["graphMs"]
    out = [
        "",
        "## Graph round trips per action",
        "",
        "Counted at the emulator around each timed action at concurrency 1 (every count seen, "
        "with how many times); the minimum is docs/performance.md's table. The delegate route "
        "is Nestor on Adele's Inbox (his sends through /me), one warm action each.",
        "",
        "| action | minimum | Tandem (mailbox route) | delegate minimum | Tandem (delegate) |",
        "|---|---:|---|---:|---|",
    ]
    for row in measured["rows"]:
        out.append(
            f"| {row['action']} | {row.get('minimum')} | {_counts(row.get('graphRequests'))} | "
            f"{row.get('delegateMinimum')} | {_counts(row.get('delegateGraphRequests'))} |"
        )
    out += [
        "",
        f"## Each action's latency (Graph at {graph_ms} ms)",
        "",
        f"At c=1 {measured['users']['1']} on its own items; at c=16 the first 16 users of the "
        "mailbox route (Full Access or the owner). The floor is the action's minimum of Graph "
        f"calls made directly. Goal: p50 at c=1 ≤ minimum × {graph_ms} ms + 3 ms.",
        "",
        "| action | c | Tandem p50 / p99 ms | floor p50 / p99 ms | Tandem over the floor p50 / "
        "p99 ms | goal at c=1 | |",
        "|---|---:|---|---|---|---:|---|",
    ]
    for row in measured["rows"]:
        for level in ("1", "16"):
            pair = row.get(level)
            if not pair or "backend" not in pair or "direct" not in pair:
                continue
            b, d = pair["backend"], pair["direct"]
            goal = ""
            verdict = ""
            if level == "1" and row.get("minimum") is not None:
                limit = row["minimum"] * graph_ms + 3
                goal = f"{limit} ms"
                verdict = "met" if b["p50"] <= limit else "not met"
            out.append(
                f"| {row['action']} | {level} | {_ms(b['p50'])} / {_ms(b['p99'])} | "
                f"{_ms(d['p50'])} / {_ms(d['p99'])} | **{b['p50'] - d['p50']:+.1f}** / "
                f"{b['p99'] - d['p99']:+.1f} | {goal} | {verdict} |"
            )
    out += _floor_app_actions(measured)
    out += _hop(measured.get("hop"))
    errors = (measured.get("errors") or {}).get("1", {}).get("backend", {}).get("errors")
    if errors:
        out += ["", f"Errors while measuring the actions: {errors}."]
    return out


def _floor_app_actions(measured: dict[str, Any]) -> list[str]:
    """The field changes through Tandem, through the floor app and made directly: what the hop
    through a server costs, and what Tandem adds beyond it."""
    rows = [
        (row["action"], level, row[level])
        for row in measured["rows"]
        for level in ("1", "16")
        if "floor" in row.get(level, {})
    ]
    if not rows:
        return []
    out = [
        "",
        "### The field changes against the floor app",
        "",
        "The floor app (bench/floor.py) makes the same two Graph calls behind the same "
        "gunicorn, TLS and Flask, and writes the timeline's event and reads the record in one "
        "SQLite transaction; it keeps none of Tandem's other guarantees (locks, idempotency, "
        "checks, log line, metrics). Floor app over direct: the hop; Tandem over the floor "
        "app: Tandem's own work.",
        "",
        "| action | c | Tandem p50 ms | floor app p50 ms | direct p50 ms | floor app over "
        "direct | Tandem over the floor app |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, level, pair in rows:
        b, f, d = pair["backend"]["p50"], pair["floor"]["p50"], pair["direct"]["p50"]
        out.append(
            f"| {name} | {level} | {_ms(b)} | {_ms(f)} | {_ms(d)} | {f - d:+.1f} | "
            f"**{b - f:+.1f}** |"
        )
    return out


def _hop(hop: dict[str, Any] | None) -> list[str]:
    """One hop through the stack on its own: answered at once, and after a wait."""
    if not hop:
        return []
    return [
        "",
        "### One hop through the stack",
        "",
        "The floor app's minimal route (a 1.5 KB JSON answer, no work) under the same "
        f"gunicorn and TLS, at c=1, beyond the wait: **{hop['atOnceMs']:.2f} ms** a call "
        f"back to back, **{hop['afterWaitMs']:.2f} ms** a call answered after a "
        f"{hop['waitMs']} ms wait. The same code runs slower after a wait, on caches that "
        "went cold meanwhile, the client's and the server's: every hop of an action pays "
        "the second figure (each Graph call, and the answer to the pane once they are back), "
        "and the emulator's Graph has work of its own on top.",
    ]


def _counts(counted: dict[str, int] | None) -> str:
    """{2: 20} as "2 (20×)"."""
    if not counted:
        return "–"
    return ", ".join(f"{n} ({times}×)" for n, times in sorted(counted.items()))
