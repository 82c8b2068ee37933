"""The six delegate bits and the action table (the server is their one owner)."""

from __future__ import annotations

import pytest

from backend import permissions


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
