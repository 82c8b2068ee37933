"""Message list queries on the emulator as Exchange answers them: paging, $filter, $orderby,
$count, and Graph's refusals (InefficientFilter, ErrorInvalidUrlQueryFilter, BadRequest)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support.graph import G
from tests.support.schema import parse_time, problems
from tests.support.servers import EmulatorHandle

SUPPORT = "/users/support@contoso.com"


def everything(e: EmulatorHandle, lee: G, path: str, **query: str) -> list[dict[str, Any]]:
    """Every page of a list, following @odata.nextLink to the end."""
    url = f"{SUPPORT}{path}?{urlencode(query)}"
    found: list[dict[str, Any]] = []
    pages = 0
    while url:
        response = lee("GET", url)
        assert response.status_code == 200, response.text
        body = response.json()
        found += body["value"]
        pages += 1
        assert pages < 100
        url = body.get("@odata.nextLink", "").removeprefix(f"{e.url}/v1.0")
    return found


def world_messages(e: EmulatorHandle, address: str) -> list[dict[str, Any]]:
    """Every message of a mailbox's mail folders, as the world lists them."""
    box = next(m for m in e.world()["mailboxes"] if m["address"] == address)
    return [
        i
        for f in box["folders"]
        if f["kind"] == "mail"
        for i in f["items"]
        if i["itemType"] == "message"
    ]


def refusal(response: Any) -> tuple[int, str]:
    """Status and Graph error code of an answer."""
    return response.status_code, response.json()["error"]["code"]


def test_paging_reaches_every_message_once(emulator: EmulatorHandle):
    e = emulator
    lee = G(e, "lee@contoso.com")
    pages = everything(e, lee, "/messages", **{"$top": "7", "$select": "subject"})
    expected = {i["id"] for i in world_messages(e, "support@contoso.com")}
    assert len(pages) == len(expected) > 20
    assert {m["id"] for m in pages} == expected
    assert all(problems("message", m, "subject") == [] for m in pages)
    counted = lee("GET", f"{SUPPORT}/messages?$count=true&$top=1").json()
    assert counted["@odata.count"] == len(expected)
    assert len(counted["value"]) == 1 and "@odata.nextLink" in counted
    skipped = lee("GET", f"{SUPPORT}/messages?$skip={len(expected) - 2}&$top=5").json()
    assert len(skipped["value"]) == 2 and "@odata.nextLink" not in skipped
    # A folder's list pages the same way.
    inbox = everything(e, lee, "/mailFolders/inbox/messages", **{"$top": "5"})
    assert {m["id"] for m in inbox} == {
        i["id"] for i in e.items("support@contoso.com") if i["itemType"] == "message"
    }


@pytest.mark.parametrize(
    ("orderby", "key", "reverse"),
    [
        ("receivedDateTime desc", "receivedDateTime", True),
        ("receivedDateTime asc", "receivedDateTime", False),
        ("receivedDateTime", "receivedDateTime", False),  # asc is OData's default
        ("subject", "subject", False),
        ("subject desc", "subject", True),
    ],
)
def test_orderby_sorts(emulator: EmulatorHandle, orderby: str, key: str, reverse: bool):
    e = emulator
    lee = G(e, "lee@contoso.com")
    listed = everything(e, lee, "/messages", **{"$orderby": orderby, "$top": "50"})
    values = [parse_time(m[key]) if key.endswith("DateTime") else m[key].lower() for m in listed]
    assert values == sorted(values, reverse=reverse)


def test_default_order_is_newest_first(emulator: EmulatorHandle):
    e = emulator
    lee = G(e, "lee@contoso.com")
    listed = everything(e, lee, "/mailFolders/inbox/messages", **{"$top": "50"})
    times = [parse_time(m["receivedDateTime"]) for m in listed]
    assert times == sorted(times, reverse=True)


def test_filters_select_what_exchange_would(fresh_emulator: EmulatorHandle):
    e = fresh_emulator
    lee = G(e, "lee@contoso.com")
    every = everything(e, lee, "/messages", **{"$top": "100"})
    by_id = {m["id"]: m for m in every}
    flagged, tagged = every[3]["id"], every[5]["id"]
    e.change(flagged, flag="flagged", by="lee@contoso.com")
    e.change(tagged, categories=["Billing", "Tandem: Lee Gu (lee@contoso.com)"])
    middle = sorted(parse_time(m["receivedDateTime"]) for m in every)[len(every) // 2]
    stamp = middle.strftime("%Y-%m-%dT%H:%M:%SZ")
    customer = next(
        m["from"]["emailAddress"]["address"]
        for m in every
        if m["from"]["emailAddress"]["address"].endswith("adatum.com")
    )
    thread = every[0]["conversationId"]
    every = everything(e, lee, "/messages", **{"$top": "100"})  # with the changes
    by_id = {m["id"]: m for m in every}

    def ids(expression: str, **extra: str) -> set[str]:
        return {
            m["id"] for m in everything(e, lee, "/messages", **{"$filter": expression}, **extra)
        }

    def where(test: Any) -> set[str]:
        return {i for i, m in by_id.items() if test(m)}

    assert ids("isRead eq false") == where(lambda m: not m["isRead"])
    assert ids("isRead eq true") == where(lambda m: m["isRead"])
    assert ids(f"receivedDateTime ge {stamp}") == where(
        lambda m: parse_time(m["receivedDateTime"]) >= middle
    )
    assert ids(f"receivedDateTime lt {stamp}") == where(
        lambda m: parse_time(m["receivedDateTime"]) < middle
    )
    assert ids(f"from/emailAddress/address eq '{customer.upper()}'") == where(
        lambda m: m["from"]["emailAddress"]["address"] == customer
    )
    assert ids(f"conversationId eq '{thread}'") == where(lambda m: m["conversationId"] == thread)
    assert ids("categories/any(c:c eq 'billing')") == {tagged}
    is_flagged = where(lambda m: m["flag"]["flagStatus"] == "flagged")
    assert flagged in is_flagged
    assert ids("flag/flagStatus eq 'flagged'") == is_flagged
    assert ids("not (flag/flagStatus eq 'flagged')") == set(by_id) - is_flagged
    assert ids(f"isRead eq false and from/emailAddress/address eq '{customer}'") == where(
        lambda m: not m["isRead"] and m["from"]["emailAddress"]["address"] == customer
    )
    assert ids("flag/flagStatus eq 'flagged' or categories/any(c:c eq 'Billing')") == (
        is_flagged | {tagged}
    )
    # $filter with $orderby where the sorted member leads the filter: accepted, sorted.
    ordered = everything(
        e,
        lee,
        "/messages",
        **{
            "$filter": "receivedDateTime ge 1900-01-01T00:00:00Z and isRead eq false",
            "$orderby": "receivedDateTime desc",
        },
    )
    assert [m["id"] for m in ordered] == sorted(
        where(lambda m: not m["isRead"]), key=lambda i: by_id[i]["receivedDateTime"], reverse=True
    )
    counted = lee("GET", f"{SUPPORT}/messages?$filter=isRead eq false&$count=true&$top=1")
    assert counted.json()["@odata.count"] == len(where(lambda m: not m["isRead"]))


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        # The devblogs post's three cases: InefficientFilter.
        (
            {"$orderby": "receivedDateTime", "$filter": "from/emailAddress/address eq 'a@b.c'"},
            400,
            "InefficientFilter",
        ),
        (
            {
                "$orderby": "hasAttachments,receivedDateTime",
                "$filter": "receivedDateTime ge 2026-01-01T00:00:00Z and hasAttachments eq true",
            },
            400,
            "InefficientFilter",
        ),
        (
            {
                "$orderby": "receivedDateTime",
                "$filter": "isRead eq false and receivedDateTime ge 2026-01-01T00:00:00Z",
            },
            400,
            "InefficientFilter",
        ),
        # What Exchange cannot filter on.
        (
            {"$filter": "toRecipients/any(r:r/emailAddress/address eq 'a@b.c')"},
            400,
            "ErrorInvalidUrlQueryFilter",
        ),
        ({"$filter": "contains(subject,'VPN')"}, 400, "ErrorInvalidUrlQueryFilter"),
        ({"$filter": "bodyPreview eq 'x'"}, 400, "ErrorInvalidUrlQueryFilter"),
        # What does not parse, or compares the wrong types.
        ({"$filter": "isRead eq"}, 400, "BadRequest"),
        ({"$filter": "isRead eq 'yes'"}, 400, "BadRequest"),
        ({"$orderby": "body"}, 400, "ErrorInvalidUrlQuery"),
        ({"$count": "maybe"}, 400, "BadRequest"),
    ],
)
def test_graphs_refusals(emulator: EmulatorHandle, query: dict[str, str], status: int, code: str):
    lee = G(emulator, "lee@contoso.com")
    response = lee("GET", f"{SUPPORT}/messages?{urlencode(query)}")
    assert refusal(response) == (status, code), response.text


def test_a_folder_delegate_cannot_list_the_whole_mailbox(emulator: EmulatorHandle):
    megan = G(emulator, "megan@contoso.com")
    assert refusal(megan("GET", "/users/adele@contoso.com/messages")) == (
        403,
        "ErrorAccessDenied",
    )
    inbox = megan("GET", "/users/adele@contoso.com/mailFolders/inbox/messages?$top=2")
    assert inbox.status_code == 200, inbox.text
