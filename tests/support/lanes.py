"""The lanes the tests run in, by folder, and what a fast-lane test may not start.

tests/unit, tests/api and tests/emulator are the fast lane (`./scripts/test`): everything in
this process. tests/processes and tests/browser join them in the full lane (`./scripts/test
--all`, CI). A test module anywhere else would run in no lane, or in the full lane only by
accident, so the folders are checked (tests/unit/test_lanes.py) and the root conftest refuses a
fast-lane test that asks for a process or a browser.
"""

from __future__ import annotations

import itertools
import os
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path

FAST = ("unit", "api", "emulator")
FULL = (*FAST, "processes", "browser")

# Fixtures that start a process (tandem demo or serve, redis-server, gunicorn, PostgreSQL) or a
# browser.
PROCESS_FIXTURES = frozenset(
    {
        "demo",
        "fresh_demo",
        "start_serve",
        "redis_server",
        "gunicorn",
        "postgres",
        "browser",
        "page",
        "other_page",
    }
)

# Programs a fast-lane test may not start, by name or as `python -m NAME`: the servers and the
# command line the processes lane exercises, a browser, and pip (the wheel's build and install).
PROCESS_PROGRAMS = frozenset(
    {
        "tandem",
        "gunicorn",
        "redis-server",
        "chromium",
        "pip",
        "pip3",
        "postgres",
        "initdb",
        "pg_ctl",
    }
)
PROCESS_MODULES = frozenset({"tandem_mailbox.cli", "gunicorn", "pip", "venv"})


def running() -> str:
    """The lane this run is: "fast" or "full" (TEST_LANE, which scripts/test sets; plain pytest
    runs as the full lane)."""
    lane = os.environ.get("TEST_LANE", "full")
    if lane not in ("fast", "full"):
        raise ValueError(f"TEST_LANE is {lane!r}: fast or full")
    return lane


def rounds(full: int) -> int:
    """How many times a repeated check runs: `full` in the full lane, a quarter of it in the
    fast one (as Hypothesis runs a tenth of its examples there)."""
    return full if running() == "full" else max(1, full // 4)


class LaneError(RuntimeError):
    """A fast-lane test started what only the full lane may start."""


def lane_of(path: Path, tests: Path) -> str | None:
    """The lane folder `path` sits in under `tests`, or None (directly in tests/, elsewhere)."""
    try:
        parts = path.relative_to(tests).parts
    except ValueError:
        return None
    return parts[0] if len(parts) > 1 and parts[0] in FULL else None


def is_test_module(path: Path) -> bool:
    """Whether pytest collects the file as a test module (its default python_files)."""
    return path.suffix == ".py" and (path.name.startswith("test_") or path.stem.endswith("_test"))


def misplaced(tests: Path) -> list[Path]:
    """Test modules under `tests` outside the five lane folders (tests/support among them:
    no lane runs it)."""
    return [
        path.relative_to(tests)
        for path in sorted(tests.rglob("*.py"))
        if is_test_module(path) and lane_of(path, tests) is None
    ]


def refusal(lane: str | None, fixtures: Iterable[str], browser_marked: bool) -> str | None:
    """Why a test of `lane` asking for `fixtures` may not run there, or None if it may."""
    if lane not in FAST:
        return None
    wanted = sorted(PROCESS_FIXTURES.intersection(fixtures))
    if browser_marked:
        wanted.append("the browser marker")
    if not wanted:
        return None
    return (
        f"tests/{lane} is the fast lane (no process, no browser) but this test uses "
        f"{', '.join(wanted)}: it belongs in tests/processes or tests/browser"
    )


def starts_a_process(argv: str | bytes | Sequence[str | bytes | os.PathLike[str]]) -> bool:
    """Whether a command line starts what the fast lane may not (see PROCESS_PROGRAMS)."""
    if isinstance(argv, str | bytes):
        words = shlex.split(os.fsdecode(argv))  # one command line (shell=True, or a program)
    elif isinstance(argv, os.PathLike):
        words = [os.fsdecode(argv)]
    else:
        words = [os.fsdecode(word) for word in argv]
    if not words:
        return False
    if Path(words[0]).name in PROCESS_PROGRAMS:
        return True
    modules = {b for a, b in itertools.pairwise(words) if a == "-m"}
    return bool(modules & PROCESS_MODULES)
