"""The directory, emulated: the device-code sign-in an admin tool uses, and the Graph routes
that create and update an app registration (what `tandem register` calls).

Wire formats follow learn.microsoft.com: v2-oauth2-device-code (POST /<tenant>/oauth2/v2.0/
devicecode; polling the token endpoint with grant_type urn:ietf:params:oauth:grant-type:
device_code answers authorization_pending, authorization_declined, expired_token or
bad_verification_code until the person signs in), application-upsert (PATCH /applications
(uniqueName='…') with Prefer: create-if-missing: 201 with the new object, 204 for an update,
404 without the header), application-update, application-addpassword (the secretText is
returned once), serviceprincipal-post-serviceprincipals, serviceprincipal-post-approleassignedto
and serviceprincipal-list-approleassignedto, and Graph's directory errors
(Request_ResourceNotFound, Request_BadRequest, Authorization_RequestDenied).

An application's appRoles follow the appRole resource page: each needs a GUID id and at least
one allowedMemberTypes, values are unique (400 DuplicateValue), `origin` is Graph's to set, and
an enabled role can be neither removed nor changed until a first PATCH disables it (400
CannotDeleteOrUpdateEnabledEntitlement), as for the scopes. The service principal shows its
application's roles. The directory holds Tandem's own registration (the seeded app the token
endpoint serves) with the role Tandem.Admin, assigned to the people of seed.APP_ROLES; every
assignment on it is read into the `roles` of that person's next SSO token.

The token endpoint belongs to identity.py's blueprint; the device-code grant is answered
before it (a before_app_request hook on that one URL and grant), so the two stay apart.
Who signs in is decided through a control route, POST /_emulator/devicecode/approve, which
stands in for the person typing the code at the verification page. The emulator answers
`interval` 1 (Entra says 5) so that tests poll quickly.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from flask import Blueprint, Response, jsonify, request

from tandem_mailbox.emulator import seed, shapes
from tandem_mailbox.emulator.exchange import Exchange, Person
from tandem_mailbox.emulator.graph import GraphError
from tandem_mailbox.emulator.identity import AppRegistration
from tandem_mailbox.emulator.world import Emulator

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TOKEN_PATH = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Public clients that may start a device-code sign-in here: Microsoft Graph Command Line
# Tools (what `tandem register` uses by default) and Azure CLI.
PUBLIC_CLIENTS = {
    "14d82eec-204b-4c2f-b7e8-296a70dab67e": "Microsoft Graph Command Line Tools",
    "04b07795-8ddb-461a-bbee-02f9e1bf7b46": "Microsoft Azure CLI",
}
APPLICATION_READWRITE_ALL = "Application.ReadWrite.All"
# Microsoft Graph's delegated permissions as its service principal publishes them
# (oauth2PermissionScopes: the ids are Microsoft's, from the permissions reference).
GRAPH_SCOPES = {
    "openid": "37f7f235-527c-4136-accd-4a02d197296e",
    "profile": "14dad69e-099b-42c9-810b-d002981feec1",
    "offline_access": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
    "email": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
    "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
    "User.ReadBasic.All": "b340eb25-3456-403f-be2f-af7a0d370277",
    "Mail.Read": "570282fd-fa5c-430d-a7fd-fc8dc98a9dca",
    "Mail.ReadWrite": "024d486e-b451-40bb-833d-3e66d98c5c73",
    "Mail.Read.Shared": "7b9103a5-4610-446b-9670-80643382c1fa",
    "Mail.ReadWrite.Shared": "5df07973-7d5d-46ed-9847-1271055cbd51",
    "Mail.Send": "e383f46e-2787-4529-855e-0e479a3ffac0",
    "Mail.Send.Shared": "a367ab51-6b49-43bf-a716-a1fb06d2a174",
    "Calendars.Read": "465a38f9-76ea-45b9-9f34-9e8b0d4b0b42",
    "Calendars.ReadWrite": "1ec239c2-d7c9-4623-a91a-a9775856bb36",
    "Calendars.Read.Shared": "2b9c4092-424d-4249-948d-b43879977640",
    "Calendars.ReadWrite.Shared": "12466101-c9b8-439a-8589-dd09ee67e8e9",
    "MailboxSettings.Read": "87f447af-9fa4-4c32-9dfa-4a57a73d18ce",
    "Application.Read.All": "c79f8feb-a9db-4090-85f9-90d820caa0eb",
    APPLICATION_READWRITE_ALL: "bdfbf15f-ee85-4955-8675-146e8e5296b5",
    "AppRoleAssignment.ReadWrite.All": "84bccea3-f856-4a8a-967b-dbe0a3d53a64",
    "Directory.Read.All": "06da0dbc-49e2-44d2-8312-53f166ab848a",
}
# What lets a token read applications and service principals (application-get and
# serviceprincipal-list-approleassignedto, least to most privileged); assigning a role takes
# AppRoleAssignment.ReadWrite.All as well (serviceprincipal-post-approleassignedto).
READ_APPLICATIONS = {
    "Application.Read.All",
    "Directory.Read.All",
    APPLICATION_READWRITE_ALL,
    "Directory.ReadWrite.All",
}
APP_ROLE_ASSIGNMENT_READWRITE_ALL = "AppRoleAssignment.ReadWrite.All"
# What PATCH and POST may set on an application here (a subset of Graph's writable ones).
WRITABLE = {
    "displayName",
    "description",
    "signInAudience",
    "identifierUris",
    "api",
    "requiredResourceAccess",
    "spa",
    "web",
    "publicClient",
    "keyCredentials",
    "appRoles",
    "tags",
    "notes",
    "info",
}
AUDIENCES = {"AzureADMyOrg", "AzureADMultipleOrgs"}
URI_SCHEMES = ("api://", "https://", "urn:")
MEMBER_TYPES = {"User", "Application"}
# An app role's value: at most 120 of these characters, no space (the appRole resource page).
ROLE_VALUE = re.compile(r"[A-Za-z0-9!#$%&'()*+,\-./:;<=>?@\[\]^_`{|}~]{1,120}")
# appRoleId of the default access, for an assignment to the app without a role of its own.
DEFAULT_ACCESS = "00000000-0000-0000-0000-000000000000"
ENTITLEMENT_ENABLED = (
    "Permission (scope or role) cannot be deleted or updated unless disabled first."
)


@dataclass
class DeviceCode:
    """One device-code sign-in in progress."""

    device_code: str
    user_code: str
    client_id: str
    tenant: str
    scopes: list[str]
    expires_at: float
    user: str | None = None  # the person who signed in at the verification page
    declined: bool = False


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stable_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tandem-emulator/{name}"))


class Directory:
    """Applications, service principals and app role assignments of the home tenant, and
    device codes."""

    def __init__(self, *, exchange: Exchange, tandem: AppRegistration) -> None:
        self.lock = threading.Lock()
        self.exchange = exchange
        self.tandem_app_id = tandem.client_id
        self.applications: dict[str, dict[str, Any]] = {}
        self.service_principals: dict[str, dict[str, Any]] = {}
        self.assignments: dict[str, dict[str, Any]] = {}  # appRoleAssignments by id
        self.device_codes: dict[str, DeviceCode] = {}
        self._secrets: dict[str, str] = {}  # keyId -> SHA-256 of the secret text
        graph_sp: dict[str, Any] = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "tandem-emulator/graph-sp")),
            "appId": GRAPH_APP_ID,
            "displayName": "Microsoft Graph",
            "servicePrincipalType": "Application",
            "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
            "oauth2PermissionScopes": [
                {
                    "id": scope_id,
                    "value": name,
                    "type": "User" if name in ("openid", "profile", "User.Read") else "Admin",
                    "isEnabled": True,
                    "adminConsentDisplayName": name,
                    "adminConsentDescription": f"Allows the app the {name} permission.",
                }
                for name, scope_id in GRAPH_SCOPES.items()
            ],
        }
        self.service_principals[graph_sp["id"]] = graph_sp
        self._seed_tandem(tandem)

    def _seed_tandem(self, tandem: AppRegistration) -> None:
        """Tandem's own registration, its service principal in the home tenant (the object id
        its app-only tokens carry) and the seeded people's Tandem.Admin assignments."""
        role = {
            "id": _stable_id(seed.ADMIN_ROLE),
            "value": seed.ADMIN_ROLE,
            "displayName": "Tandem administrator",
            "description": "Sets a shared mailbox's first-response target in Tandem.",
            "allowedMemberTypes": ["User"],
            "isEnabled": True,
        }
        scope = {
            "id": _stable_id("access_as_user"),
            "value": "access_as_user",
            "type": "User",
            "isEnabled": True,
            "adminConsentDisplayName": "Use Tandem as the signed-in person",
            "adminConsentDescription": "Lets Office call Tandem's backend as the person.",
        }
        app = self._new_application(None)
        app.update(id=_stable_id("tandem-app"), appId=tandem.client_id)
        self.update_application(
            app,
            {
                "displayName": tandem.name,
                "signInAudience": "AzureADMultipleOrgs",
                "identifierUris": list(tandem.identifier_uris),
                "appRoles": [role],
            },
        )
        self.update_application(
            app, {"api": {"requestedAccessTokenVersion": 2, "oauth2PermissionScopes": [scope]}}
        )
        self.applications[app["id"]] = app
        sp = self.create_service_principal(
            tandem.client_id,
            object_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tandem.client_id}/{seed.CONTOSO}")),
        )
        for upn, roles in seed.APP_ROLES.items():
            person = self.exchange.person(upn)
            if person is not None and person.tenant_id == seed.CONTOSO and seed.ADMIN_ROLE in roles:
                self.assign(
                    sp, {"principalId": person.oid, "resourceId": sp["id"], "appRoleId": role["id"]}
                )

    def snapshot(self) -> dict[str, Any]:
        """Everything stored, for tests that compare the directory before and after."""
        with self.lock:
            return {
                "applications": sorted(
                    copy.deepcopy(list(self.applications.values())), key=lambda a: a["id"]
                ),
                "servicePrincipals": sorted(
                    copy.deepcopy(list(self.service_principals.values())), key=lambda s: s["id"]
                ),
                "appRoleAssignments": sorted(
                    copy.deepcopy(list(self.assignments.values())), key=lambda a: a["id"]
                ),
            }

    # -- lookups ---------------------------------------------------------------------------
    def find_application(self, key: str, value: str) -> dict[str, Any] | None:
        """The application whose `key` (id, appId or uniqueName) is `value`."""
        for app in self.applications.values():
            if str(app.get(key, "")).lower() == value.lower():
                return app
        return None

    def find_service_principal(self, app_id: str) -> dict[str, Any] | None:
        """The service principal of an app id."""
        for sp in self.service_principals.values():
            if sp["appId"].lower() == app_id.lower():
                return sp
        return None

    def roles_of(self, person: Person) -> list[str]:
        """The values of the enabled app roles assigned to the person on Tandem's service
        principal: what Entra puts in the `roles` of the person's tokens for Tandem."""
        with self.lock:
            sp = self.find_service_principal(self.tandem_app_id)
            if sp is None:
                return []
            enabled = {r["id"]: r["value"] for r in sp["appRoles"] if r["isEnabled"] and r["value"]}
            return sorted(
                {
                    enabled[a["appRoleId"]]
                    for a in self.assignments.values()
                    if a["resourceId"] == sp["id"]
                    and a["principalId"] == person.oid
                    and a["appRoleId"] in enabled
                }
            )

    # -- writes ----------------------------------------------------------------------------
    def create_application(self, body: dict[str, Any], unique_name: str | None) -> dict[str, Any]:
        """A new application object (Graph assigns id and appId)."""
        if not str(body.get("displayName", "")).strip():
            raise GraphError(
                400,
                "Request_BadRequest",
                "Invalid value specified for property 'displayName' of resource 'Application'.",
            )
        app = self._new_application(unique_name)
        self.update_application(app, body)
        self.applications[app["id"]] = app
        return app

    @staticmethod
    def _new_application(unique_name: str | None) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "appId": str(uuid.uuid4()),
            "uniqueName": unique_name,
            "createdDateTime": _now(),
            "displayName": "",
            "signInAudience": "AzureADMyOrg",
            "identifierUris": [],
            "api": {
                "requestedAccessTokenVersion": None,
                "oauth2PermissionScopes": [],
                "preAuthorizedApplications": [],
            },
            "requiredResourceAccess": [],
            "spa": {"redirectUris": []},
            "web": {"redirectUris": []},
            "publicClient": {"redirectUris": []},
            "keyCredentials": [],
            "passwordCredentials": [],
            "appRoles": [],
            "tags": [],
        }

    def update_application(self, app: dict[str, Any], body: dict[str, Any]) -> None:
        """Apply a PATCH body with Graph's rules; nothing is changed when one is broken."""
        if "passwordCredentials" in body:
            raise GraphError(
                400,
                "Request_BadRequest",
                "Updating passwordCredentials is not supported: use addPassword.",
            )
        unknown = [k for k in body if k not in WRITABLE]
        if unknown:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Property '{unknown[0]}' does not exist on type 'microsoft.graph.application'.",
            )
        updated = copy.deepcopy(app)
        for key, value in body.items():
            if isinstance(value, dict) and isinstance(updated.get(key), dict):
                updated[key].update(copy.deepcopy(value))
            elif key == "keyCredentials":
                updated[key] = [self._key_credential(c, app) for c in value]
            elif key == "appRoles":
                if not isinstance(value, list):
                    raise GraphError(400, "Request_BadRequest", "appRoles is a collection.")
                updated[key] = [_app_role(r) for r in value]
            else:
                updated[key] = copy.deepcopy(value)
        self._check(app, updated)
        app.clear()
        app.update(updated)
        sp = self.find_service_principal(app["appId"])
        if sp is not None:  # the service principal shows its application's roles and scopes
            sp["appRoles"] = copy.deepcopy(app["appRoles"])
            sp["oauth2PermissionScopes"] = copy.deepcopy(app["api"]["oauth2PermissionScopes"])

    def _check(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        if after.get("signInAudience") not in AUDIENCES:
            raise GraphError(400, "Request_BadRequest", "Invalid value for signInAudience.")
        for uri in after.get("identifierUris", []):
            if not str(uri).startswith(URI_SCHEMES):
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Values of identifierUris property must use a verified domain or the "
                    f"api:// scheme: {uri}",
                )
        api = after.get("api") or {}
        if api.get("requestedAccessTokenVersion") not in (None, 1, 2):
            raise GraphError(400, "Request_BadRequest", "requestedAccessTokenVersion is 1 or 2.")
        old_scopes = {
            s["id"]: s for s in (before.get("api") or {}).get("oauth2PermissionScopes", [])
        }
        new_scopes = {s.get("id"): s for s in api.get("oauth2PermissionScopes", [])}
        for scope_id, scope in old_scopes.items():
            # An enabled permission can be changed or removed only once disabled.
            changed = new_scopes.get(scope_id, {})
            if (
                scope.get("isEnabled")
                and changed != scope
                and changed.get("isEnabled") is not False
            ):
                raise GraphError(400, "CannotDeleteOrUpdateEnabledEntitlement", ENTITLEMENT_ENABLED)
        for scope in new_scopes.values():
            try:
                uuid.UUID(str(scope.get("id")))
            except ValueError:
                raise GraphError(400, "Request_BadRequest", "A scope id must be a GUID.") from None
            if not re.fullmatch(r"[A-Za-z0-9_.]{1,120}", str(scope.get("value", ""))):
                raise GraphError(400, "Request_BadRequest", "Invalid scope value.")
        self._check_roles(before.get("appRoles", []), after.get("appRoles", []))
        # Pre-authorized clients may name only permissions the app already exposes.
        stored = set(old_scopes)
        for entry in api.get("preAuthorizedApplications", []):
            for permission in entry.get("delegatedPermissionIds", []):
                if permission not in stored:
                    raise GraphError(
                        400,
                        "Request_BadRequest",
                        "Property preAuthorizedApplications references a permission that does "
                        "not exist on the application.",
                    )

    @staticmethod
    def _check_roles(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
        """Ids and values unique; an enabled role stays, with its value, until disabled."""
        ids = [r["id"] for r in after]
        values = [r["value"] for r in after if r["value"] is not None]
        if len(set(ids)) != len(ids) or len(set(values)) != len(values):
            raise GraphError(
                400, "DuplicateValue", "Request contains a property with duplicate values."
            )
        now = {r["id"]: r for r in after}
        for role in before:
            # PATCH replaces the collection: a stored role left out is a role deleted.
            kept = now.get(role["id"])
            if role["isEnabled"] and (kept is None or kept["value"] != role["value"]):
                raise GraphError(400, "CannotDeleteOrUpdateEnabledEntitlement", ENTITLEMENT_ENABLED)

    def _key_credential(self, credential: dict[str, Any], app: dict[str, Any]) -> dict[str, Any]:
        """A certificate credential as Graph keeps it (its key must be a DER certificate)."""
        key = credential.get("key")
        if key is None:  # an existing credential sent back as Graph listed it
            for existing in app.get("keyCredentials", []):
                if existing["keyId"] == credential.get("keyId"):
                    return existing
            raise GraphError(400, "Request_BadRequest", "keyCredentials need their key.")
        try:
            cert = x509.load_der_x509_certificate(base64.b64decode(key))
        except ValueError:
            raise GraphError(
                400, "Request_BadRequest", "Key credential's key is not a certificate."
            ) from None
        thumbprint = cert.fingerprint(hashes.SHA1())  # noqa: S303 - Graph's customKeyIdentifier
        return {
            "keyId": credential.get("keyId") or str(uuid.uuid4()),
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "displayName": credential.get("displayName") or cert.subject.rfc4514_string(),
            "customKeyIdentifier": base64.b16encode(thumbprint).decode(),
            "startDateTime": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "key": key,
        }

    def add_password(self, app: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """A new client secret: its text is answered this once and never stored."""
        wanted = body.get("passwordCredential") or {}
        text = secrets.token_urlsafe(30)
        credential: dict[str, Any] = {
            "keyId": str(uuid.uuid4()),
            "displayName": wanted.get("displayName"),
            "hint": text[:3],
            "startDateTime": _now(),
            "endDateTime": wanted.get("endDateTime")
            or (dt.datetime.now(dt.UTC) + dt.timedelta(days=730)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "customKeyIdentifier": None,
            "secretText": None,
        }
        app["passwordCredentials"].append(credential)
        self._secrets[credential["keyId"]] = hashlib.sha256(text.encode()).hexdigest()
        return dict(credential, secretText=text)

    def create_service_principal(
        self, app_id: str, *, object_id: str | None = None
    ) -> dict[str, Any]:
        """The service principal of an application of this tenant."""
        app = self.find_application("appId", app_id)
        if app is None:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"The appId '{app_id}' of the service principal does not reference a valid "
                "application object.",
            )
        if self.find_service_principal(app_id) is not None:
            raise GraphError(
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                "The service principal name is already present for the tenant.",
            )
        sp = {
            "id": object_id or str(uuid.uuid4()),
            "appId": app_id,
            "displayName": app["displayName"],
            "servicePrincipalType": "Application",
            "appOwnerOrganizationId": seed.CONTOSO,
            "appRoles": copy.deepcopy(app["appRoles"]),
            "oauth2PermissionScopes": copy.deepcopy(app["api"]["oauth2PermissionScopes"]),
        }
        self.service_principals[sp["id"]] = sp
        return sp

    def assign(self, sp: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """A new appRoleAssignment of a person of the tenant to a role of the service
        principal, with Graph's rules (serviceprincipal-post-approleassignedto)."""
        members = shapes.properties("appRoleAssignment")
        unknown = [k for k in body if k not in members and not k.startswith("@odata.")]
        if unknown:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Property '{unknown[0]}' does not exist on type "
                "'microsoft.graph.appRoleAssignment'.",
            )
        wanted = {}
        for name in ("principalId", "resourceId", "appRoleId"):
            try:
                wanted[name] = str(uuid.UUID(str(body.get(name))))
            except ValueError:
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    f"Invalid value specified for property '{name}' of resource "
                    "'AppRoleAssignment'.",
                ) from None
        if wanted["resourceId"] != sp["id"]:
            # Emulator's choice of words: the body names the service principal it is posted to.
            raise GraphError(
                400,
                "Request_BadRequest",
                "The resourceId must be the id of the service principal the assignment is "
                "posted to.",
            )
        person = self.exchange.person(wanted["principalId"])
        if person is None or person.tenant_id != seed.CONTOSO:
            raise GraphError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{wanted['principalId']}' does not exist or one of its queried "
                "reference-property objects are not present.",
            )
        # A role the app defines for users, enabled (or the default access).
        role = next((r for r in sp["appRoles"] if r["id"] == wanted["appRoleId"]), None)
        if wanted["appRoleId"] != DEFAULT_ACCESS and (
            role is None or not role["isEnabled"] or "User" not in role["allowedMemberTypes"]
        ):
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Permission being assigned was not found on application '{sp['appId']}'.",
            )
        for existing in self.assignments.values():
            if all(existing[k] == v for k, v in wanted.items()):
                raise GraphError(
                    400,
                    "Request_BadRequest",
                    "Permission being assigned already exists on the object.",
                )
        # Graph's assignment id: the principal's GUID bytes, then 16 more, base64url.
        key = uuid.UUID(person.oid).bytes_le + uuid.uuid4().bytes
        stored = {
            name: shapes.unset("appRoleAssignment", name)
            for name in shapes.default_members("appRoleAssignment")
        }
        stored.update(
            wanted,
            id=base64.urlsafe_b64encode(key).decode().rstrip("="),
            createdDateTime=_now(),
            principalDisplayName=person.name,
            principalType="User",
            resourceDisplayName=sp["displayName"],
        )
        self.assignments[stored["id"]] = stored
        return stored

    def assigned_to(self, sp: dict[str, Any]) -> list[dict[str, Any]]:
        """The assignments to the service principal's roles, oldest first."""
        return [a for a in self.assignments.values() if a["resourceId"] == sp["id"]]


def _app_role(role: Any) -> dict[str, Any]:
    """An appRole as Graph stores it: exactly graph.appRole's members, checked."""
    members = shapes.properties("appRole")
    if not isinstance(role, dict):
        raise GraphError(400, "Request_BadRequest", "An app role is an object.")
    unknown = [k for k in role if k not in members and not k.startswith("@odata.")]
    if unknown:
        raise GraphError(
            400,
            "Request_BadRequest",
            f"Property '{unknown[0]}' does not exist on type 'microsoft.graph.appRole'.",
        )
    shaped = {
        name: copy.deepcopy(role.get(name, shapes.unset("appRole", name))) for name in members
    }
    try:
        shaped["id"] = str(uuid.UUID(str(role.get("id"))))
    except ValueError:
        raise GraphError(400, "Request_BadRequest", "An app role id must be a GUID.") from None
    shaped["isEnabled"] = role.get("isEnabled", True)  # true unless said otherwise
    shaped["origin"] = "Application"  # read-only: Graph says where the role is defined
    types = shaped["allowedMemberTypes"]
    if not types:
        raise GraphError(
            400,
            "Request_BadRequest",
            f"App role with identifier '{shaped['id']}' must have at least one value specified "
            "for 'allowedMemberTypes'.",
        )
    value = shaped["value"]
    if (
        not isinstance(types, list)
        or not all(isinstance(t, str) and t in MEMBER_TYPES for t in types)
        or not isinstance(shaped["isEnabled"], bool)
        or not (value is None or (isinstance(value, str) and ROLE_VALUE.fullmatch(value)))
        or not all(isinstance(shaped[t], str | None) for t in ("displayName", "description"))
    ):
        raise GraphError(
            400,
            "Request_BadRequest",
            f"Invalid value specified for a property of app role '{shaped['id']}'.",
        )
    return shaped


def _visible(app: dict[str, Any], *, with_keys: bool) -> dict[str, Any]:
    """An application as Graph answers it: no secret text, and certificate keys only when
    asked for with $select on a single object (application-get)."""
    shown = copy.deepcopy(app)
    if not with_keys:
        for credential in shown.get("keyCredentials", []):
            credential["key"] = None
    return shown


def _selected(obj: dict[str, Any], select: str | None) -> dict[str, Any]:
    if not select:
        return obj
    names = {s.strip() for s in select.split(",") if s.strip()}
    return {k: v for k, v in obj.items() if k in names or k == "id"}


def blueprint(emulator: Emulator) -> Blueprint:
    """The device-code endpoints, the app-registration Graph routes and their control routes."""
    entra, graph = emulator.entra, emulator.graph
    directory = Directory(exchange=emulator.exchange, tandem=entra.app)
    emulator.directory = directory
    entra.assigned_roles = directory.roles_of  # the `roles` of Tandem's tokens
    bp = Blueprint("directory", __name__)

    def entra_error(status: int, error: str, code: int, message: str) -> Response:
        trace, stamp = str(uuid.uuid4()), dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        correlation = request.headers.get("client-request-id") or str(uuid.uuid4())
        response = jsonify(
            {
                "error": error,
                "error_description": f"AADSTS{code}: {message}\r\nTrace ID: {trace}\r\n"
                f"Correlation ID: {correlation}\r\nTimestamp: {stamp}",
                "error_codes": [code],
                "timestamp": stamp,
                "trace_id": trace,
                "correlation_id": correlation,
                "error_uri": f"{entra.base_url}/error?code={code}",
            }
        )
        response.status_code = status
        return response

    @bp.post("/<tenant>/oauth2/v2.0/devicecode")
    def devicecode(tenant: str) -> Response:
        client_id = request.form.get("client_id", "")
        tid = entra.tenant(tenant)
        if tid is None and tenant.lower() not in ("organizations", "common"):
            return entra_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if client_id not in PUBLIC_CLIENTS:
            return entra_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory.",
            )
        user_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
        flow = DeviceCode(
            device_code="DAQABAAEAAAD" + secrets.token_urlsafe(48),
            user_code=user_code,
            client_id=client_id,
            tenant=tid or tenant.lower(),
            scopes=request.form.get("scope", "").split(),
            expires_at=time.time() + 900,
        )
        with directory.lock:
            directory.device_codes[flow.device_code] = flow
        verification = f"{entra.base_url}/devicelogin"
        return jsonify(
            {
                "user_code": user_code,
                "device_code": flow.device_code,
                "verification_uri": verification,
                "expires_in": 900,
                "interval": 1,
                "message": f"To sign in, use a web browser to open the page {verification} and "
                f"enter the code {user_code} to authenticate.",
            }
        )

    @bp.get("/devicelogin")
    def devicelogin() -> Response:
        return Response(
            "Emulated device sign-in: POST /_emulator/devicecode/approve with "
            '{"userCode": "...", "user": "<upn>"} signs a seeded person in.',
            mimetype="text/plain",
        )

    @bp.before_app_request
    def device_code_grant() -> Response | None:
        """The token endpoint's device_code grant (every other grant goes on to identity.py)."""
        match = TOKEN_PATH.match(request.path)
        if request.method != "POST" or match is None:
            return None
        if request.form.get("grant_type") != DEVICE_CODE_GRANT:
            return None
        with directory.lock:
            flow = directory.device_codes.get(request.form.get("device_code", ""))
        if flow is None or flow.client_id != request.form.get("client_id"):
            return entra_error(
                400, "bad_verification_code", 70000, "The device code was not recognized."
            )
        if time.time() > flow.expires_at:
            return entra_error(
                400,
                "expired_token",
                70020,
                "The provided authorization code or refresh token has expired due to inactivity.",
            )
        if flow.declined:
            return entra_error(
                400, "authorization_declined", 70000, "The user declined to authorize."
            )
        if flow.user is None:
            return entra_error(
                400,
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )
        with directory.lock:
            directory.device_codes.pop(flow.device_code, None)  # one use
        person = emulator.exchange.person(flow.user)
        assert person is not None
        return _tokens(flow, person)

    def _tokens(flow: DeviceCode, person: Any) -> Response:
        now = int(time.time())
        resource_scopes = [s for s in flow.scopes if "://" in s or s in GRAPH_SCOPES]
        names = sorted(
            {s.rsplit("/", 1)[-1] for s in resource_scopes}
            - {"openid", "profile", "offline_access"}
        )
        tid = person.tenant_id
        access = entra.sign(
            {
                "aud": "https://graph.microsoft.com",
                "iss": entra.v1_issuer(tid),
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "appid": flow.client_id,
                "app_displayname": PUBLIC_CLIENTS[flow.client_id],
                "idtyp": "user",
                "name": person.name,
                "oid": person.oid,
                "scp": " ".join(names),
                "tid": tid,
                "upn": person.upn,
                "unique_name": person.upn,
                "ver": "1.0",
            }
        )
        id_token = entra.sign(
            {
                "aud": flow.client_id,
                "iss": entra.v2_issuer(tid),
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "name": person.name,
                "oid": person.oid,
                "preferred_username": person.upn,
                "sub": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
                "tid": tid,
                "ver": "2.0",
            }
        )
        info = json.dumps({"uid": person.oid, "utid": tid}).encode()
        return jsonify(
            {
                "token_type": "Bearer",
                "scope": " ".join(
                    [f"https://graph.microsoft.com/{n}" for n in names]
                    + [s for s in flow.scopes if s in ("openid", "profile", "offline_access")]
                ),
                "expires_in": 3600,
                "ext_expires_in": 3600,
                "access_token": access,
                "refresh_token": "0.A" + secrets.token_urlsafe(48),
                "id_token": id_token,
                "client_info": base64.urlsafe_b64encode(info).decode().rstrip("="),
            }
        )

    # -- Graph: applications and service principals -----------------------------------------
    def may(needed: set[str], *also: set[str]) -> None:
        """403 unless the token holds one scope of `needed` and one of each of `also`."""
        _, scopes = graph.caller()
        if not all(scopes & group for group in (needed, *also)):
            raise GraphError(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )

    def admin() -> None:
        """403 unless the caller's Graph token may manage app registrations."""
        may({APPLICATION_READWRITE_ALL})

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise GraphError(400, "Request_BadRequest", "The request body must be a JSON object.")
        return data

    def not_found(what: str) -> GraphError:
        return GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{what}' does not exist or one of its "
            "queried reference-property objects are not present.",
        )

    def handle(work: Any) -> Response:
        try:
            return work()
        except GraphError as error:
            return graph.answer(error)

    def application(key: str, value: str) -> dict[str, Any]:
        app = directory.find_application(key, value)
        if app is None:
            raise not_found(value)
        return app

    def one(app: dict[str, Any]) -> Response:
        select = request.args.get("$select")
        with_keys = select is not None and "keyCredentials" in select
        return jsonify(
            {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications/$entity",
                **_selected(_visible(app, with_keys=with_keys), select),
            }
        )

    @bp.get("/v1.0/applications")
    def list_applications() -> Response:
        def work() -> Response:
            may(READ_APPLICATIONS)
            found = list(directory.applications.values())
            expression = request.args.get("$filter")
            if expression:
                match = re.fullmatch(
                    r"\s*(appId|uniqueName|displayName)\s+eq\s+'([^']*)'\s*", expression
                )
                if match is None:
                    raise GraphError(400, "Request_UnsupportedQuery", "Unsupported query.")
                found = [a for a in found if str(a.get(match[1], "")).lower() == match[2].lower()]
            return jsonify(
                {
                    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications",
                    "value": [
                        _selected(_visible(a, with_keys=False), request.args.get("$select"))
                        for a in found
                    ],
                }
            )

        return handle(work)

    @bp.post("/v1.0/applications")
    def create_application() -> Response:
        def work() -> Response:
            admin()
            with directory.lock:
                app = directory.create_application(body(), None)
                response = one(app)
            response.status_code = 201
            return response

        return handle(work)

    def addressed(key: str, value: str, method: str) -> Response:
        def work() -> Response:
            if method == "GET":
                may(READ_APPLICATIONS)
            else:
                admin()
            with directory.lock:
                if method == "GET":
                    return one(application(key, value))
                app = directory.find_application(key, value)
                if app is None:
                    create = "create-if-missing" in request.headers.get("Prefer", "")
                    if key != "uniqueName" or not create:
                        raise not_found(value)
                    response = one(directory.create_application(body(), value))
                    response.status_code = 201
                    return response
                directory.update_application(app, body())
                return Response(status=204)

        return handle(work)

    for key, rule in (
        ("id", "/v1.0/applications/<value>"),
        ("appId", "/v1.0/applications(appId='<value>')"),
        ("uniqueName", "/v1.0/applications(uniqueName='<value>')"),
    ):

        def view(value: str, key: str = key) -> Response:
            return addressed(key, value, request.method)

        bp.add_url_rule(rule, f"application_by_{key}", view, methods=["GET", "PATCH"])

        def add_password(value: str, key: str = key) -> Response:
            def work() -> Response:
                admin()
                with directory.lock:
                    return jsonify(directory.add_password(application(key, value), body()))

            return handle(work)

        bp.add_url_rule(
            rule + "/addPassword", f"add_password_by_{key}", add_password, methods=["POST"]
        )

    @bp.get("/v1.0/servicePrincipals(appId='<app_id>')")
    def service_principal(app_id: str) -> Response:
        def work() -> Response:
            may(READ_APPLICATIONS)
            with directory.lock:
                sp = directory.find_service_principal(app_id)
                if sp is None:
                    raise not_found(app_id)
                return jsonify(_selected(copy.deepcopy(sp), request.args.get("$select")))

        return handle(work)

    def app_role_assigned_to(key: str, value: str) -> Response:
        def work() -> Response:
            if request.method == "POST":
                may({APP_ROLE_ASSIGNMENT_READWRITE_ALL}, READ_APPLICATIONS)
            else:
                may(READ_APPLICATIONS)
            with directory.lock:
                if key == "id":
                    sp = directory.service_principals.get(value.lower())
                else:
                    sp = directory.find_service_principal(value)
                if sp is None:
                    raise not_found(value)
                context = (
                    "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals"
                    f"('{sp['id']}')/appRoleAssignedTo"
                )
                if request.method == "GET":
                    listed = copy.deepcopy(directory.assigned_to(sp))
                    return jsonify({"@odata.context": context, "value": listed})
                made = copy.deepcopy(directory.assign(sp, body()))
            response = jsonify({"@odata.context": context + "/$entity", **made})
            response.status_code = 201
            return response

        return handle(work)

    for key, rule in (
        ("id", "/v1.0/servicePrincipals/<value>/appRoleAssignedTo"),
        ("appId", "/v1.0/servicePrincipals(appId='<value>')/appRoleAssignedTo"),
    ):

        def assignments(value: str, key: str = key) -> Response:
            return app_role_assigned_to(key, value)

        bp.add_url_rule(
            rule, f"app_role_assigned_to_by_{key}", assignments, methods=["GET", "POST"]
        )

    @bp.post("/v1.0/servicePrincipals")
    def create_service_principal() -> Response:
        def work() -> Response:
            admin()
            with directory.lock:
                sp = directory.create_service_principal(str(body().get("appId", "")))
            response = jsonify(copy.deepcopy(sp))
            response.status_code = 201
            return response

        return handle(work)

    @bp.get("/v1.0/organization")
    def organization() -> Response:
        def work() -> Response:
            person, _ = graph.caller()
            info = seed.TENANTS[person.tenant_id]
            return jsonify(
                {
                    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#organization",
                    "value": [
                        {
                            "id": person.tenant_id,
                            "displayName": info["displayName"],
                            "verifiedDomains": [{"name": info["domain"], "isDefault": True}],
                        }
                    ],
                }
            )

        return handle(work)

    # -- control routes ------------------------------------------------------------------------
    @bp.post("/_emulator/devicecode/approve")
    def approve() -> Response:
        data = request.get_json(silent=True) or {}
        code = str(data.get("userCode", "")).upper()
        with directory.lock:
            flow = next((f for f in directory.device_codes.values() if f.user_code == code), None)
            if flow is None:
                response = jsonify({"error": "no sign-in waits for that code"})
                response.status_code = 404
                return response
            if data.get("decline"):
                flow.declined = True
                return jsonify({"declined": True})
            person = emulator.exchange.person(str(data.get("user", "")))
            if person is None or (
                flow.tenant not in ("organizations", "common") and person.tenant_id != flow.tenant
            ):
                response = jsonify({"error": "unknown user for that tenant; see /_emulator/world"})
                response.status_code = 400
                return response
            flow.user = person.upn
        return jsonify({"approved": True, "user": person.upn})

    @bp.get("/_emulator/directory")
    def snapshot() -> Response:
        return jsonify(directory.snapshot())

    return bp
