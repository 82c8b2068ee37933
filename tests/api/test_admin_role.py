"""Tandem.Admin end to end: an administrator assigns the app role through Graph, and the
person's next SSO token lets them set a mailbox's first-response policy; before it, 403."""

from __future__ import annotations

from typing import Any

from tandem_mailbox.emulator import seed
from tests.support.api import shared_body
from tests.support.graph import AdminGraph
from tests.support.servers import BackendHandle, EmulatorHandle

SUPPORT = "support@contoso.com"
POLICY = {
    "firstResponseMinutes": 120,
    "businessHours": {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "17:00",
        "timeZone": "Europe/London",
    },
}


def _post(backend: BackendHandle, token: str, path: str, body: dict[str, Any]) -> Any:
    return backend.http.post(
        f"{backend.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def test_an_assigned_person_may_set_the_policy(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    made = fresh_emulator.http.post(
        f"{fresh_emulator.url}/_emulator/mailboxes/{SUPPORT}/conversations",
        json={
            "customer": {"name": "Customer", "address": "customer@adatum.com"},
            "subject": "A question",
            "steps": [{"who": "customer", "minutesAgo": 30, "text": "Hello?"}],
        },
    )
    made.raise_for_status()
    item = shared_body(made.json()["items"][0]["id"], SUPPORT)
    lee = fresh_emulator.sso("lee@contoso.com")
    assert backend.context(lee, item).status_code == 200  # a member of support@
    refused = _post(backend, lee, "/api/mailbox/policy/save", {**item, **POLICY})
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert _post(backend, lee, "/api/mailbox/policy", item).json()["canEdit"] is False

    # Adele, an administrator, assigns Lee the role on Tandem's enterprise app through Graph.
    graph = AdminGraph(fresh_emulator, ["AppRoleAssignment.ReadWrite.All", "Application.Read.All"])
    sp = graph("GET", f"/servicePrincipals(appId='{seed.CLIENT_ID}')").json()
    role_id = next(r["id"] for r in sp["appRoles"] if r["value"] == "Tandem.Admin")
    person = fresh_emulator.emulator.exchange.person("lee@contoso.com")
    assert person is not None
    assigned = graph(
        "POST",
        f"/servicePrincipals/{sp['id']}/appRoleAssignedTo",
        {"principalId": person.oid, "resourceId": sp["id"], "appRoleId": role_id},
    )
    assert assigned.status_code == 201, assigned.text

    # The token Lee already holds says what it said; the next one carries the role.
    assert _post(backend, lee, "/api/mailbox/policy/save", {**item, **POLICY}).status_code == 403
    lee = fresh_emulator.sso("lee@contoso.com")
    saved = _post(backend, lee, "/api/mailbox/policy/save", {**item, **POLICY})
    assert saved.status_code == 200, saved.text
    shown = _post(backend, lee, "/api/mailbox/policy", item).json()
    assert shown["canEdit"] is True
    assert shown["policy"]["firstResponseMinutes"] == 120
    # Sam, unassigned, is still refused.
    sam = fresh_emulator.sso("sam@contoso.com")
    assert backend.context(sam, item).status_code == 200
    assert _post(backend, sam, "/api/mailbox/policy/save", {**item, **POLICY}).status_code == 403
