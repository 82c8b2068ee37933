"""POST /api/items/context over HTTPS: SSO -> on-behalf-of -> Graph, and every refusal."""

from __future__ import annotations

from typing import Any

import pytest

from tandem_mailbox.emulator.exchange import ews_id
from tandem_mailbox.web.wsgi import MAX_BODY
from tests.support.api import shared_body
from tests.support.servers import BackendHandle, EmulatorHandle

PROBLEM = "application/problem+json"


def counters(emulator: EmulatorHandle) -> dict[str, int]:
    """The emulator's request counters that matter for 'nothing was sent'."""
    stats = emulator.stats()
    return {
        k: stats[k]
        for k in ("tokenRequests", "graphRequests", "jwksFetches", "openidConfigFetches")
    }


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is problem+json with this status and code, and the RFC 9457 members."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"urn:tandem:problem:{code}"
    assert body["title"] and body["detail"] and body["requestId"]
    assert response.headers["request-id"] == body["requestId"]
    return body


def test_member_of_shared_mailbox_gets_the_item(backend: BackendHandle, emulator: EmulatorHandle):
    item = emulator.items("support@contoso.com")[0]
    before = counters(emulator)
    response = backend.context(
        emulator.sso("lee@contoso.com"), shared_body(item["id"], "support@contoso.com")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mailbox"] == {
        "address": "support@contoso.com",
        "kind": "shared",
        "owner": "support@contoso.com",
    }
    assert body["person"] == {"name": "Lee Gu", "upn": "lee@contoso.com"}
    assert body["item"]["id"] == item["immutableId"]  # Tandem asks Graph for immutable ids
    assert body["item"]["subject"] == item["subject"]
    assert body["item"]["from"] == item["from"]
    assert body["item"]["etag"].startswith('W/"')
    assert body["permissions"]["bits"] == 63
    assert all(body["permissions"][p] for p in ("read", "write", "editAll", "deleteAll"))
    assert all(a["allowed"] for name, a in body["actions"].items() if name != "release")
    assert body["actions"]["release"]["reason"] == "Nobody holds a claim on this item."
    assert body["item"]["claim"] is None
    after = counters(emulator)
    assert after["graphRequests"] == before["graphRequests"] + 1
    assert after["tokenRequests"] == before["tokenRequests"] + 1  # a new SSO token: one exchange


def test_no_token_is_invalid_token(backend: BackendHandle, emulator: EmulatorHandle):
    item = emulator.items("support@contoso.com")[0]
    before = counters(emulator)
    body = assert_problem(
        backend.context(None, shared_body(item["id"], "support@contoso.com")),
        401,
        "invalid_token",
    )
    assert "token" in body["detail"].lower()
    assert counters(emulator) == before


def test_person_without_access_gets_mailbox_access_denied(
    backend: BackendHandle, emulator: EmulatorHandle
):
    item = emulator.items("support@contoso.com")[0]
    response = backend.context(
        emulator.sso("joni@contoso.com"), shared_body(item["id"], "support@contoso.com")
    )
    assert_problem(response, 403, "mailbox_access_denied")


def test_target_outside_the_cloud_never_receives_a_token(
    backend: BackendHandle, emulator: EmulatorHandle
):
    item = emulator.items("support@contoso.com")[0]
    token = emulator.sso("lee@contoso.com")
    # Warm the backend's key cache with an unrelated valid call, so any emulator traffic
    # after this point would be caused by the request under test.
    assert backend.context(token, shared_body(item["id"], "support@contoso.com")).ok
    before = counters(emulator)
    response = backend.context(
        token,
        shared_body(item["id"], "support@contoso.com", targetRestUrl="https://evil.example/api"),
    )
    body = assert_problem(response, 400, "target_not_allowed")
    assert body["field"] == "shared.targetRestUrl"
    assert counters(emulator) == before


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/api",
        "http://outlook.office.com/api",  # not https
        "https://outlook.office.com.evil.example/api",
        "https://outlook.office.com:8443/api",  # another port of an allowed host
        "https://user:pass@outlook.office.com/api",
        "https://graph.microsoft.us/api",  # another cloud's host
        "https://outlook.office365.us/api",  # GCC High's Outlook, but this runs worldwide
        "outlook.office.com",
        "https://[::1/api",
        "",
    ],
)
def test_targets_outside_the_allow_list_are_refused(
    backend: BackendHandle, emulator: EmulatorHandle, target: str
):
    item = emulator.items("support@contoso.com")[0]
    response = backend.context(
        emulator.sso("lee@contoso.com"),
        shared_body(item["id"], "support@contoso.com", targetRestUrl=target),
    )
    assert_problem(response, 400, "target_not_allowed")


@pytest.mark.parametrize(
    "target",
    [
        "https://outlook.office.com/api",
        "https://outlook.office365.com/api",
        "https://OUTLOOK.office.com:443/api/",
    ],
)
def test_worldwide_outlook_hosts_are_answered_by_graph(
    backend: BackendHandle, emulator: EmulatorHandle, target: str
):
    item = emulator.items("support@contoso.com")[0]
    response = backend.context(
        emulator.sso("lee@contoso.com"),
        shared_body(item["id"], "support@contoso.com", targetRestUrl=target),
    )
    assert response.status_code == 200, response.text


def test_extra_rest_host_is_matched_exactly(make_backend, emulator: EmulatorHandle):
    backend = make_backend(emulator, TANDEM_EXTRA_REST_HOSTS="mail.test.local:8443")
    item = emulator.items("support@contoso.com")[0]
    token = emulator.sso("lee@contoso.com")
    ok = backend.context(
        token,
        shared_body(
            item["id"], "support@contoso.com", targetRestUrl="https://mail.test.local:8443/api"
        ),
    )
    assert ok.status_code == 200, ok.text
    wrong_port = backend.context(
        token,
        shared_body(item["id"], "support@contoso.com", targetRestUrl="https://mail.test.local/api"),
    )
    assert_problem(wrong_port, 400, "target_not_allowed")


def test_own_mailbox_uses_me(backend: BackendHandle, emulator: EmulatorHandle):
    item = emulator.items("adele@contoso.com")[0]
    response = backend.context(
        emulator.sso("adele@contoso.com"), {"itemId": item["id"], "itemType": "message"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mailbox"]["kind"] == "own"
    assert body["mailbox"]["address"] == "adele@contoso.com"
    assert body["item"]["subject"] == item["subject"]


def test_shared_properties_naming_ones_own_mailbox_count_as_own(
    backend: BackendHandle, emulator: EmulatorHandle
):
    item = emulator.items("adele@contoso.com")[0]
    response = backend.context(
        emulator.sso("adele@contoso.com"), shared_body(item["id"], "Adele@Contoso.com", bits=1)
    )
    assert response.status_code == 200, response.text
    assert response.json()["mailbox"]["kind"] == "own"
    assert response.json()["permissions"]["bits"] == 63


def test_reviewer_delegate_reads_and_sees_what_is_not_allowed(
    backend: BackendHandle, emulator: EmulatorHandle
):
    item = emulator.items("adele@contoso.com")[0]
    response = backend.context(
        emulator.sso("megan@contoso.com"), shared_body(item["id"], "adele@contoso.com", bits=1)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["permissions"] == {
        "read": True,
        "write": False,
        "deleteOwn": False,
        "deleteAll": False,
        "editOwn": False,
        "editAll": False,
        "bits": 1,
    }
    assert body["actions"]["reply"] == {"allowed": True}
    assert body["actions"]["flag"]["allowed"] is False
    assert body["actions"]["flag"]["missing"] == ["editOwn or editAll"]
    assert "Edit own items or Edit all items" in body["actions"]["flag"]["reason"]
    assert body["actions"]["move"]["missing"] == ["write", "deleteOwn or deleteAll"]


def test_delegate_cannot_read_a_folder_not_shared_with_them(
    make_backend, fresh_emulator: EmulatorHandle
):
    backend = make_backend(fresh_emulator)
    adele = fresh_emulator.sso("adele@contoso.com")
    inbox_item = fresh_emulator.items("adele@contoso.com", "inbox")[0]  # shared with Alex
    own = {"itemId": inbox_item["id"], "itemType": "message"}
    draft = backend.action(adele, "reply", own, comment="Draft").json()["result"]["draft"]
    assert fresh_emulator.item(draft["id"])["folderWellKnownName"] == "drafts"  # not shared
    response = backend.context(
        fresh_emulator.sso("alex@contoso.com"),
        shared_body(draft["id"], "adele@contoso.com", bits=23),
    )
    assert_problem(response, 403, "mailbox_access_denied")


def test_delegate_cannot_read_another_persons_mailbox(
    backend: BackendHandle, emulator: EmulatorHandle
):
    welcome = emulator.items("megan@contoso.com")[0]  # Megan's own item, read by Alex
    response = backend.context(
        emulator.sso("alex@contoso.com"), shared_body(welcome["id"], "megan@contoso.com", bits=23)
    )
    assert_problem(response, 403, "mailbox_access_denied")


def test_appointment_of_a_shared_calendar(backend: BackendHandle, emulator: EmulatorHandle):
    event = emulator.items("adele@contoso.com", "calendar")[0]
    response = backend.context(
        emulator.sso("nestor@contoso.com"),
        shared_body(event["id"], "adele@contoso.com", bits=63, itemType="appointment"),
    )
    assert response.status_code == 200, response.text
    item = response.json()["item"]
    assert item["type"] == "appointment"
    assert item["subject"] == event["subject"]
    assert item["organizer"]["address"] == "adele@contoso.com"


def test_unknown_item_is_item_not_found(backend: BackendHandle, emulator: EmulatorHandle):
    item = emulator.items("support@contoso.com")[0]
    gone = item["id"][:-8] + ("A" * 8 if not item["id"].endswith("AAAAAAAA") else "B" * 8)
    response = backend.context(
        emulator.sso("lee@contoso.com"), shared_body(gone, "support@contoso.com")
    )
    assert_problem(response, 404, "item_not_found")


def test_item_of_another_mailbox_is_item_not_found(
    backend: BackendHandle, emulator: EmulatorHandle
):
    sales_item = emulator.items("sales@contoso.com")[0]
    response = backend.context(
        emulator.sso("lee@contoso.com"), shared_body(sales_item["id"], "support@contoso.com")
    )
    assert_problem(response, 404, "item_not_found")


def test_unknown_mailbox_is_mailbox_not_found(backend: BackendHandle, emulator: EmulatorHandle):
    item = emulator.items("support@contoso.com")[0]
    response = backend.context(
        emulator.sso("lee@contoso.com"), shared_body(item["id"], "supprot@contoso.com")
    )
    assert_problem(response, 404, "mailbox_not_found")


def test_ews_form_id_is_refused_with_the_fix(backend: BackendHandle, emulator: EmulatorHandle):
    item = next(
        i for i in emulator.items("support@contoso.com") if "-" in i["id"] or "_" in i["id"]
    )
    response = backend.context(
        emulator.sso("lee@contoso.com"), shared_body(ews_id(item["id"]), "support@contoso.com")
    )
    body = assert_problem(response, 400, "invalid_request")
    assert body["field"] == "itemId"
    assert "convertToRestId" in body["detail"]


def _valid() -> dict[str, Any]:
    return shared_body("AAMkADQxNmU5OWIwLWUxM2UtNDEzZS1iZGFhLWVh", "support@contoso.com")


def _with(path: str, value: Any) -> dict[str, Any]:
    body = _valid()
    target = body
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return body


_DELETE = object()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], None),
        ("text", None),
        (_with("itemId", _DELETE), "itemId"),
        (_with("itemId", 42), "itemId"),
        (_with("itemId", "short"), "itemId"),
        (_with("itemId", "A" * 600), "itemId"),
        (_with("itemId", "AAMk/../../users/x/messages"), "itemId"),
        (_with("itemId", "AAMkADQxNmU5OWIwLW%2F..%2Fx"), "itemId"),
        (_with("itemType", "task"), "itemType"),
        (_with("shared", "support@contoso.com"), "shared"),
        (_with("shared.targetMailbox", "support@contoso.com/messages"), "shared.targetMailbox"),
        (_with("shared.targetMailbox", "../me"), "shared.targetMailbox"),
        (_with("shared.targetMailbox", None), "shared.targetMailbox"),
        (_with("shared.delegatePermissions", 64), "shared.delegatePermissions"),
        (_with("shared.delegatePermissions", -1), "shared.delegatePermissions"),
        (_with("shared.delegatePermissions", "63"), "shared.delegatePermissions"),
        (_with("shared.delegatePermissions", True), "shared.delegatePermissions"),
        (_with("shared.targetRestUrl", _DELETE), "shared.targetRestUrl"),
        (_with("shared.owner", 7), "shared.owner"),
    ],
)
def test_malformed_bodies_are_invalid_request(
    backend: BackendHandle, emulator: EmulatorHandle, body: Any, field: str | None
):
    before = counters(emulator)
    token = emulator.sso("lee@contoso.com")
    response = backend.http.post(
        f"{backend.url}/api/items/context", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    problem = assert_problem(response, 400, "invalid_request")
    assert problem.get("field") == field
    after = counters(emulator)
    assert after["graphRequests"] == before["graphRequests"]
    assert after["tokenRequests"] == before["tokenRequests"]


def test_non_json_body_is_unsupported_media_type(backend: BackendHandle, emulator: EmulatorHandle):
    response = backend.http.post(
        f"{backend.url}/api/items/context",
        data="itemId=x",
        headers={
            "Authorization": f"Bearer {emulator.sso('lee@contoso.com')}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert_problem(response, 415, "unsupported_media_type")


def test_oversized_body_is_refused(backend: BackendHandle, emulator: EmulatorHandle):
    token = emulator.sso("lee@contoso.com")
    response = backend.http.post(
        f"{backend.url}/api/items/context",
        data="x" * (MAX_BODY + 1),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert_problem(response, 413, "request_entity_too_large")


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/items/context", 405, "method_not_allowed"),
        ("POST", "/api/nothing-here", 404, "not_found"),
    ],
)
def test_other_http_errors_are_problem_json(
    backend: BackendHandle, method: str, path: str, status: int, code: str
):
    response = backend.http.request(method, backend.url + path)
    assert_problem(response, status, code)


def test_health_readiness_and_manifest(backend: BackendHandle):
    assert backend.http.get(f"{backend.url}/healthz").json() == {"status": "ok"}
    assert backend.http.get(f"{backend.url}/readyz").json() == {"status": "ready"}
    manifest = backend.http.get(f"{backend.url}/manifest.xml")
    assert manifest.status_code == 200
    assert "<Id>6f1e9a3c-2b7d-4e58-9c41-0d3a5b8e7f26</Id>" in manifest.text
    assert "api://localhost:3000/6f1e9a3c-2b7d-4e58-9c41-0d3a5b8e7f26" in manifest.text


def test_task_pane_is_served_with_office_js_from_the_cdn(backend: BackendHandle):
    page = backend.http.get(f"{backend.url}/taskpane.html")
    assert page.status_code == 200
    assert "https://appsforoffice.microsoft.com/lib/1/hosted/office.js" in page.text
    assert "frame-ancestors" in page.headers["Content-Security-Policy"]
    assert backend.http.get(f"{backend.url}/simulator/office.js").status_code == 404
