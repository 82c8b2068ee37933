"""The benchmark's figures as a Markdown report and a plot (matplotlib, the `bench` extra)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from . import floors
from .load import Sample, percentile

PERCENTILES = ("p50", "p95", "p99")


def summary(sample: Sample) -> dict[str, Any]:
    """Count, rate, errors and percentiles (ms) of a pooled sample."""
    values = sample.latencies
    return {
        "requests": len(values),
        "errors": dict(sample.errors),
        "perSecond": round(len(values) / sample.seconds, 1) if sample.seconds else 0.0,
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "p99": round(percentile(values, 99), 2),
        "max": round(max(values), 2) if values else math.nan,
    }


def line(row: dict[str, Any]) -> str:
    """One level, for the console while the run goes on."""
    b, d, a = row["backend"], row["direct"], row["addedMs"]
    floor = ""
    if "floor" in row:
        f, c = row["floor"], row["cpuMsPerRequest"]
        floor = (
            f"; floor p50 {f['p50']:.2f} ms ({row['overFloorMs']['p50']:+.2f}), CPU "
            f"{c['backend']:.2f} / {c['floor']:.2f} ms = {c['floorRatio']}x"
        )
    return (
        f"{row['workload']:8} c={row['concurrency']:<3} backend p50/p95/p99 "
        f"{b['p50']:.1f}/{b['p95']:.1f}/{b['p99']:.1f} ms ({b['perSecond']}/s), direct "
        f"{d['p50']:.1f}/{d['p95']:.1f}/{d['p99']:.1f} ms ({d['perSecond']}/s), added "
        f"{a['p50']:+.1f}/{a['p95']:+.1f}/{a['p99']:+.1f} ms; errors {b['errors'] or 0}"
        f" / {d['errors'] or 0}{floor}"
    )


def naive_line(row: dict[str, Any]) -> str:
    """One naive level, for the console."""
    n = row["naive"]
    return (
        f"naive {row['workload']:8} c={row['concurrency']:<3} p50/p95/p99 "
        f"{n['p50']:.1f}/{n['p95']:.1f}/{n['p99']:.1f} ms ({n['perSecond']}/s), token calls "
        f"{row['tokenRequests']}, 429s {row['throttledByConcurrency']}; errors {n['errors'] or 0}"
    )


def _ms(value: float) -> str:
    return "–" if value != value else f"{value:.1f}"  # NaN: no sample


def markdown(results: dict[str, Any]) -> str:
    """The whole run as Markdown tables."""
    m, s = results["machine"], results["settings"]
    out = [
        "# Tandem benchmark",
        "",
        f"Run {results['started']} on {m['cores']} cores ({m['cpu']}), {m['memoryGiB']} GiB, "
        f"Linux {m['kernel']}, Python {m['python']}; load average "
        f"{' '.join(map(str, m['loadAverage']))} before, "
        f"{' '.join(map(str, m.get('loadAverageAfter', [])))} after.",
        "",
        f"Injected latency: Entra ID's token endpoint {s['tokenEndpointMs']} ms, every Graph "
        f"request {s['graphMs']} ms. Backend: `{s['backend']}`; emulator: {s['emulator']}; "
        f"both over HTTPS on loopback with keep-alive. Each figure pools {s['rounds']} slices "
        f"of {s['sliceSeconds']:g} s per target, backend and direct alternating.",
        "",
    ]
    w = results.get("workload")
    if w:
        spread = ", ".join(
            f"c={level}: {len(per)} mailboxes, at most {max(per.values())} users on one"
            for level, per in w["usersPerMailbox"].items()
        )
        out += [
            f"Workload: {w['users']} users ({w['people']} people, a token each) over "
            f"{w['mailboxes']} mailboxes, each user on {w['itemsPerUser']}+ items of its own "
            f"({spread}).",
            "",
        ]
    out += [
        "## Added over the direct Graph call",
        "",
        "| workload | c | backend p50 / p95 / p99 ms | direct p50 / p95 / p99 ms | "
        "added p50 / p95 / p99 ms | ratio p50 / p99 | backend req/s | direct req/s | errors | "
        "others' cores |",
        "|---|---:|---|---|---|---|---:|---:|---|---:|",
    ]
    for row in results.get("levels", []):
        b, d, a, r = row["backend"], row["direct"], row["addedMs"], row["ratio"]
        errors = sum(b["errors"].values()) + sum(d["errors"].values())
        out.append(
            f"| {row['workload']} | {row['concurrency']} | "
            f"{_ms(b['p50'])} / {_ms(b['p95'])} / {_ms(b['p99'])} | "
            f"{_ms(d['p50'])} / {_ms(d['p95'])} / {_ms(d['p99'])} | "
            f"**{a['p50']:+.1f}** / {a['p95']:+.1f} / **{a['p99']:+.1f}** | "
            f"{r['p50']:.2f} / {r['p99']:.2f} | {b['perSecond']} | {d['perSecond']} | {errors} | "
            f"{row.get('othersBusyCores', '–')} |"
        )
    out += [
        "",
        "Others' cores: how many of the 2 cores other people's processes kept busy during "
        "that row's slices (the machine is shared): the figures of a row with a high one are "
        "noisy. CPU milliseconds per request (backend: its gunicorn worker per backend request; "
        "emulator and load generator: per request of either target):",
        "",
        "| workload | c | backend | emulator | load generator |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in results.get("levels", []):
        c = row["cpuMsPerRequest"]
        out.append(
            f"| {row['workload']} | {row['concurrency']} | {c['backend']} | {c['emulator']} | "
            f"{c['load']} |"
        )
    out += floors.floor_tables(results)
    out += floors.action_tables(results)
    counters = results.get("counters")
    if counters:
        rss = results["rss"]
        out += [
            "",
            "## Counters",
            "",
            "| what | measured |",
            "|---|---|",
            f"| backend requests answered | {counters['backendRequests']} |",
            f"| token-endpoint calls | {counters['tokenRequests']} for "
            f"{counters['distinctPersonTokens']} distinct person-tokens "
            f"({counters['tokenRequestsPer1000']} per 1,000 requests; the floor app's own "
            f"{counters.get('floorTokenRequests', 0)} apart) |",
            f"| JWKS fetches | {counters['jwksFetches']} ({counters['jwksFetchesPer1000']} per "
            f"1,000 requests): "
            f"{counters['jwksFetches'] - (counters['jwksFetchesForTheRotation'] or 0)} at start, "
            f"{counters['jwksFetchesForTheRotation']} for {counters['keyRotations']} key "
            "rotation (the key set is cached per worker) |",
            f"| largest number in flight to one mailbox | "
            f"{max(counters['maxInFlightPerMailbox'].values())} "
            f"(429 MailboxConcurrency: {counters['throttledByConcurrency']}) |",
            f"| backend RSS | {rss['idleKiB'] / 1024:.1f} MiB idle, "
            f"{rss['afterWarmupKiB'] / 1024:.1f} MiB after the warm-up, "
            f"{rss['afterKiB'] / 1024:.1f} MiB after {rss['requests']:,} more requests "
            f"({rss['growthKiB'] / 1024:+.1f} MiB) |",
            f"| CPU of the run | the machine {results['cpu']['machineBusyCores']} cores busy, "
            f"{results['cpu']['othersBusyCores']} of them other people's processes |",
        ]
    naive = results.get("naive")
    if naive:
        normal = {(r["workload"], r["concurrency"]): r for r in results.get("levels", [])}
        out += [
            "",
            "## Naive: no on-behalf-of cache, no mailbox gate",
            "",
            "| workload | c | naive p50 / p95 / p99 ms | Tandem p50 / p95 / p99 ms | "
            "naive req/s | Tandem req/s | token calls (naive / Tandem) | 429s (naive / Tandem) | "
            "naive errors |",
            "|---|---:|---|---|---:|---:|---|---|---|",
        ]
        for row in naive["levels"]:
            n = row["naive"]
            t = normal.get((row["workload"], row["concurrency"]))
            tb = t["backend"] if t else {"p50": math.nan, "p95": math.nan, "p99": math.nan}
            out.append(
                f"| {row['workload']} | {row['concurrency']} | "
                f"{_ms(n['p50'])} / {_ms(n['p95'])} / {_ms(n['p99'])} | "
                f"{_ms(tb['p50'])} / {_ms(tb['p95'])} / {_ms(tb['p99'])} | {n['perSecond']} | "
                f"{tb.get('perSecond', '–')} | {row['tokenRequests']} / "
                f"{t['tokenRequests'] if t else '–'} | {row['throttledByConcurrency']} / "
                f"{t['throttledByConcurrency'] if t else '–'} | {sum(n['errors'].values())} |"
            )
        out += [
            "",
            f"Largest number in flight to one mailbox with the gate off: "
            f"{max(naive['maxInFlightPerMailbox'].values())}.",
        ]
    profiled = results.get("profile") or {}
    if profiled.get("rooms"):
        out += [
            "",
            f"## Profile: the backend at concurrency 16 (context, py-spy, "
            f"{profiled['samples']} samples of running threads, {profiled['perSecond']} req/s)",
            "",
            "| where | share of samples |",
            "|---|---:|",
        ]
        out += [f"| {r['room']} | {r['share']:.1%} |" for r in profiled["rooms"]]
        out += ["", "| function on top of the stack | share |", "|---|---:|"]
        out += [f"| `{f['function']}` | {f['share']:.1%} |" for f in profiled["topFunctions"]]
        out += ["", "| Tandem's functions (inclusive) | share |", "|---|---:|"]
        out += [
            f"| `{f['function']}` | {f['share']:.1%} |" for f in profiled["backendInclusive"][:10]
        ]
    p = results.get("pane")
    if p:
        sizes = p["sizes"]
        out += [
            "",
            "## The pane",
            "",
            f"Its own JavaScript and CSS: {sizes['jsCssBytes']:,} bytes "
            f"({sizes['jsCssGzipBytes']:,} gzipped), HTML {sizes['htmlBytes']:,}; the vendored "
            f"MSAL.js apart: {sizes['msalBytes']:,} bytes ({sizes['msalGzipBytes']:,} gzipped).",
        ]
        if "firstOpen" in p:
            out += [
                "",
                f"From the pane's load to the rendered context in Chromium ({p['persona']} on "
                f"{p['mailbox']}, Graph at {p['graphMs']} ms, {p['signIn']}), median of "
                f"{len(p['firstOpen']['runs'])}: first open {p['firstOpen']['renderedMs']:.0f} "
                f"ms (painted {p['firstOpen']['paintedMs']:.0f} ms), reloaded "
                f"{p['reloaded']['renderedMs']:.0f} ms (painted {p['reloaded']['paintedMs']:.0f}"
                " ms).",
            ]
            loaded = p.get("resources", {})
            api = loaded.get("api/items/context")
            msal = loaded.get("vendor/msal-browser.min.js")
            if api and msal:
                out += [
                    "",
                    f"In the first counted open's frame: MSAL.js loaded by {msal['endMs']:.0f} "
                    f"ms; the context request left at {api['startMs']:.0f} ms and was answered at "
                    f"{api['endMs']:.0f} ms (sign-in through the simulated Outlook bridge in "
                    "between).",
                ]
    return "\n".join(out) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """Latency percentiles against concurrency, backend against direct (and naive), one panel a
    workload; and a panel of what Tandem adds over the direct call, in ms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    rows = results.get("levels", [])
    naive = {
        (r["workload"], r["concurrency"]): r["naive"]
        for r in results.get("naive", {}).get("levels", [])
    }
    workloads = [w for w in ("context", "write") if any(r["workload"] == w for r in rows)]
    fig, axes = plt.subplots(1, len(workloads) + 1, figsize=(6 * (len(workloads) + 1), 5))
    styles = {"p50": "-", "p95": "--", "p99": ":"}
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    series = [("Tandem", "backend", "tab:blue", "o"), ("direct Graph", "direct", "tab:gray", "s")]
    titles = {"context": "POST /api/items/context", "write": "markRead / markUnread"}
    for ax, workload in zip(axes, workloads, strict=False):
        mine = sorted(
            (r for r in rows if r["workload"] == workload), key=lambda r: r["concurrency"]
        )
        levels = [r["concurrency"] for r in mine]
        for label, key, color, marker in series:
            for p in PERCENTILES:
                ax.plot(
                    levels,
                    [r[key][p] for r in mine],
                    styles[p],
                    marker=marker,
                    color=color,
                    label=f"{label} {p}",
                )
        if naive:
            for p in PERCENTILES:
                ax.plot(
                    levels,
                    [naive.get((workload, c), {}).get(p, math.nan) for c in levels],
                    styles[p],
                    marker="^",
                    color="tab:red",
                    alpha=0.6,
                    label=f"naive {p}",
                )
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(c) for c in levels])
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize=7)
        ax.set_xlabel("concurrent users")
        ax.set_ylabel("latency, ms (log scale)")
        ax.set_title(titles[workload])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=3 if naive else 2)
    added = axes[-1]
    for workload, color in (("context", "tab:blue"), ("write", "tab:purple")):
        mine = sorted(
            (r for r in rows if r["workload"] == workload), key=lambda r: r["concurrency"]
        )
        for p in PERCENTILES:
            added.plot(
                [r["concurrency"] for r in mine],
                [r["addedMs"][p] for r in mine],
                styles[p],
                marker="o",
                color=color,
                label=f"{workload} {p}",
            )
    added.axhline(0, color="black", linewidth=0.8)
    added.axhline(2, color="tab:green", linewidth=0.8, linestyle="-", label="goal: p50 ≤ 2 ms")
    added.axhline(10, color="tab:green", linewidth=0.8, linestyle=":", label="goal: p99 ≤ 10 ms")
    lowest = min((r["addedMs"][p] for r in rows for p in PERCENTILES), default=0.0)
    added.set_ylim(bottom=min(-1.0, lowest * 1.5))
    added.set_xscale("log", base=2)
    levels = sorted({r["concurrency"] for r in rows})
    added.set_xticks(levels, [str(c) for c in levels])
    added.set_yscale("symlog", linthresh=10)
    added.yaxis.set_major_formatter(plain)
    added.set_xlabel("concurrent users")
    added.set_ylabel("Tandem minus direct, ms (linear to 10, then log)")
    added.set_title("What Tandem adds over the direct Graph call")
    added.grid(True, which="both", alpha=0.3)
    added.legend(fontsize=7, ncol=2)
    s = results["settings"]
    fig.suptitle(
        f"Tandem against the direct Graph call: token endpoint {s['tokenEndpointMs']} ms, Graph "
        f"{s['graphMs']} ms, {results['machine']['cores']} cores ({results['started']})"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
