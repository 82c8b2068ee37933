"""The six delegate bits and the action table: the one owner of which action needs what."""

from __future__ import annotations

import pytest

from tandem_mailbox.mail import permissions


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


@pytest.mark.parametrize(
    ("item_type", "expected"),
    [
        ("message", set(permissions.BY_TYPE["message"])),
        ("appointment", {"claim", "release", "categorize", "respond"}),
    ],
)
def test_each_item_type_has_its_own_actions(item_type: str, expected: set[str]):
    assert set(permissions.describe(63, item_type)) == expected


LEE = {"upn": "lee@contoso.com", "name": "Lee Gu"}


@pytest.mark.parametrize(
    ("holder", "me", "owner", "claim", "release"),
    [
        (None, "sam@contoso.com", False, True, False),  # nobody holds it: claim, no release
        (LEE, "lee@contoso.com", False, False, True),  # mine: release, not claim again
        (LEE, "sam@contoso.com", False, False, False),  # Lee's: neither for Sam
        (LEE, "adele@contoso.com", True, False, True),  # the mailbox's owner may release it
    ],
)
def test_claim_and_release_follow_who_holds_the_claim(
    holder: dict[str, str] | None, me: str, owner: bool, claim: bool, release: bool
):
    described = permissions.describe(63, holder=holder, me=me, owner=owner)
    assert described["claim"]["allowed"] is claim
    assert described["release"]["allowed"] is release
    if holder and not claim:
        assert "the claim on this item" in described["claim"]["reason"]


def test_a_refusal_by_bits_names_the_missing_permission():
    described = permissions.describe(1, "appointment")
    assert described["respond"] == {
        "allowed": False,
        "missing": ["write", "editOwn or editAll"],
        "reason": "Needs the permission: Create items; Edit own items or Edit all items",
    }
