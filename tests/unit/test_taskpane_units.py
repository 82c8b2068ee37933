"""The task pane's own unit tests (node's built-in runner), so `pytest` runs everything."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.paths import REPO

TASKPANE = REPO / "taskpane"


def test_taskpane_unit_tests_pass() -> None:
    """`node --test taskpane/tests/` passes: context, permissions, auth and api modules."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: install Node 20 or later (apt-get install nodejs)")
    result = subprocess.run(
        [node, "--test", "tests/"],
        cwd=TASKPANE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "# fail 0" in report, report
