"""Both manifests: manifest.xml checked against Outlook's rules independently of our
validator; the unified manifest against the JSON schema @microsoft/app-manifest ships; each
rule of both broken in turn and named by the error."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tandem_mailbox import manifest
from tandem_mailbox.emulator import seed
from tests.support.paths import REPO

MANIFEST = REPO / "manifest.xml"
NS = manifest.NS
XSI = f"{{{NS['xsi']}}}type"
SCOPES = ["Mail.ReadWrite.Shared", "Mail.Send.Shared", "Calendars.ReadWrite.Shared", "User.Read"]


def local(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rsplit("}", 1)[-1]


@pytest.fixture(scope="module")
def root() -> ET.Element:
    """The repository's manifest, parsed."""
    return ET.parse(MANIFEST).getroot()  # noqa: S314 - our own file


def test_it_is_the_demo_rendering():
    assert MANIFEST.read_text() == manifest.render(seed.CLIENT_ID, "https://localhost:3000", SCOPES)


def test_mail_app_with_read_write_mailbox(root: ET.Element):
    assert local(root.tag) == "OfficeApp"
    assert root.get(XSI) == "MailApp"
    assert root.findtext("o:Permissions", namespaces=NS) == "ReadWriteMailbox"
    children = [local(c.tag) for c in root]
    assert children == [
        "Id",
        "Version",
        "ProviderName",
        "DefaultLocale",
        "DisplayName",
        "Description",
        "IconUrl",
        "HighResolutionIconUrl",
        "SupportUrl",
        "AppDomains",
        "Hosts",
        "Requirements",
        "FormSettings",
        "Permissions",
        "Rule",
        "DisableEntityHighlighting",
        "VersionOverrides",
    ]


def test_version_overrides_nest_v1_1_last(root: ET.Element):
    v10 = root.find("v10:VersionOverrides", NS)
    assert v10 is not None and v10.get(XSI) == "VersionOverridesV1_0"
    assert local(list(v10)[-1].tag) == "VersionOverrides"
    assert list(v10)[-1].get(XSI) == "VersionOverridesV1_1"
    assert [local(c.tag) for c in v10] == ["Requirements", "Hosts", "Resources", "VersionOverrides"]


def test_shared_folders_first_in_desktop_form_factor_of_v1_1_only(root: ET.Element):
    v10 = root.find("v10:VersionOverrides", NS)
    v11 = v10.find("v11:VersionOverrides", NS)
    desktop = v11.find("v11:Hosts/v11:Host/v11:DesktopFormFactor", NS)
    assert local(desktop[0].tag) == "SupportsSharedFolders"
    assert desktop[0].text == "true"
    assert v10.find(".//v10:SupportsSharedFolders", NS) is None
    assert v11.find("v11:Requirements/bt:Sets", NS).get("DefaultMinVersion") == "1.8"


def test_web_application_info_right_after_resources(root: ET.Element):
    v11 = root.find("v10:VersionOverrides/v11:VersionOverrides", NS)
    children = [local(c.tag) for c in v11]
    assert children == ["Requirements", "Hosts", "Resources", "WebApplicationInfo"]
    info = v11.find("v11:WebApplicationInfo", NS)
    assert info.findtext("v11:Id", namespaces=NS) == seed.CLIENT_ID
    assert info.findtext("v11:Resource", namespaces=NS) == f"api://localhost:3000/{seed.CLIENT_ID}"
    scopes = [s.text for s in info.iterfind("v11:Scopes/v11:Scope", NS)]
    assert scopes[:2] == ["openid", "profile"]
    assert set(SCOPES) <= set(scopes)


def test_read_surface_button_opens_the_task_pane(root: ET.Element):
    v11 = root.find("v10:VersionOverrides/v11:VersionOverrides", NS)
    urls = {u.get("id"): u.get("DefaultValue") for u in v11.iterfind(".//bt:Url", NS)}
    surfaces = {p.get(XSI): p for p in v11.iterfind(".//v11:ExtensionPoint", NS)}
    assert {"MessageReadCommandSurface", "AppointmentAttendeeCommandSurface"} <= set(surfaces)
    action = surfaces["MessageReadCommandSurface"].find(".//v11:Action", NS)
    assert action.get(XSI) == "ShowTaskpane"
    source = action.find("v11:SourceLocation", NS).get("resid")
    assert urls[source] == "https://localhost:3000/taskpane.html"
    assert action.findtext("v11:SupportsPinning", namespaces=NS) == "true"


def test_every_url_is_https(root: ET.Element):
    values = [
        e.get("DefaultValue") for e in root.iter() if e.get("DefaultValue", "").startswith("http")
    ]
    values += [e.text for e in root.iter() if local(e.tag) == "AppDomain"]
    assert values
    assert all(v.startswith("https://") for v in values)


DEPLOYMENTS = [
    (seed.CLIENT_ID, "https://localhost:3000"),
    ("0b6a4f0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "https://tandem.contoso.com"),
    ("9d8c7b6a-5f4e-4d3c-b2a1-0f9e8d7c6b5a", "https://mail-tools.fabrikam.net:8443"),
]


@pytest.fixture(scope="module")
def app_schema() -> dict[str, Any]:
    """The unified manifest's JSON schema, from the lock-pinned @microsoft/app-manifest."""
    found = manifest.schema()
    if found is None:
        pytest.fail(
            f"{manifest.SCHEMAS} is missing: run `npm ci` in tools/manifest-schema "
            "(.ci/run and scripts/test do)"
        )
    return found


def test_the_schema_is_the_pinned_package_s():
    lock = json.loads((manifest.REPO / "tools/manifest-schema/package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/@microsoft/app-manifest"]
    assert pinned["integrity"].startswith("sha512-")
    assert (manifest.SCHEMAS / f"teams/v{manifest.MANIFEST_VERSION}").is_dir()


@pytest.mark.parametrize(("client_id", "public_url"), DEPLOYMENTS)
def test_both_manifests_of_a_deployment_pass(
    client_id: str, public_url: str, app_schema: dict[str, Any]
):
    xml_text = manifest.render(client_id, public_url, SCOPES)
    json_text = manifest.render_json(client_id, public_url, SCOPES)
    assert manifest.validate(xml_text, client_id=client_id, public_url=public_url) == []
    assert (
        manifest.validate_json(
            json_text, client_id=client_id, public_url=public_url, schema_doc=app_schema
        )
        == []
    )
    doc = json.loads(json_text)
    host = public_url.removeprefix("https://")
    assert doc["webApplicationInfo"] == {"id": client_id, "resource": f"api://{host}/{client_id}"}
    rsc = doc["authorization"]["permissions"]["resourceSpecific"]
    assert {"name": "Mailbox.SharedFolder", "type": "Delegated"} in rsc
    assert {"name": "Mailbox.ReadWrite.User", "type": "Delegated"} in rsc
    assert doc["manifestVersion"] == manifest.MANIFEST_VERSION
    assert f"{public_url}/taskpane.html" in json_text
    assert f"{public_url}/taskpane.html" in xml_text


def test_the_schema_check_is_real(app_schema: dict[str, Any]):
    """The schema itself refuses what it should: an unknown member, a wrong version."""
    doc = json.loads(manifest.render_json(seed.CLIENT_ID, "https://localhost:3000", SCOPES))
    doc["extensions"][0]["surprise"] = True
    doc["manifestVersion"] = "1.99"
    errors = manifest.schema_errors(doc, app_schema)
    assert any(e.startswith("extensions/0:") and "surprise" in e for e in errors), errors
    assert any(e.startswith("manifestVersion:") for e in errors), errors


def test_the_app_package_holds_the_manifest_and_its_icons(app_schema: dict[str, Any]):
    data = manifest.package(seed.CLIENT_ID, "https://tandem.contoso.com", SCOPES)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        doc = json.loads(archive.read("manifest.json"))
        sizes = {}
        for name in ("color.png", "outline.png"):
            png = archive.read(name)
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            sizes[name] = (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big"))
    # Microsoft 365 app packages: a 192x192 colour icon and a 32x32 outline icon.
    assert sizes == {"color.png": (192, 192), "outline.png": (32, 32)}
    assert doc["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert manifest.schema_errors(doc, app_schema) == []


def test_rendering_refuses_bad_input():
    with pytest.raises(ValueError, match="GUID"):
        manifest.render_json("not-a-guid", "https://localhost:3000", SCOPES)
    with pytest.raises(ValueError, match="https"):
        manifest.render("6f1e9a3c-2b7d-4e58-9c41-0d3a5b8e7f26", "http://x.example", SCOPES)


def test_values_are_escaped_in_the_xml_template():
    """A hostile scope cannot break out of the XML: the template escapes every value."""
    scopes = ['Mail.Read"><Evil a="&', "x<Scope>y&amp;"]
    xml_text = manifest.render(seed.CLIENT_ID, "https://localhost:3000", scopes)
    root = ET.fromstring(xml_text)  # noqa: S314 - our own rendering
    found = [s.text for s in root.iter(f"{{{NS['v11']}}}Scope")]
    assert found[2:] == scopes


def _xml(text_change: Callable[[str], str]) -> Callable[[str], str]:
    return text_change


def _json(change: Callable[[dict[str, Any]], None]) -> Callable[[str], str]:
    def apply(text: str) -> str:
        doc = json.loads(text)
        change(doc)
        return json.dumps(doc)

    return apply


def _drop_rsc(name: str) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        rsc = doc["authorization"]["permissions"]["resourceSpecific"]
        rsc[:] = [p for p in rsc if p["name"] != name]

    return change


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split("/")]
        target = doc
        for part in parents:
            target = target[part]
        target[last] = value

    return change


V11 = '<VersionOverrides xmlns="http://schemas.microsoft.com/office/mailappversionoverrides/1.1"'
XML_BREAKAGES = {
    "xml.well-formed": lambda t: t.replace("<OfficeApp", "<OfficeAp", 1),
    "xml.root": lambda t: t.replace('xsi:type="MailApp"', 'xsi:type="TaskPaneApp"'),
    "xml.order": lambda t: t.replace(
        "<Version>1.0.0.0</Version>\n  <ProviderName>Tandem</ProviderName>",
        "<ProviderName>Tandem</ProviderName>\n  <Version>1.0.0.0</Version>",
    ),
    "xml.id": lambda t: t.replace(f"<Id>{manifest.ADDIN_ID}</Id>", "<Id>tandem</Id>"),
    "xml.permissions": lambda t: t.replace(
        "<Permissions>ReadWriteMailbox", "<Permissions>ReadWriteItem"
    ),
    "xml.https": lambda t: t.replace(
        "https://localhost:3000/support.html", "http://localhost:3000/support.html"
    ),
    "xml.overrides": lambda t: t.replace(V11, "<Unexpected><VersionOverrides", 1).replace(
        "    </VersionOverrides>\n  </VersionOverrides>",
        "    </VersionOverrides></Unexpected>\n  </VersionOverrides>",
    ),
    "xml.v1_1-order": lambda t: re.sub(
        r"(<VersionOverrides xmlns=\"[^\"]+/1.1\"[^>]*>)",
        r"\1<ExtendedPermissions/>",
        t,
    ),
    "xml.mailbox-1.8": lambda t: t.replace('DefaultMinVersion="1.8"', 'DefaultMinVersion="1.3"'),
    "xml.shared-folders": lambda t: t.replace(
        "<SupportsSharedFolders>true</SupportsSharedFolders>", ""
    ),
    "xml.shared-folders-v1_0": lambda t: t.replace(
        '<FunctionFile resid="Commands.Url"/>',
        '<SupportsSharedFolders>true</SupportsSharedFolders><FunctionFile resid="Commands.Url"/>',
        1,
    ),
    "xml.read-surface": lambda t: t.replace(
        "MessageReadCommandSurface", "MessageComposeCommandSurface"
    ),
    "xml.appointment-surface": lambda t: t.replace(
        "AppointmentAttendeeCommandSurface", "AppointmentOrganizerCommandSurface"
    ),
    "xml.compose-surface": lambda t: t.replace(
        'xsi:type="MessageComposeCommandSurface"', 'xsi:type="MessageReadCommandSurface"'
    ),
    "xml.send-event": lambda t: t.replace('SendMode="PromptUser"', 'SendMode="Block"'),
    "xml.send-runtime": lambda t: t.replace(
        '<Override type="javascript" resid="SendCheck.Script"/>', ""
    ),
    "xml.taskpane": lambda t: t.replace(
        '<bt:Url id="Taskpane.Url" DefaultValue="https://localhost:3000/taskpane.html"/>',
        '<bt:Url id="Taskpane.Url" DefaultValue="https://localhost:3000/other.html"/>',
    ),
    "xml.sso": lambda t: re.sub(r"<Scopes>.*</Scopes>", "<Scopes/>", t, flags=re.S),
    "xml.sso-id": lambda t: t.replace(
        f"<Id>{seed.CLIENT_ID}</Id>", "<Id>00000000-0000-0000-0000-000000000001</Id>"
    ),
    "xml.sso-resource": lambda t: t.replace(
        f"api://localhost:3000/{seed.CLIENT_ID}", f"api://elsewhere.example/{seed.CLIENT_ID}"
    ),
}
JSON_BREAKAGES = {
    "json.syntax": lambda t: t[:-3],
    "json.schema": _json(_set("accentColor", "blue")),
    "json.version": _json(_set("manifestVersion", "devPreview")),
    "json.id": _json(_set("id", "tandem")),
    "json.readwrite": _json(_drop_rsc("Mailbox.ReadWrite.User")),
    "json.shared-folder": _json(_drop_rsc("Mailbox.SharedFolder")),
    "json.mail": _json(_set("extensions/0/requirements/capabilities/0/minVersion", "1.1")),
    "json.https": _json(_set("developer/privacyUrl", "http://localhost:3000/support.html")),
    "json.read-surface": _json(_set("extensions/0/ribbons/0/contexts", ["mailCompose"])),
    "json.appointment-surface": _json(
        _set("extensions/0/ribbons/2/contexts", ["meetingDetailsOrganizer"])
    ),
    "json.compose-surface": _json(_set("extensions/0/ribbons/1/contexts", ["mailRead"])),
    "json.send-event": _json(
        _set("extensions/0/autoRunEvents/0/events/0/options/sendMode", "softBlock")
    ),
    "json.send-runtime": _json(
        _set("extensions/0/runtimes/1/code/script", "https://localhost:3000/other.js")
    ),
    "json.taskpane": _json(
        _set("extensions/0/runtimes/0/code/page", "https://localhost:3000/other.html")
    ),
    "json.sso-id": _json(_set("webApplicationInfo/id", "00000000-0000-0000-0000-000000000001")),
    "json.sso-resource": _json(
        _set("webApplicationInfo/resource", f"api://elsewhere.example/{seed.CLIENT_ID}")
    ),
    "json.icons": _json(_set("icons/color", "assets/icon-128.png")),
}


def test_every_rule_is_broken_by_some_test():
    assert set(XML_BREAKAGES) == set(manifest.XML_RULES)
    assert set(JSON_BREAKAGES) == set(manifest.JSON_RULES)


@pytest.mark.parametrize("rule", sorted(XML_BREAKAGES))
def test_each_broken_xml_rule_is_named(rule: str):
    text = manifest.render(seed.CLIENT_ID, "https://localhost:3000", SCOPES)
    broken = XML_BREAKAGES[rule](text)
    assert broken != text
    problems = manifest.validate(
        broken, client_id=seed.CLIENT_ID, public_url="https://localhost:3000"
    )
    assert any(p.startswith(f"[{rule}] ") for p in problems), problems


@pytest.mark.parametrize("rule", sorted(JSON_BREAKAGES))
def test_each_broken_json_rule_is_named(rule: str, app_schema: dict[str, Any]):
    text = manifest.render_json(seed.CLIENT_ID, "https://localhost:3000", SCOPES)
    broken = JSON_BREAKAGES[rule](text)
    problems = manifest.validate_json(
        broken, client_id=seed.CLIENT_ID, public_url="https://localhost:3000", schema_doc=app_schema
    )
    assert any(p.startswith(f"[{rule}] ") for p in problems), problems
