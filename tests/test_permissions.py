"""The six delegate bits, the action table, and the task pane's mirror of it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from backend import permissions

PANE = Path(__file__).resolve().parent.parent / "taskpane" / "permissions.js"


@pytest.mark.parametrize(
    ("bits", "granted"),
    [
        (0, set()),
        (1, {"read"}),
        (23, {"read", "write", "deleteOwn", "editOwn"}),
        (63, {"read", "write", "deleteOwn", "deleteAll", "editOwn", "editAll"}),
    ],
)
def test_decode(bits: int, granted: set[str]):
    assert {name for name, on in permissions.decode(bits).items() if on} == granted


@pytest.mark.parametrize(
    ("action", "bits", "lacking"),
    [
        ("reply", 1, []),
        ("reply", 0, ["read"]),
        ("flag", 1, ["editOwn or editAll"]),
        ("flag", 17, []),  # Author: own items only; Exchange judges whose item it is
        ("move", 1, ["write", "deleteOwn or deleteAll"]),
        ("move", 23, []),
        ("delete", 19, ["deleteOwn or deleteAll"]),
        ("claim", 63, []),
    ],
)
def test_missing(action: str, bits: int, lacking: list[str]):
    assert permissions.missing(action, bits) == lacking


def test_the_task_pane_mirrors_the_table():
    node = shutil.which("node")
    assert node, "node is required for the task pane"
    script = (
        f"import('{PANE.as_uri()}').then(m => {{"
        "const out = {bits: m.BITS, actions: m.ACTIONS, missing: {}};"
        "for (const a of Object.keys(m.ACTIONS)) for (const b of [0, 1, 17, 23, 63])"
        " out.missing[a + ':' + b] = m.missing(a, b);"
        "console.log(JSON.stringify(out)); })"
    )
    result = subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    mirrored = json.loads(result.stdout)
    assert mirrored["bits"] == permissions.BITS
    assert mirrored["actions"] == permissions.table()
    for key, lacking in mirrored["missing"].items():
        action, bits = key.split(":")
        assert lacking == permissions.missing(action, int(bits)), key
