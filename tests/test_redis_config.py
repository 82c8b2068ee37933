"""Settings for several workers: Redis, the cache key, and refusing unshared state."""

from __future__ import annotations

import logging

import pytest

from tandem_mailbox.app import create_app
from tandem_mailbox.config import ConfigError, Settings
from tests.support.api import shared_body
from tests.support.deployment import CACHE_KEY, RedisServer
from tests.support.servers import BackendSettings, EmulatorHandle


@pytest.fixture
def base(emulator: EmulatorHandle, backend_settings: BackendSettings) -> dict[str, str]:
    """Settings wiring a backend to the shared emulator."""
    return backend_settings(emulator)


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        ({"TANDEM_WORKERS": "4"}, ["TANDEM_WORKERS is 4", "TANDEM_REDIS_URL"]),
        ({"WEB_CONCURRENCY": "2"}, ["WEB_CONCURRENCY is 2", "TANDEM_SINGLE_WORKER_STATE"]),
        ({"TANDEM_WORKERS": "two"}, ["TANDEM_WORKERS must be a whole number"]),
        ({"TANDEM_WORKERS": "0"}, ["TANDEM_WORKERS must be a whole number"]),
        ({"TANDEM_REDIS_URL": "redis://localhost:6379/0"}, ["TANDEM_CACHE_KEY is required"]),
        (
            {"TANDEM_REDIS_URL": "redis://localhost", "TANDEM_CACHE_KEY": "not-a-key"},
            ["TANDEM_CACHE_KEY must be Fernet keys"],
        ),
        ({"TANDEM_REDIS_URL": "http://localhost:6379"}, ["TANDEM_REDIS_URL must be a redis://"]),
        ({"TANDEM_REDIS_URL": "redis://localhost:port"}, ["TANDEM_REDIS_URL has a port"]),
        ({"TANDEM_SINGLE_WORKER_STATE": "maybe"}, ["TANDEM_SINGLE_WORKER_STATE must be"]),
    ],
)
def test_contradictory_settings_stop_the_start(base, extra, names):
    with pytest.raises(ConfigError) as raised:
        Settings.from_mapping({**base, **extra})
    message = str(raised.value)
    assert "\n" not in message
    for name in names:
        assert name in message


def test_the_cache_key_message_says_how_to_make_one(base):
    with pytest.raises(ConfigError, match=r"Fernet\.generate_key\(\)"):
        Settings.from_mapping({**base, "TANDEM_REDIS_URL": "rediss://cache.example:6380"})


@pytest.mark.parametrize(
    ("extra", "workers", "redis"),
    [
        ({}, 1, None),
        ({"TANDEM_WORKERS": "1", "WEB_CONCURRENCY": "8"}, 1, None),  # Tandem's own wins
        ({"TANDEM_WORKERS": "4", "TANDEM_SINGLE_WORKER_STATE": "true"}, 4, None),
        (
            {"TANDEM_WORKERS": "4", "TANDEM_REDIS_URL": "rediss://:pw@cache:6380/2"},
            4,
            "rediss://:pw@cache:6380/2",
        ),
    ],
)
def test_accepted_combinations(base, extra, workers, redis):
    settings = Settings.from_mapping({**base, "TANDEM_CACHE_KEY": CACHE_KEY, **extra})
    assert settings.workers == workers
    assert settings.redis_url == redis
    assert "pw" not in repr(settings) and CACHE_KEY not in repr(settings)


def test_several_cache_keys_for_rotation(base):
    other = "nD6dDxyj0pJ1f2sVx2n7mQ9Hn5o4Qf9KXl0kx6gQH2U="
    settings = Settings.from_mapping(
        {**base, "TANDEM_REDIS_URL": "redis://h", "TANDEM_CACHE_KEY": f"{CACHE_KEY}, {other}"}
    )
    assert settings.cache_keys == (CACHE_KEY, other)


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
