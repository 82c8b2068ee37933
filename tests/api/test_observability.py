"""/metrics (prometheus_client) and the logs: one JSON line per request, never a token."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tandem_mailbox import logs
from tandem_mailbox.emulator import seed
from tests.support.api import shared_body
from tests.support.servers import EmulatorHandle

METRICS_TOKEN = "metrics-token-for-the-tests-0123456789"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_are_off_without_a_token(backend):
    response = backend.http.get(f"{backend.url}/metrics")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token-0123456789", "Basic eA=="])
def test_metrics_refuse_a_missing_or_wrong_token(make_backend, emulator, authorization):
    backend = make_backend(emulator, TANDEM_METRICS_TOKEN=METRICS_TOKEN)
    headers = {"Authorization": authorization} if authorization else {}
    response = backend.http.get(f"{backend.url}/metrics", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_metrics_count_requests_exchanges_and_graph_calls(make_backend, emulator: EmulatorHandle):
    backend = make_backend(emulator, TANDEM_METRICS_TOKEN=METRICS_TOKEN)
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    before = _samples(backend.http.get(f"{backend.url}/metrics", headers=auth).text)
    token = emulator.sso("lee@contoso.com")
    body = shared_body(emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    for _ in range(3):
        assert backend.context(token, body).status_code == 200
    after = _samples(backend.http.get(f"{backend.url}/metrics", headers=auth).text)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    route = "/api/items/context"
    assert grew("tandem_http_requests_total", route=route, status="200") == 3
    assert grew("tandem_http_request_duration_seconds_count", route=route) == 3
    assert grew("tandem_obo_cache_total", result="miss") == 1
    assert grew("tandem_obo_cache_total", result="hit") == 2
    assert grew("tandem_obo_exchanges_total", outcome="ok") == 1
    assert grew("tandem_graph_requests_total", method="GET", status="200") == 3
    assert grew("tandem_mailbox_slot_wait_seconds_count") == 3
    text = backend.http.get(f"{backend.url}/metrics", headers=auth).text
    assert "support@contoso.com" not in text and "lee@" not in text  # no mailbox or person label


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every log record of the test as a JSON line, through the formatter `tandem serve` uses."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonLines())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_every_log_line_is_json_with_the_request_and_no_token(
    make_backend, emulator: EmulatorHandle, json_log: io.StringIO
):
    backend = make_backend(emulator)
    token = emulator.sso("lee@contoso.com")
    body = shared_body(emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    response = backend.context(token, body)
    assert response.status_code == 200
    lines = [json.loads(line) for line in json_log.getvalue().splitlines() if line.strip()]
    assert lines
    request_lines = [line for line in lines if line.get("route") == "/api/items/context"]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert line["requestId"] == response.headers["request-id"]
    assert line["status"] == 200 and line["method"] == "POST"
    assert line["tenant"] == seed.CONTOSO
    assert line["mailboxDomain"] == "contoso.com"
    assert len(line["person"]) == 16 and "lee" not in line["person"]
    assert line["graphRequestIds"]  # Graph's request-id, for Microsoft's side of a ticket
    text = json_log.getvalue()
    assert token not in text and token.split(".")[1] not in text
    assert seed.CLIENT_SECRET not in text


def test_one_request_id_in_the_log_at_graph_and_in_the_problem(
    make_backend, fresh_emulator: EmulatorHandle, json_log: io.StringIO
):
    """A support ticket quotes the problem's requestId: the log line and Graph's request log
    (as client-request-id) carry the same id, and the log line names Graph's own request-id."""
    backend = make_backend(fresh_emulator)
    token = fresh_emulator.sso("lee@contoso.com")
    body = shared_body(fresh_emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    fresh_emulator.fault(target="graph", status=503, retryAfter=0, times=-1)
    response = backend.context(token, body)
    assert response.status_code == 503
    request_id = response.json()["requestId"]
    assert response.headers["request-id"] == request_id
    at_graph = [r for r in fresh_emulator.requests() if r["clientRequestId"] == request_id]
    assert len(at_graph) == 4  # the first try and its three retries, one id
    lines = [json.loads(line) for line in json_log.getvalue().splitlines() if line.strip()]
    [line] = [x for x in lines if x.get("route") == "/api/items/context"]
    assert line["requestId"] == request_id and line["status"] == 503
    assert line["graphRequestIds"] == [r["requestId"] for r in at_graph]
