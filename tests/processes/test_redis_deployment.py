"""Many workers, many hosts, one mailbox: gunicorn backends sharing one real redis-server.

Every backend here is a separate `gunicorn -w 2 'tandem_mailbox:create_app()'` process configured by
its environment, talking to the emulator of this test (served in the test process). Workers
are gunicorn's sync ones unless a test needs threads to put many requests in flight at once.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from prometheus_client.multiprocess import MultiProcessCollector

from tandem_mailbox.coordination.redis_store import SLOT_LEASE
from tandem_mailbox.mail.claim_category import holder
from tandem_mailbox.mail.operation import LOCK_TTL
from tests.support.api import shared_body
from tests.support.deployment import CACHE_KEY, Gunicorn, RedisServer
from tests.support.polling import until
from tests.support.servers import EmulatorHandle

SUPPORT = "support@contoso.com"


def everything_in(redis_server: RedisServer) -> list[tuple[bytes, bytes]]:
    """Every key of the Redis and everything it holds, as raw bytes."""
    client = redis_server.client()
    found = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        if kind == "string":
            values = [client.get(key) or b""]
        elif kind == "zset":
            values = [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
        elif kind == "hash":
            values = [b for pair in client.hgetall(key).items() for b in pair]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "set":
            values = list(client.smembers(key))
        else:
            pytest.fail(f"an unexpected kind of key: {kind}")
        found += [(key, value) for value in values]
    return found


def test_64_clients_on_one_mailbox_never_put_more_than_4_in_flight(
    gunicorn, fresh_emulator: EmulatorHandle, redis_server: RedisServer
):
    # Threads, so that the 4 workers together can have 64 requests in flight.
    backends = [gunicorn(fresh_emulator, threads=16, redis=redis_server) for _ in range(2)]
    body = shared_body(fresh_emulator.items(SUPPORT)[0]["id"], SUPPORT)
    tokens = [fresh_emulator.sso("lee@contoso.com"), fresh_emulator.sso("sam@contoso.com")]
    for backend in backends:  # the two people's exchanges, out of the way
        assert all(backend.context(t, body).status_code == 200 for t in tokens)
    # Exchange takes its time, as it does: requests overlap on the mailbox.
    fresh_emulator.fault(target="graph", mailbox=SUPPORT, method="GET", delayMs=20, times=-1)
    before = fresh_emulator.stats()
    barrier = threading.Barrier(64)

    def client(n: int) -> list[int]:
        barrier.wait(timeout=30)
        return [backends[(n + i) % 2].context(tokens[n % 2], body).status_code for i in range(4)]

    with ThreadPoolExecutor(max_workers=64) as pool:
        statuses = [s for answers in pool.map(client, range(64)) for s in answers]
    after = fresh_emulator.stats()
    assert statuses == [200] * 256
    assert (
        after["graphRequestsByMailbox"][SUPPORT] - before["graphRequestsByMailbox"][SUPPORT] >= 256
    )
    assert after["maxInFlightPerMailbox"][SUPPORT] == 4  # reached, never passed
    assert after["throttledByConcurrency"] == 0


def test_two_names_of_one_mailbox_not_known_yet_stay_within_four_across_processes(
    gunicorn, fresh_emulator: EmulatorHandle, redis_server: RedisServer
):
    """Adele's /me on one backend and Nestor's adele@ on the other, before Graph showed either
    name: the names' own slots and the claimed mailbox's are Redis's, so 4 at most in flight."""
    backends = [gunicorn(fresh_emulator, threads=8, redis=redis_server) for _ in range(2)]
    adele, nestor = (fresh_emulator.sso(f"{n}@contoso.com") for n in ("adele", "nestor"))
    # The exchanges out of the way with an id that names no mailbox (immutable), refused.
    sales = fresh_emulator.items("sales@contoso.com")[0]["immutableId"]
    for token in (adele, nestor):
        answer = backends[0].context(token, shared_body(sales, "sales@contoso.com"))
        assert answer.status_code == 403, answer.text
    items = [i["id"] for i in fresh_emulator.items("adele@contoso.com")[:8]]
    calls = [(backends[0], adele, {"itemId": i, "itemType": "message"}) for i in items]
    calls += [(backends[1], nestor, shared_body(i, "adele@contoso.com")) for i in items]
    fresh_emulator.fault(target="graph", delayMs=300, times=-1)
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda c: c[0].context(c[1], c[2]), calls))
    assert [a.status_code for a in answers] == [200] * 16, [a.text for a in answers]
    stats = fresh_emulator.stats()
    assert stats["maxInFlightPerMailbox"]["adele@contoso.com"] <= 4
    assert stats["throttledByConcurrency"] == 0


def test_100_claim_races_across_two_processes_have_one_winner_each(
    gunicorn, fresh_emulator: EmulatorHandle, redis_server: RedisServer
):
    fresh_emulator.settings(ifMatch="ignore")  # the lock alone keeps the updates
    one, two = (gunicorn(fresh_emulator, redis=redis_server) for _ in range(2))
    item_id = fresh_emulator.items(SUPPORT)[3]["id"]
    body = shared_body(item_id, SUPPORT)
    people = {
        "lee@contoso.com": fresh_emulator.sso("lee@contoso.com"),
        "sam@contoso.com": fresh_emulator.sso("sam@contoso.com"),
    }
    winners: list[str] = []
    for race in range(100):
        # Lee and Sam on different processes, swapping each race.
        sides = list(zip(people.items(), (one, two) if race % 2 else (two, one), strict=True))
        barrier = threading.Barrier(2)
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = dict(pool.map(lambda side, b=barrier: _claim_at(b, side, body), sides))
        won = [upn for upn, answer in answers.items() if answer.status_code == 200]
        assert len(won) == 1, {u: (a.status_code, a.text[:200]) for u, a in answers.items()}
        winner = won[0]
        (loser,) = set(answers) - {winner}
        assert answers[winner].json()["result"]["holder"]["upn"] == winner
        problem = answers[loser].json()
        assert answers[loser].status_code == 409 and problem["code"] == "conflict"
        assert problem["holder"]["upn"] == winner
        winners.append(winner)
        fresh_emulator.change(item_id, by=winner, categories=[])  # the winner is done with it

    assert set(winners) == set(people)  # both won some: it was a race
    writes = [
        h
        for h in fresh_emulator.item(item_id)["history"]
        if h["via"] == "graph" and "categories" in h.get("fields", {})
    ]
    assert len(writes) == 100  # one write per race: the loser never wrote
    for write in writes:
        change = write["fields"]["categories"]
        assert holder(change["old"] or []) is None  # nobody's claim was overwritten
        assert holder(change["new"])["upn"] == write["by"]


def _per_worker(directory: Path, name: str) -> dict[int, float]:
    """A counter's total per worker pid, from prometheus_client's multiprocess files."""
    totals: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(re.search(r"counter_(\d+)\.db", path.name).group(1))
        for metric in MultiProcessCollector.merge([str(path)], accumulate=False):
            if metric.name == name:
                totals[pid] = totals.get(pid, 0) + sum(
                    s.value for s in metric.samples if s.name == name + "_total"
                )
    return totals


def test_one_token_exchange_for_100_requests_over_4_workers_and_no_token_in_redis(
    gunicorn, fresh_emulator: EmulatorHandle, redis_server: RedisServer, tmp_path: Path
):
    dirs = [tmp_path / "metrics-a", tmp_path / "metrics-b"]
    for directory in dirs:
        directory.mkdir()
    backends = [
        gunicorn(fresh_emulator, redis=redis_server, PROMETHEUS_MULTIPROC_DIR=str(d)) for d in dirs
    ]
    body = shared_body(fresh_emulator.items(SUPPORT)[0]["id"], SUPPORT)
    sso = fresh_emulator.sso("lee@contoso.com")
    # A slow exchange (as under load): every sync worker is busy with one request meanwhile.
    fresh_emulator.fault(target="token", delayMs=500, times=1)
    before = fresh_emulator.stats()["tokenRequestsByPerson"].get("lee@contoso.com", 0)
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(
            pool.map(lambda n: backends[n % 2].context(sso, body).status_code, range(100))
        )
    assert statuses == [200] * 100
    assert fresh_emulator.stats()["tokenRequestsByPerson"]["lee@contoso.com"] - before == 1

    lookups: dict[int, float] = {}
    for directory in dirs:
        lookups.update(_per_worker(directory, "tandem_obo_cache"))
    assert len(lookups) == 4 and all(n >= 1 for n in lookups.values()), lookups
    assert sum(lookups.values()) == 100

    stored = everything_in(redis_server)
    cached = [
        value
        for key, value in stored
        if key.startswith(b"tandem:cache:")
        and not key.startswith((b"tandem:cache:mailbox-of:", b"tandem:cache:stable-id:"))
    ]
    assert len(cached) == 1
    # The entry, opened with the key: it is the Graph token, and it is nowhere in clear.
    plain = Fernet(CACHE_KEY.encode()).decrypt(
        base64.urlsafe_b64encode(base64.b32decode(cached[0]))
    )
    graph_token = json.loads(plain.split(b"\n", 1)[1])["token"]
    assert graph_token.startswith("eyJ") and graph_token != sso
    secrets = [sso, graph_token, *sso.split("."), *graph_token.split(".")]
    for key, value in stored:
        for text in (key, value):
            assert b"eyJ" not in text, key
            for secret in secrets:
                assert secret.encode() not in text, key
            assert b"lee@contoso.com" not in text or key.startswith(b"tandem:presence:")


def test_presence_is_seen_across_processes(
    gunicorn, fresh_emulator: EmulatorHandle, redis_server: RedisServer
):
    one, two = (gunicorn(fresh_emulator, redis=redis_server) for _ in range(2))
    body = shared_body(fresh_emulator.items(SUPPORT)[2]["id"], SUPPORT)
    lee, sam = fresh_emulator.sso("lee@contoso.com"), fresh_emulator.sso("sam@contoso.com")

    def report(backend: Gunicorn, token: str, state: str) -> list[dict[str, Any]]:
        answer = backend.http.post(
            f"{backend.url}/api/items/presence",
            json={**body, "state": state},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["others"]

    assert report(one, lee, "replying") == []
    others = report(two, sam, "viewing")
    assert [(o["upn"], o["state"]) for o in others] == [("lee@contoso.com", "replying")]
    assert [o["upn"] for o in report(one, lee, "replying")] == ["sam@contoso.com"]
    report(two, sam, "gone")
    assert report(one, lee, "replying") == []


def test_redis_stopped_mid_run_reads_go_on_writes_refuse_and_recover(
    gunicorn, fresh_emulator: EmulatorHandle, redis_server: RedisServer
):
    backend = gunicorn(fresh_emulator, threads=4, redis=redis_server)
    item_id = fresh_emulator.items(SUPPORT)[5]["id"]
    body = shared_body(item_id, SUPPORT)
    lee = fresh_emulator.sso("lee@contoso.com")
    assert backend.context(lee, body).status_code == 200
    assert backend.action(lee, "claim", body).status_code == 200
    assert backend.action(lee, "release", body).status_code == 200

    redis_server.stop()
    for _ in range(6):
        assert backend.context(lee, body).status_code == 200
        presence = backend.http.post(
            f"{backend.url}/api/items/presence",
            json={**body, "state": "viewing"},
            headers={"Authorization": f"Bearer {lee}"},
        )
        assert presence.status_code == 200
        started = time.monotonic()
        answer = backend.action(lee, "claim", body)
        assert time.monotonic() - started < 5  # within the timeout: nothing hangs
        assert answer.status_code == 503
        assert answer.json()["code"] == "upstream_unavailable"
        assert answer.headers["Retry-After"]
    assert holder(fresh_emulator.item(item_id)["item"]["categories"]) is None  # nothing written

    redis_server.start()  # the same port, empty
    claimed = until(lambda: backend.action(lee, "claim", body).status_code == 200, 15)
    assert claimed, "writes did not come back after Redis did"
    assert backend.action(lee, "release", body).status_code == 200
    assert backend.process.poll() is None  # the same gunicorn, never restarted
    assert "Redis is reachable again" in backend.text()


def test_a_worker_killed_holding_a_lock_and_a_slot_frees_both_within_their_ttl(
    gunicorn, fresh_emulator: EmulatorHandle, redis_server: RedisServer
):
    backend = gunicorn(fresh_emulator, redis=redis_server)
    item_id = fresh_emulator.items(SUPPORT)[7]["id"]
    body = shared_body(item_id, SUPPORT)
    lee, sam = fresh_emulator.sso("lee@contoso.com"), fresh_emulator.sso("sam@contoso.com")
    assert backend.context(sam, body).status_code == 200
    # Lee's claim hangs in its PATCH (Exchange slow), holding the item's lock and a slot.
    fresh_emulator.fault(target="graph", mailbox=SUPPORT, method="PATCH", delayMs=60_000)
    hanging = threading.Thread(target=lambda: _ignore_errors(backend.action, lee, "claim", body))
    hanging.start()
    client = redis_server.client()

    def held() -> tuple[bytes, int] | None:
        locks = list(client.scan_iter("tandem:lock:item:*"))
        slots = list(client.scan_iter("tandem:slots:*"))
        if not locks or not slots:
            return None
        owner = client.get(locks[0])
        pid = int(owner.decode().split(":")[1]) if owner else 0
        leases = [m.decode() for m in client.zrange(slots[0], 0, -1)]
        return (locks[0], pid) if any(f":{pid}:" in m for m in leases) else None

    found = until(held, 20)
    assert found, "the claim never reached its PATCH"
    lock_key, pid = found
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()

    assert until(lambda: client.get(lock_key) is None, LOCK_TTL + 2)
    lock_freed = time.monotonic() - killed

    def lease_gone() -> bool:
        seconds, micros = client.time()
        now = seconds * 1000 + micros // 1000
        leases = [
            (m.decode(), score)
            for key in client.scan_iter("tandem:slots:*")
            for m, score in client.zrange(key, 0, -1, withscores=True)
        ]
        return not any(f":{pid}:" in m and score > now for m, score in leases)

    assert until(lease_gone, SLOT_LEASE + 2)
    slot_freed = time.monotonic() - killed
    assert lock_freed <= LOCK_TTL + 1 and slot_freed <= SLOT_LEASE + 1

    answer = until(lambda: _claim_answer(backend, sam, body), 30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["holder"]["upn"] == "sam@contoso.com"
    assert holder(fresh_emulator.item(item_id)["item"]["categories"])["upn"] == "sam@contoso.com"
    hanging.join(timeout=1)


def _claim_at(
    barrier: threading.Barrier, side: tuple[tuple[str, str], Gunicorn], body: dict[str, Any]
) -> tuple[str, Any]:
    """One person's claim, sent the moment the other's is."""
    (upn, token), backend = side
    barrier.wait(timeout=10)
    return upn, backend.action(token, "claim", body)


def _claim_answer(backend: Gunicorn, token: str, body: dict[str, Any]) -> Any:
    """Sam's claim, once the master has a worker to answer it (it replaces the killed one)."""
    try:
        return backend.action(token, "claim", body)
    except OSError:
        return None


def _ignore_errors(call: Callable[..., Any], *args: Any) -> None:
    """Run `call`; the worker serving it is killed, so its connection breaks."""
    with contextlib.suppress(OSError):
        call(*args)


def test_what_a_mailbox_is_is_learnt_once_for_every_process(
    gunicorn, fresh_emulator: EmulatorHandle, redis_server: RedisServer
):
    """Issue 15, defect 3: the GUID Graph showed for support@ through one process keys its
    slots in the other too, and there an id of another mailbox is refused before Graph."""
    one, two = (gunicorn(fresh_emulator, redis=redis_server) for _ in range(2))
    lee = fresh_emulator.sso("lee@contoso.com")
    assert one.context(lee, shared_body(fresh_emulator.items(SUPPORT)[0]["id"], SUPPORT)).ok
    before = fresh_emulator.stats()["graphRequests"]
    other = fresh_emulator.items("lee@contoso.com")[0]["id"]
    answer = two.context(lee, shared_body(other, SUPPORT))
    assert answer.status_code == 404 and answer.json()["code"] == "item_not_found", answer.text
    assert fresh_emulator.stats()["graphRequests"] == before
    learnt = [k for k, _ in everything_in(redis_server) if b":mailbox-of:" in k]
    assert len(learnt) == 1 and b"support" not in learnt[0]  # hashed: no address in key names
