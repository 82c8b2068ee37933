"""Settings for several workers: Redis, the cache key, and contradictions refused at the start."""

from __future__ import annotations

import pytest

from tandem_mailbox.config import ConfigError, Settings
from tests.support.deployment import CACHE_KEY
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
