"""The lanes hold every test: no test module outside the five folders, and none of the fast
lane starts a process or a browser (by fixture, or by starting one itself)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import lanes
from tests.support.paths import REPO

TESTS = REPO / "tests"


def test_every_test_module_sits_in_a_lane():
    assert lanes.misplaced(TESTS) == []
    for lane in lanes.FULL:
        assert any(lanes.is_test_module(p) for p in (TESTS / lane).rglob("*.py")), lane


def test_a_module_between_the_lanes_is_found(tmp_path: Path):
    for name in [
        "test_flat.py",
        "flat_test.py",
        "misc/test_elsewhere.py",
        "unit/test_ok.py",
        "api/deeper/test_ok_too.py",
        "unit/helpers.py",
        "support/helpers.py",
        "support/test_data.py",  # no lane runs tests/support
        "conftest.py",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert lanes.misplaced(tmp_path) == [
        Path("flat_test.py"),
        Path("misc/test_elsewhere.py"),
        Path("support/test_data.py"),
        Path("test_flat.py"),
    ]


@pytest.mark.parametrize(
    ("lane", "fixtures", "browser_marked", "refused"),
    [
        ("unit", ["tmp_path"], False, None),
        ("api", ["fresh_emulator", "make_backend", "http"], False, None),
        ("api", ["fresh_emulator", "redis_server"], False, "redis_server"),
        ("emulator", ["emulator", "page", "browser"], False, "browser, page"),
        ("unit", ["gunicorn"], False, "gunicorn"),
        ("api", ["start_serve"], False, "start_serve"),
        ("emulator", ["demo"], False, "demo"),
        ("unit", [], True, "the browser marker"),
        ("processes", ["redis_server", "gunicorn", "start_serve"], False, None),
        ("browser", ["page", "fresh_demo"], True, None),
    ],
)
def test_the_fast_lane_refuses_processes_and_browsers(
    lane: str, fixtures: list[str], browser_marked: bool, refused: str | None
):
    why = lanes.refusal(lane, fixtures, browser_marked)
    if refused is None:
        assert why is None
    else:
        assert why is not None and f"uses {refused}:" in why and f"tests/{lane}" in why


@pytest.mark.parametrize(
    ("argv", "starts"),
    [
        (["redis-server", "--port", "0"], True),
        (["/usr/bin/redis-server"], True),
        ([sys.executable, "-m", "tandem_mailbox.cli", "serve"], True),
        (["/repo/.venv/bin/tandem", "demo"], True),
        ([sys.executable, "-m", "gunicorn", "-w", "2"], True),
        ([sys.executable, "-m", "pip", "wheel", "."], True),
        ("chromium --headless", True),
        (["node", "--test", "tests/"], False),
        ([Path(sys.executable).with_name("lint-imports")], False),
        ([sys.executable, "-c", "print(1)"], False),
    ],
)
def test_what_counts_as_starting_a_process(argv: list[str] | str, starts: bool):
    assert lanes.starts_a_process(argv) is starts


def test_a_fast_test_that_starts_a_server_fails_here():
    """The root conftest's audit hook is on: this test runs in the fast lane."""
    with pytest.raises(lanes.LaneError, match="the fast lane starts no process"):
        subprocess.run(["redis-server", "--version"], capture_output=True, check=False)
    with pytest.raises(lanes.LaneError):
        subprocess.run([sys.executable, "-m", "tandem_mailbox.cli", "--help"], check=False)
    done = subprocess.run([sys.executable, "-c", "print('tools still run')"], capture_output=True)
    assert done.stdout == b"tools still run\n"


@pytest.mark.parametrize(
    ("lane", "rounds"), [("fast", 25), ("full", 100), (None, 100), ("slow", None)]
)
def test_the_lane_decides_how_many_rounds_run(
    monkeypatch: pytest.MonkeyPatch, lane: str | None, rounds: int | None
):
    if lane is None:
        monkeypatch.delenv("TEST_LANE", raising=False)
    else:
        monkeypatch.setenv("TEST_LANE", lane)
    if rounds is None:
        with pytest.raises(ValueError, match="TEST_LANE"):
            lanes.rounds(100)
    else:
        assert lanes.rounds(100) == rounds
        assert lanes.rounds(1) == 1
