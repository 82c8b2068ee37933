"""The add-in's two manifests, rendered from templates for one deployment and checked.

Both ship: the XML manifest (add-in only) works in every Outlook; the unified manifest for
Microsoft 365 (JSON, sideloaded as an app package zip) is not supported by Outlook on Mac,
on mobile or by perpetual-licence Windows (learn.microsoft.com/office/dev/add-ins/develop/
unified-manifest-overview, "Client and platform support").

Every check has a rule id; a problem names its rule in brackets, so a failing check says
which rule broke (`tandem manifest`, `tandem doctor` and the tests rely on it). The rules
follow Outlook's documented requirements: element order (manifest-element-ordering),
SupportsSharedFolders only in the V1_1 overrides and first in DesktopFormFactor
(supportssharedfolders), WebApplicationInfo after Resources (webapplicationinfo), and for
the unified manifest Mailbox.ReadWrite.User and Mailbox.SharedFolder (understanding-outlook-
add-in-permissions, delegate-access). The compose surface and Smart Alerts' OnMessageSend
follow smart-alerts-onmessagesend-walkthrough: a LaunchEvent (XML) or an autoRunEvents entry
(unified) naming the handler, with SendMode PromptUser, and its runtime: a page for Outlook
on the web, the new Outlook and Mac, and the script alone for classic Outlook on Windows.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tandem_mailbox.config import GUID

ADDIN_ID = "3c1f7a52-9b6e-4d0a-8f27-5e4b1c9d2a63"
VERSION = "1.0.0.0"  # the XML manifest's four-part version
APP_VERSION = "1.0.0"  # the unified manifest's n.n.n
NAME = "Tandem"
DESCRIPTION = "Work in shared mailboxes and delegate folders as yourself."
TOOLTIP = "Work on this item as yourself, in its shared mailbox or delegate folder."
# The newest numbered (generally available) schema in the pinned @microsoft/app-manifest:
# Microsoft's unified-manifest reference documents the current GA schema and sets no lower
# ceiling for Outlook; devPreview is not for production. tools/manifest-schema pins it.
MANIFEST_VERSION = "1.30"
SCHEMA_URL = (
    f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/"
    "MicrosoftTeams.schema.json"
)
TEMPLATES = Path(__file__).resolve().parent / "templates"
REPO = Path(__file__).resolve().parents[2]  # backend/tandem_mailbox/ -> the checkout
SCHEMAS = REPO / "tools/manifest-schema/node_modules/@microsoft/app-manifest/build/json-schemas"
SSO_SCOPES = ["openid", "profile"]
SEND_HANDLER = "onMessageSendHandler"  # the function launch/onsend.js associates
SEND_PAGE, SEND_SCRIPT = "/launch/onsend.html", "/launch/onsend.js"

NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
    "v10": "http://schemas.microsoft.com/office/mailappversionoverrides",
    "v11": "http://schemas.microsoft.com/office/mailappversionoverrides/1.1",
}
XSI_TYPE = f"{{{NS['xsi']}}}type"
MAILAPP_ORDER = [
    "Id", "AlternateId", "Version", "ProviderName", "DefaultLocale", "DisplayName",
    "Description", "IconUrl", "HighResolutionIconUrl", "SupportUrl", "AppDomains", "Hosts",
    "Requirements", "FormSettings", "Permissions", "Rule", "DisableEntityHighlighting",
    "VersionOverrides",
]  # fmt: skip
V1_1_ORDER = [
    "Description", "Requirements", "Hosts", "Resources", "WebApplicationInfo",
    "EquivalentAddins", "ConnectedServiceControls", "ExtendedPermissions",
]  # fmt: skip

# rule id -> what it asks; every problem starts with "[<rule id>]".
XML_RULES = {
    "xml.well-formed": "the manifest is well-formed XML",
    "xml.root": "the root is OfficeApp of xsi:type MailApp",
    "xml.order": "MailApp's children are in the schema's order",
    "xml.id": "Id is a GUID",
    "xml.permissions": "Permissions is ReadWriteMailbox (the actions write to the mailbox)",
    "xml.https": "every URL is https",
    "xml.overrides": "VersionOverrides V1_0 holds V1_1 as its last child",
    "xml.v1_1-order": "V1_1's children are in the schema's order",
    "xml.mailbox-1.8": "V1_1 asks for Mailbox 1.8, where shared folders begin",
    "xml.shared-folders": "SupportsSharedFolders=true is first in V1_1's DesktopFormFactor",
    "xml.shared-folders-v1_0": "SupportsSharedFolders appears only in the V1_1 overrides",
    "xml.read-surface": "a button on MessageReadCommandSurface",
    "xml.appointment-surface": "a button on AppointmentAttendeeCommandSurface",
    "xml.compose-surface": "a button on MessageComposeCommandSurface shows the task pane",
    "xml.send-event": f"a LaunchEvent: OnMessageSend runs {SEND_HANDLER}, SendMode PromptUser",
    "xml.send-runtime": (
        f"the event's Runtime is <public URL>{SEND_PAGE}, overridden by <public URL>{SEND_SCRIPT}"
    ),
    "xml.taskpane": "the read-surface button shows the task pane at <public URL>/taskpane.html",
    "xml.sso": "WebApplicationInfo follows Resources in V1_1, with Scopes",
    "xml.sso-id": "WebApplicationInfo Id is the app's client id",
    "xml.sso-resource": "WebApplicationInfo Resource is api://<public host>/<client id>",
}
JSON_RULES = {
    "json.syntax": "the manifest is JSON",
    "json.schema": f"it validates against the unified manifest schema v{MANIFEST_VERSION}",
    "json.version": f"manifestVersion and $schema are v{MANIFEST_VERSION}",
    "json.id": "id is a GUID",
    "json.readwrite": "authorization holds Mailbox.ReadWrite.User (XML: ReadWriteMailbox)",
    "json.shared-folder": "authorization holds Mailbox.SharedFolder (XML: SupportsSharedFolders)",
    "json.mail": "the extension's scopes hold mail, and it asks for Mailbox 1.8",
    "json.https": "every URL is https",
    "json.read-surface": "a button in the mailRead context opens the task pane",
    "json.appointment-surface": "a button in the meetingDetailsAttendee context",
    "json.compose-surface": "a button in the mailCompose context opens the task pane",
    "json.send-event": f"autoRunEvents: messageSending runs {SEND_HANDLER}, sendMode promptUser",
    "json.send-runtime": (
        f"{SEND_HANDLER} is an executeFunction of a runtime of <public URL>{SEND_PAGE} and "
        f"{SEND_SCRIPT}, for Mailbox 1.12"
    ),
    "json.taskpane": "the task pane runtime's page is <public URL>/taskpane.html",
    "json.sso-id": "webApplicationInfo.id is the app's client id",
    "json.sso-resource": "webApplicationInfo.resource is api://<public host>/<client id>",
    "json.icons": "icons name the package's color.png and outline.png",
}


def _environment(autoescape: bool) -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=autoescape,  # noqa: S701 - XML is autoescaped; JSON values go through tojson
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _values(
    client_id: str, public_url: str, scopes: Iterable[str], addin_id: str
) -> dict[str, Any]:
    """The template values for a deployment, after checking its inputs."""
    if not GUID.fullmatch(client_id):
        raise ValueError("the client id must be a GUID")
    parts = urlsplit(public_url)
    if parts.scheme != "https" or not parts.netloc or parts.path.strip("/"):
        raise ValueError("the public URL must be an https origin such as https://host")
    bare = [s.rsplit("/", 1)[-1] for s in scopes]
    return {
        "addin_id": addin_id,
        "version": VERSION,
        "name": NAME,
        "full_name": f"{NAME}: shared mailboxes, as yourself",
        "description": DESCRIPTION,
        "full_description": DESCRIPTION
        + " Claim, categorize, flag, move and answer mail in shared mailboxes and delegate"
        " folders, with your own permissions and under your own name.",
        "tooltip": TOOLTIP,
        "base": public_url.rstrip("/"),
        "client_id": client_id,
        "resource": f"api://{parts.netloc}/{client_id}",
        "scopes": SSO_SCOPES + [s for s in bare if s not in SSO_SCOPES],
    }


def render(client_id: str, public_url: str, scopes: list[str], *, addin_id: str = ADDIN_ID) -> str:
    """The XML manifest for a deployment: its client id, public URL and Graph scopes."""
    values = _values(client_id, public_url, scopes, addin_id)
    return _environment(True).get_template("manifest.xml.j2").render(values)


render_xml = render


def render_json(
    client_id: str, public_url: str, scopes: list[str], *, addin_id: str = ADDIN_ID
) -> str:
    """The unified manifest (manifest.json) for the same deployment."""
    values = _values(client_id, public_url, scopes, addin_id)
    values.update(version=APP_VERSION, manifest_version=MANIFEST_VERSION, schema_url=SCHEMA_URL)
    text = _environment(False).get_template("manifest.json.j2").render(values)
    return json.dumps(json.loads(text), indent=2) + "\n"


def package(
    client_id: str, public_url: str, scopes: list[str], *, addin_id: str = ADDIN_ID
) -> bytes:
    """The app package to upload or sideload: manifest.json and its two icons, zipped."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "manifest.json", render_json(client_id, public_url, scopes, addin_id=addin_id)
        )
        for icon in ("color.png", "outline.png"):
            archive.write(TEMPLATES / icon, icon)
    return buffer.getvalue()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ordered(children: list[str], order: list[str]) -> bool:
    positions = [order.index(c) for c in children if c in order]
    return positions == sorted(positions) and all(c in order for c in children)


class _Problems(list[str]):
    """Problems, each naming its rule."""

    def add(self, rule: str, detail: str) -> None:
        assert rule in XML_RULES or rule in JSON_RULES, rule
        self.append(f"[{rule}] {detail}")


def validate(
    xml_text: str, *, client_id: str | None = None, public_url: str | None = None
) -> list[str]:
    """Problems of an XML manifest against Outlook's rules; empty when it is sound."""
    problems = _Problems()
    try:
        root = ET.fromstring(xml_text)  # noqa: S314 - our own rendering, or the operator's file
    except ET.ParseError as error:
        problems.add("xml.well-formed", f"not well-formed XML: {error}")
        return problems
    if _local(root.tag) != "OfficeApp" or root.get(XSI_TYPE) != "MailApp":
        problems.add("xml.root", "the root must be OfficeApp of xsi:type MailApp")
    children = [_local(c.tag) for c in root]
    if not _ordered(children, MAILAPP_ORDER):
        problems.add("xml.order", f"MailApp children are out of order: {children}")
    if not GUID.fullmatch(root.findtext("o:Id", "", NS)):
        problems.add("xml.id", "Id must be a GUID")
    if root.findtext("o:Permissions", "", NS) != "ReadWriteMailbox":
        problems.add("xml.permissions", "Permissions must be ReadWriteMailbox")
    for element in root.iter():
        value = element.get("DefaultValue", "") or ""
        if _local(element.tag) == "AppDomain":
            value = element.text or ""
        if value.startswith("http") and not value.startswith("https://"):
            problems.add("xml.https", f"{_local(element.tag)} URL is not https: {value}")
    v10 = root.find("v10:VersionOverrides", NS)
    v11 = v10.find("v11:VersionOverrides", NS) if v10 is not None else None
    if v10 is None or v10.get(XSI_TYPE) != "VersionOverridesV1_0":
        problems.add("xml.overrides", "VersionOverrides V1_0 is missing")
        return problems
    if v11 is None or v11.get(XSI_TYPE) != "VersionOverridesV1_1" or list(v10)[-1] is not v11:
        problems.add("xml.overrides", "VersionOverrides V1_1 must be the last child of V1_0")
        return problems
    v11_children = [_local(c.tag) for c in v11]
    if not _ordered(v11_children, V1_1_ORDER):
        problems.add("xml.v1_1-order", f"V1_1 children are out of order: {v11_children}")
    sets = v11.find("v11:Requirements/bt:Sets", NS)
    if sets is None or sets.get("DefaultMinVersion") != "1.8":
        problems.add("xml.mailbox-1.8", "V1_1 must ask for Mailbox 1.8 (DefaultMinVersion)")
    if (
        v10.find("v10:Hosts/v10:Host/v10:DesktopFormFactor/v10:SupportsSharedFolders", NS)
        is not None
    ):
        problems.add("xml.shared-folders-v1_0", "SupportsSharedFolders is only valid in V1_1")
    desktop = v11.find("v11:Hosts/v11:Host/v11:DesktopFormFactor", NS)
    first = desktop[0] if desktop is not None and len(desktop) else None
    if (
        first is None
        or _local(first.tag) != "SupportsSharedFolders"
        or (first.text or "") != "true"
    ):
        problems.add(
            "xml.shared-folders",
            "SupportsSharedFolders=true must be the first child of DesktopFormFactor",
        )
    points = {p.get(XSI_TYPE): p for p in v11.iterfind(".//v11:ExtensionPoint", NS)}
    urls = {u.get("id"): u.get("DefaultValue") for u in v11.iterfind(".//bt:Url", NS)}
    expected = (public_url.rstrip("/") if public_url else "") + "/taskpane.html"
    read = points.get("MessageReadCommandSurface")
    if read is None:
        problems.add("xml.read-surface", "no button on MessageReadCommandSurface")
    elif not _shows(read, urls, public_url):
        problems.add("xml.taskpane", f"the read-surface button must show {expected}")
    compose = points.get("MessageComposeCommandSurface")
    if compose is None or not _shows(compose, urls, public_url):
        problems.add(
            "xml.compose-surface", f"no MessageComposeCommandSurface button shows {expected}"
        )
    if "AppointmentAttendeeCommandSurface" not in points:
        problems.add("xml.appointment-surface", "no button on AppointmentAttendeeCommandSurface")
    _send_event(problems, v11, points.get("LaunchEvent"), urls, public_url)
    info = v11.find("v11:WebApplicationInfo", NS)
    if (
        info is None
        or "Resources" not in v11_children
        or (v11_children.index("WebApplicationInfo") != v11_children.index("Resources") + 1)
    ):
        problems.add("xml.sso", "WebApplicationInfo must follow Resources in V1_1")
    if info is not None:
        app_id = info.findtext("v11:Id", "", NS)
        resource = info.findtext("v11:Resource", "", NS)
        if not info.findall("v11:Scopes/v11:Scope", NS):
            problems.add("xml.sso", "WebApplicationInfo has no Scopes")
        if not GUID.fullmatch(app_id) or (client_id and app_id != client_id):
            problems.add("xml.sso-id", f"WebApplicationInfo Id {app_id!r} is not the client id")
        _resource(problems, "xml.sso-resource", resource, app_id, public_url)
    return problems


def _at(url: Any, path: str, public_url: str | None) -> bool:
    """Whether `url` is the deployment's `path` (any origin's, when no public URL is given)."""
    if not isinstance(url, str):
        return False
    return url == public_url.rstrip("/") + path if public_url else url.endswith(path)


def _shows(point: ET.Element, urls: dict[str | None, str | None], public_url: str | None) -> bool:
    """Whether an extension point's button shows the task pane."""
    action = point.find(".//v11:Action", NS)
    source = action.find("v11:SourceLocation", NS) if action is not None else None
    target = urls.get(source.get("resid")) if source is not None else None
    return (
        action is not None
        and action.get(XSI_TYPE) == "ShowTaskpane"
        and _at(target, "/taskpane.html", public_url)
    )


def _send_event(
    problems: _Problems,
    v11: ET.Element,
    launch: ET.Element | None,
    urls: dict[str | None, str | None],
    public_url: str | None,
) -> None:
    """Smart Alerts: the LaunchEvent for OnMessageSend and the Runtime it names."""
    events = launch.findall("v11:LaunchEvents/v11:LaunchEvent", NS) if launch is not None else []
    send = [e for e in events if e.get("Type") == "OnMessageSend"]
    if (
        len(send) != 1
        or send[0].get("FunctionName") != SEND_HANDLER
        or send[0].get("SendMode") != "PromptUser"
    ):
        problems.add("xml.send-event", f"OnMessageSend must run {SEND_HANDLER}, PromptUser")
    source = launch.find("v11:SourceLocation", NS) if launch is not None else None
    resid = source.get("resid") if source is not None else None
    runtime = next(
        (
            r
            for r in v11.iterfind("v11:Hosts/v11:Host/v11:Runtimes/v11:Runtime", NS)
            if resid and r.get("resid") == resid
        ),
        None,
    )
    override = runtime.find("v11:Override", NS) if runtime is not None else None
    script = (
        urls.get(override.get("resid"))
        if override is not None and override.get("type") == "javascript"
        else None
    )
    if not (
        _at(urls.get(resid or ""), SEND_PAGE, public_url) and _at(script, SEND_SCRIPT, public_url)
    ):
        problems.add(
            "xml.send-runtime", f"the event's Runtime must be {SEND_PAGE} with {SEND_SCRIPT}"
        )


def _resource(
    problems: _Problems, rule: str, resource: str, app_id: str, public_url: str | None
) -> None:
    host = urlsplit(public_url).netloc if public_url else None
    if (
        not resource.startswith("api://")
        or not resource.endswith("/" + app_id)
        or (host and resource != f"api://{host}/{app_id}")
    ):
        problems.add(rule, f"the resource {resource!r} must be api://<public host>/<client id>")


@cache
def schema(version: str = MANIFEST_VERSION) -> dict[str, Any] | None:
    """The unified manifest's JSON schema from the pinned npm package, when installed."""
    path = SCHEMAS / f"teams/v{version}/MicrosoftTeams.schema.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def schema_errors(document: Any, schema_doc: dict[str, Any]) -> list[str]:
    """Where a document breaks the JSON schema (draft-04, plus the `const` it uses)."""
    from jsonschema import Draft4Validator, Draft7Validator, validators

    # Microsoft's schema declares draft-04 yet uses draft-06's `const` (manifestVersion);
    # ajv, which @microsoft/app-manifest validates with, honours it, and so does this.
    validator_class = validators.extend(
        Draft4Validator, {"const": Draft7Validator.VALIDATORS["const"]}
    )
    found = []
    for error in sorted(validator_class(schema_doc).iter_errors(document), key=str):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        found.append(f"{where}: {error.message[:300]}")
    return found


def validate_json(
    text: str,
    *,
    client_id: str | None = None,
    public_url: str | None = None,
    schema_doc: dict[str, Any] | None = None,
) -> list[str]:
    """Problems of a unified manifest against its schema (when given) and Outlook's rules."""
    problems = _Problems()
    try:
        doc = json.loads(text)
    except ValueError as error:
        problems.add("json.syntax", f"not JSON: {error}")
        return problems
    if not isinstance(doc, dict):
        problems.add("json.syntax", "the manifest must be a JSON object")
        return problems
    for message in schema_errors(doc, schema_doc) if schema_doc else []:
        problems.add("json.schema", message)
    if doc.get("manifestVersion") != MANIFEST_VERSION or doc.get("$schema") != SCHEMA_URL:
        problems.add("json.version", f"manifestVersion and $schema must be v{MANIFEST_VERSION}")
    if not GUID.fullmatch(str(doc.get("id", ""))):
        problems.add("json.id", "id must be a GUID")
    rsc = {
        p.get("name")
        for p in doc.get("authorization", {}).get("permissions", {}).get("resourceSpecific", [])
        if isinstance(p, dict) and p.get("type") == "Delegated"
    }
    if "Mailbox.ReadWrite.User" not in rsc:
        problems.add("json.readwrite", "no delegated Mailbox.ReadWrite.User permission")
    if "Mailbox.SharedFolder" not in rsc:
        problems.add("json.shared-folder", "no delegated Mailbox.SharedFolder permission")
    extension = (doc.get("extensions") or [{}])[0]
    requirements = extension.get("requirements", {})
    mailbox = [c for c in requirements.get("capabilities", []) if c.get("name") == "Mailbox"]
    if (
        "mail" not in requirements.get("scopes", [])
        or not mailbox
        or (_version(mailbox[0].get("minVersion")) < (1, 8))
    ):
        problems.add("json.mail", "the extension must be for mail and ask for Mailbox 1.8")
    for url in _strings(doc):
        if url.startswith("http") and not url.startswith("https://"):
            problems.add("json.https", f"URL is not https: {url}")
    actions = {}
    runtime_of = {}
    for runtime in extension.get("runtimes", []):
        for action in runtime.get("actions", []):
            actions[action.get("id")] = (action.get("type"), runtime.get("code", {}).get("page"))
            runtime_of[action.get("id")] = runtime
    expected = (public_url.rstrip("/") if public_url else "") + "/taskpane.html"
    contexts: dict[str, set[str]] = {}
    for ribbon in extension.get("ribbons", []):
        for tab in ribbon.get("tabs", []):
            for group in tab.get("groups", []):
                for control in group.get("controls", []):
                    for context in ribbon.get("contexts", []):
                        contexts.setdefault(context, set()).add(control.get("actionId"))
    if not any(actions.get(a, ("",))[0] == "openPage" for a in contexts.get("mailRead", ())):
        problems.add("json.read-surface", "no button in mailRead that opens a page")
    if "meetingDetailsAttendee" not in contexts:
        problems.add("json.appointment-surface", "no button in meetingDetailsAttendee")
    if not any(
        kind == "openPage" and _at(page, "/taskpane.html", public_url)
        for kind, page in (actions.get(a, ("", None)) for a in contexts.get("mailCompose", ()))
    ):
        problems.add("json.compose-surface", "no button in mailCompose that opens the task pane")
    _send_event_json(problems, extension, runtime_of, public_url)
    pages = [page for kind, page in actions.values() if kind == "openPage"]
    if not any(
        (page == expected) if public_url else str(page).endswith("/taskpane.html") for page in pages
    ):
        problems.add("json.taskpane", f"no task pane runtime whose page is {expected}")
    info = doc.get("webApplicationInfo", {})
    app_id = str(info.get("id", ""))
    if not GUID.fullmatch(app_id) or (client_id and app_id != client_id):
        problems.add("json.sso-id", f"webApplicationInfo.id {app_id!r} is not the client id")
    _resource(problems, "json.sso-resource", str(info.get("resource", "")), app_id, public_url)
    if doc.get("icons") != {"color": "color.png", "outline": "outline.png"}:
        problems.add("json.icons", "icons must be color.png and outline.png (in the package)")
    return problems


def _send_event_json(
    problems: _Problems,
    extension: dict[str, Any],
    runtime_of: dict[Any, dict[str, Any]],
    public_url: str | None,
) -> None:
    """Smart Alerts: the autoRunEvents entry for messageSending and the runtime it names."""
    events = [
        event
        for auto in extension.get("autoRunEvents") or []
        for event in auto.get("events") or []
        if event.get("type") == "messageSending"
    ]
    if (
        len(events) != 1
        or events[0].get("actionId") != SEND_HANDLER
        or (events[0].get("options") or {}).get("sendMode") != "promptUser"
    ):
        problems.add("json.send-event", f"messageSending must run {SEND_HANDLER}, promptUser")
    runtime = runtime_of.get(SEND_HANDLER) or {}
    action: dict[str, Any] = next(
        (a for a in runtime.get("actions", []) if a.get("id") == SEND_HANDLER), {}
    )
    code = runtime.get("code") or {}
    mailbox = [
        c
        for c in (runtime.get("requirements") or {}).get("capabilities", [])
        if c.get("name") == "Mailbox"
    ]
    if (
        action.get("type") != "executeFunction"
        or not _at(code.get("page"), SEND_PAGE, public_url)
        or not _at(code.get("script"), SEND_SCRIPT, public_url)
        or not mailbox
        or _version(mailbox[0].get("minVersion")) < (1, 12)
    ):
        problems.add(
            "json.send-runtime", f"{SEND_HANDLER} must run in {SEND_PAGE} / {SEND_SCRIPT}, 1.12"
        )


def _version(text: Any) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in str(text).split("."))
    except ValueError:
        return (0,)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "$schema":
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
