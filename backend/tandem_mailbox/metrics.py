"""Prometheus metrics (prometheus_client), correct under gunicorn workers; no Flask here.

Labels are bounded: routes are URL rules, never paths; no label names a mailbox or a person.
With several gunicorn workers `tandem serve` sets PROMETHEUS_MULTIPROC_DIR before any worker
starts, and `/metrics` sums every worker's files (prometheus_client's multiprocess mode); one
worker keeps its values in memory, which costs a request less.

The `/metrics` route (web/pages.py) answers only to `Authorization: Bearer
<TANDEM_METRICS_TOKEN>` and is off without it.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
)

LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
REQUESTS = Counter(
    "tandem_http_requests_total", "Requests answered, by route and status.", ["route", "status"]
)
DURATION = Histogram(
    "tandem_http_request_duration_seconds", "Time to answer, by route.", ["route"], buckets=LATENCY
)
OBO_CACHE = Counter(
    "tandem_obo_cache_total", "On-behalf-of cache lookups, by result (hit or miss).", ["result"]
)
OBO_EXCHANGES = Counter(
    "tandem_obo_exchanges_total", "On-behalf-of exchanges with Entra ID, by outcome.", ["outcome"]
)
GRAPH_CALLS = Counter(
    "tandem_graph_requests_total", "Graph requests, by method and status.", ["method", "status"]
)
GRAPH_RETRIES = Counter(
    "tandem_graph_retries_total", "Graph requests retried, by reason.", ["reason"]
)
GRAPH_THROTTLED = Counter(
    "tandem_graph_throttled_total", "Requests answered `throttled` (Graph or the slot wait).", []
)
SLOT_WAIT = Histogram(
    "tandem_mailbox_slot_wait_seconds",
    "Time waited for one of a mailbox's 4 Graph slots.",
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IN_FLIGHT = Histogram(
    "tandem_mailbox_in_flight",
    "Graph requests in flight on the mailbox (this one included) when a slot is taken.",
    buckets=(1, 2, 3, 4),
)
GRAPH_IN_FLIGHT = Gauge(
    "tandem_graph_in_flight",
    "Graph requests in flight, all mailboxes.",
    multiprocess_mode="livesum",
)
JWKS_FETCHES = Counter(
    "tandem_jwks_fetches_total", "Fetches of Entra ID's signing keys, by outcome.", ["outcome"]
)
COORDINATION_FALLBACK = Counter(
    "tandem_coordination_fallback_total",
    "Calls made while Redis was unreachable, by operation: slot, cache and presence went on "
    "in this process, lock_refused answered 503.",
    ["operation"],
)
ACTIONS = Counter("tandem_actions_total", "Actions, by name and outcome.", ["action", "outcome"])
SSO_TOKENS = Counter(
    "tandem_sso_tokens_total",
    "SSO tokens of requests, by how they were known: verified (signature and claims) or "
    "remembered (verified before, until their exp).",
    ["result"],
)

_children: dict[tuple[int, tuple[str, ...]], Any] = {}
_children_lock = threading.Lock()


def child(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, made once per label values (prometheus_client takes a lock
    and checks the labels on every call; these few dozen combinations never change)."""
    key = (id(metric), labels)
    found = _children.get(key)
    if found is None:
        with _children_lock:
            found = _children.get(key)
            if found is None:
                found = _children[key] = metric.labels(*labels)
    return found


def registry() -> CollectorRegistry:
    """The registry to expose: every worker's, summed, in multiprocess mode; else this one's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        summed = CollectorRegistry()
        multiprocess.MultiProcessCollector(summed)
        return summed
    return REGISTRY
