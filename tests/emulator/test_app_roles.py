"""App roles in the emulated directory, held to Graph's rules: an application's appRoles
(application-update, the appRole resource), assignments through a service principal's
appRoleAssignedTo, and the `roles` they put in a person's Tandem token."""

from __future__ import annotations

from typing import Any

import jwt
import pytest

from tandem_mailbox.emulator import seed
from tests.support.graph import AdminGraph, graph_error
from tests.support.schema import complex_problems, problems
from tests.support.servers import EmulatorHandle

APP = "/applications(uniqueName='tandem-roles')"
ROLE_ID = "3f0d7c1e-8a44-4f7b-9b1e-2c6a5d7e9f10"
OTHER_ID = "5b2e8c4d-1f3a-4e6b-8d7c-9a0b1c2d3e4f"
ASSIGN = ["AppRoleAssignment.ReadWrite.All", "Application.Read.All"]


def role(role_id: str = ROLE_ID, value: str = "Reports.Read", **members: Any) -> dict[str, Any]:
    """An app role as a client sends it."""
    return {
        "id": role_id,
        "value": value,
        "displayName": value,
        "description": f"May {value}",
        "allowedMemberTypes": ["User"],
        "isEnabled": True,
        **members,
    }


@pytest.fixture
def graph(fresh_emulator: EmulatorHandle) -> AdminGraph:
    """An admin's Graph with Application.ReadWrite.All, and an application with one role."""
    call = AdminGraph(fresh_emulator, ["Application.ReadWrite.All"])
    made = call("PATCH", APP, {"displayName": "Roles"}, Prefer="create-if-missing")
    assert made.status_code == 201, made.text
    assert call("PATCH", APP, {"appRoles": [role()]}).status_code == 204
    return call


def test_an_application_keeps_graphs_app_role_members(graph: AdminGraph):
    (kept,) = graph("GET", APP).json()["appRoles"]
    assert complex_problems("appRole", kept) == []
    assert set(kept) == {
        "allowedMemberTypes", "description", "displayName", "id", "isEnabled", "origin", "value"
    }  # fmt: skip
    assert kept["origin"] == "Application"  # Graph's to set
    app_id = graph("GET", APP).json()["appId"]
    assert graph("POST", "/servicePrincipals", {"appId": app_id}).status_code == 201
    sp = graph("GET", f"/servicePrincipals(appId='{app_id}')").json()
    assert sp["appRoles"] == [kept]
    # A role added later shows on the service principal too.
    assert graph("PATCH", APP, {"appRoles": [kept, role(OTHER_ID, "Reports.Write")]}).ok
    sp = graph("GET", f"/servicePrincipals(appId='{app_id}')").json()
    assert [r["value"] for r in sp["appRoles"]] == ["Reports.Read", "Reports.Write"]


@pytest.mark.parametrize(
    ("roles", "code"),
    [
        ([], "CannotDeleteOrUpdateEnabledEntitlement"),  # the enabled role deleted
        ([role(OTHER_ID)], "CannotDeleteOrUpdateEnabledEntitlement"),  # replaced by another id
        ([role(value="Reports.All")], "CannotDeleteOrUpdateEnabledEntitlement"),
        ([role(value="Reports.All", isEnabled=False)], "CannotDeleteOrUpdateEnabledEntitlement"),
        ([role(), role(OTHER_ID)], "DuplicateValue"),  # two roles of one value
        ([role(), role(value="X")], "DuplicateValue"),  # two roles of one id
        ([role(), role(OTHER_ID, "X", allowedMemberTypes=[])], "Request_BadRequest"),
        ([role(), role(OTHER_ID, "X", allowedMemberTypes=["Robot"])], "Request_BadRequest"),
        ([role(), role("not-a-guid", "X")], "Request_BadRequest"),
        ([role(), role(OTHER_ID, "X Y")], "Request_BadRequest"),  # no space in a value
        ([role(), role(OTHER_ID, "X", surprise=1)], "Request_BadRequest"),
        ("Reports.Read", "Request_BadRequest"),
    ],
)
def test_graphs_rules_for_app_roles(graph: AdminGraph, roles: Any, code: str):
    before = graph("GET", APP).json()
    graph_error(graph("PATCH", APP, {"appRoles": roles}), 400, code)
    assert graph("GET", APP).json() == before  # nothing half-applied


def test_an_enabled_role_is_deleted_once_disabled(graph: AdminGraph):
    graph_error(
        graph("PATCH", APP, {"appRoles": []}), 400, "CannotDeleteOrUpdateEnabledEntitlement"
    )
    assert graph("PATCH", APP, {"appRoles": [role(isEnabled=False)]}).status_code == 204
    assert graph("GET", APP).json()["appRoles"][0]["isEnabled"] is False
    assert graph("PATCH", APP, {"appRoles": []}).status_code == 204
    assert graph("GET", APP).json()["appRoles"] == []


# -- assignments ---------------------------------------------------------------------------


def tandem_sp(graph: AdminGraph) -> dict[str, Any]:
    """Tandem's own service principal in the home tenant, read through Graph."""
    answer = graph("GET", f"/servicePrincipals(appId='{seed.CLIENT_ID}')")
    assert answer.status_code == 200, answer.text
    return answer.json()


def admin_role_id(sp: dict[str, Any]) -> str:
    """The id of the role Tandem.Admin on the service principal."""
    return next(r["id"] for r in sp["appRoles"] if r["value"] == "Tandem.Admin")


def seeded(emulator: EmulatorHandle) -> tuple[str, str]:
    """Tandem's service principal id and its Tandem.Admin role id, from the directory."""
    state = emulator.http.get(f"{emulator.url}/_emulator/directory").json()
    sp = next(s for s in state["servicePrincipals"] if s["appId"] == seed.CLIENT_ID)
    return sp["id"], admin_role_id(sp)


def oid(emulator: EmulatorHandle, upn: str) -> str:
    """A seeded person's object id."""
    person = emulator.emulator.exchange.person(upn)
    assert person is not None
    return person.oid


def roles_in_token(emulator: EmulatorHandle, user: str) -> Any:
    """The `roles` of the person's next SSO token for Tandem."""
    claims = jwt.decode(emulator.sso(user), options={"verify_signature": False})
    return claims.get("roles")


def test_the_seeded_administrator_is_an_assignment(fresh_emulator: EmulatorHandle):
    graph = AdminGraph(fresh_emulator, ["Application.Read.All"])
    sp = tandem_sp(graph)
    listed = graph("GET", f"/servicePrincipals/{sp['id']}/appRoleAssignedTo").json()
    (adele,) = listed["value"]
    assert problems("appRoleAssignment", adele) == []
    assert adele["principalDisplayName"] == "Adele Vance"
    assert adele["appRoleId"] == admin_role_id(sp)
    assert adele["resourceId"] == sp["id"] and adele["principalType"] == "User"
    assert roles_in_token(fresh_emulator, "adele@contoso.com") == ["Tandem.Admin"]


def test_an_assignment_puts_the_role_in_the_persons_next_token(fresh_emulator: EmulatorHandle):
    graph = AdminGraph(fresh_emulator, ASSIGN)
    sp = tandem_sp(graph)
    assert roles_in_token(fresh_emulator, "lee@contoso.com") is None
    lee = oid(fresh_emulator, "lee@contoso.com")
    body = {"principalId": lee, "resourceId": sp["id"], "appRoleId": admin_role_id(sp)}
    made = graph("POST", f"/servicePrincipals/{sp['id']}/appRoleAssignedTo", body)
    assert made.status_code == 201, made.text
    assignment = made.json()
    assert problems("appRoleAssignment", assignment) == []
    assert assignment["@odata.context"].endswith(
        f"servicePrincipals('{sp['id']}')/appRoleAssignedTo/$entity"
    )
    assert {k: assignment[k] for k in body} == body
    assert assignment["principalDisplayName"] == "Lee Gu"
    assert roles_in_token(fresh_emulator, "lee@contoso.com") == ["Tandem.Admin"]
    assert roles_in_token(fresh_emulator, "sam@contoso.com") is None
    by_app_id = graph("GET", f"/servicePrincipals(appId='{seed.CLIENT_ID}')/appRoleAssignedTo")
    assert {a["principalDisplayName"] for a in by_app_id.json()["value"]} == {
        "Adele Vance",
        "Lee Gu",
    }
    again = graph("POST", f"/servicePrincipals/{sp['id']}/appRoleAssignedTo", body)
    assert graph_error(again, 400, "Request_BadRequest")["message"] == (
        "Permission being assigned already exists on the object."
    )


def test_a_disabled_role_is_in_no_token(fresh_emulator: EmulatorHandle):
    graph = AdminGraph(fresh_emulator, [*ASSIGN, "Application.ReadWrite.All"])
    sp_id, role_id = seeded(fresh_emulator)
    body = {"principalId": oid(fresh_emulator, "lee@contoso.com"), "resourceId": sp_id}
    assert graph(
        "POST", f"/servicePrincipals/{sp_id}/appRoleAssignedTo", {**body, "appRoleId": role_id}
    ).ok
    assert roles_in_token(fresh_emulator, "lee@contoso.com") == ["Tandem.Admin"]
    app = graph("GET", f"/applications(appId='{seed.CLIENT_ID}')").json()
    disabled = [dict(r, isEnabled=False) for r in app["appRoles"]]
    assert graph("PATCH", f"/applications/{app['id']}", {"appRoles": disabled}).ok
    assert roles_in_token(fresh_emulator, "lee@contoso.com") is None


@pytest.mark.parametrize(
    ("scopes", "change", "status", "code"),
    [
        (["Application.ReadWrite.All"], {}, 403, "Authorization_RequestDenied"),
        (["AppRoleAssignment.ReadWrite.All"], {}, 403, "Authorization_RequestDenied"),
        (ASSIGN, {"appRoleId": OTHER_ID}, 400, "Request_BadRequest"),
        (ASSIGN, {"resourceId": OTHER_ID}, 400, "Request_BadRequest"),
        (ASSIGN, {"principalId": OTHER_ID}, 404, "Request_ResourceNotFound"),
        (ASSIGN, {"principalId": "not-a-guid"}, 400, "Request_BadRequest"),
        (ASSIGN, {"surprise": 1}, 400, "Request_BadRequest"),
    ],
)
def test_graphs_rules_for_an_assignment(
    fresh_emulator: EmulatorHandle,
    scopes: list[str],
    change: dict[str, Any],
    status: int,
    code: str,
):
    graph = AdminGraph(fresh_emulator, scopes)
    sp_id, role_id = seeded(fresh_emulator)
    lee = oid(fresh_emulator, "lee@contoso.com")
    body = {"principalId": lee, "resourceId": sp_id, "appRoleId": role_id, **change}
    answer = graph("POST", f"/servicePrincipals/{sp_id}/appRoleAssignedTo", body)
    error = graph_error(answer, status, code)
    if "appRoleId" in change:
        assert error["message"] == (
            f"Permission being assigned was not found on application '{seed.CLIENT_ID}'."
        )
    assert roles_in_token(fresh_emulator, "lee@contoso.com") is None
