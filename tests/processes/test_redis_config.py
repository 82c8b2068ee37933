"""Several workers for real: gunicorn refusing unshared state, and the start against a real
Redis (reachable, with a password, or down)."""

from __future__ import annotations

import logging

import pytest

from tandem_mailbox.app import create_app
from tests.support.api import shared_body
from tests.support.deployment import CACHE_KEY, RedisServer
from tests.support.servers import BackendSettings, EmulatorHandle


@pytest.fixture
def base(emulator: EmulatorHandle, backend_settings: BackendSettings) -> dict[str, str]:
    """Settings wiring a backend to the shared emulator."""
    return backend_settings(emulator)


def test_gunicorn_with_two_workers_and_no_redis_refuses_to_start(gunicorn, emulator):
    server = gunicorn(emulator, workers=2, wait_ready=False)
    assert server.process.wait(timeout=60) != 0
    assert "TANDEM_WORKERS is 2 but TANDEM_REDIS_URL is not set" in server.text()


def test_gunicorn_w2_without_the_worker_count_answers_misconfigured(gunicorn, emulator, caplog):
    # `gunicorn -w 2` with nothing in the environment: the start can't know, the requests do.
    server = gunicorn(emulator, workers=2, TANDEM_WORKERS=None)
    body = shared_body(emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    answer = server.context(emulator.sso("lee@contoso.com"), body)
    assert answer.status_code == 500
    assert answer.json()["code"] == "server_misconfigured"
    assert server.http.get(f"{server.url}/readyz").status_code == 500
    assert server.http.get(f"{server.url}/healthz").status_code == 200
    assert "several workers without TANDEM_REDIS_URL" in server.text()


def test_gunicorn_w2_with_single_worker_state_accepted(gunicorn, emulator):
    server = gunicorn(emulator, workers=2, TANDEM_SINGLE_WORKER_STATE="true")
    body = shared_body(emulator.items("support@contoso.com")[0]["id"], "support@contoso.com")
    assert server.context(emulator.sso("lee@contoso.com"), body).status_code == 200


def test_the_start_says_where_state_lives(base, redis_server: RedisServer, caplog):
    settings = {**base, "TANDEM_REDIS_URL": redis_server.url, "TANDEM_CACHE_KEY": CACHE_KEY}
    with caplog.at_level(logging.INFO, logger="tandem"):
        create_app(settings)
    assert f"Redis at redis://127.0.0.1:{redis_server.port}/0 (reachable)" in caplog.text
    assert CACHE_KEY not in caplog.text


def test_a_password_in_the_url_is_used_and_never_logged(base, tmp_path, caplog):
    server = RedisServer(tmp_path, password="s3cret-redis-pass").start()
    try:
        settings = {**base, "TANDEM_REDIS_URL": server.url, "TANDEM_CACHE_KEY": CACHE_KEY}
        with caplog.at_level(logging.INFO, logger="tandem"):
            app = create_app(settings)
            coordinator = app.extensions["tandem"].coordinator
            with coordinator.lock("item:p", ttl=5, wait=0):
                assert server.client().exists("tandem:lock:item:p")
        assert "(reachable)" in caplog.text
        wrong = {**settings, "TANDEM_REDIS_URL": server.url.replace("s3cret", "wrong")}
        with caplog.at_level(logging.INFO):
            create_app(wrong)
        assert "unreachable for now" in caplog.text
        assert "s3cret-redis-pass" not in caplog.text and "wrong-redis-pass" not in caplog.text
    finally:
        server.stop()


def test_the_app_starts_while_redis_is_down(base, redis_server: RedisServer, caplog):
    redis_server.stop()
    settings = {**base, "TANDEM_REDIS_URL": redis_server.url, "TANDEM_CACHE_KEY": CACHE_KEY}
    with caplog.at_level(logging.INFO, logger="tandem"):
        app = create_app(settings)
    assert "unreachable for now; reads go on without it" in caplog.text
    assert app.extensions["tandem"].coordinator.shared
