"""manifest.xml checked against the rules Outlook enforces, independently of our validator."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from backend import manifest
from backend.emulator import seed

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.xml"
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


def test_our_validator_accepts_the_rendering():
    text = manifest.render(seed.CLIENT_ID, "https://tandem.contoso.com", SCOPES)
    assert (
        manifest.validate(text, client_id=seed.CLIENT_ID, public_url="https://tandem.contoso.com")
        == []
    )


@pytest.mark.parametrize(
    ("breakage", "complaint"),
    [
        (
            lambda t: t.replace("<Permissions>ReadWriteMailbox", "<Permissions>ReadItem"),
            "ReadWriteMailbox",
        ),
        (
            lambda t: t.replace("<SupportsSharedFolders>true</SupportsSharedFolders>", ""),
            "SupportsSharedFolders",
        ),
        (
            lambda t: t.replace(
                "https://localhost:3000/taskpane.html", "http://localhost:3000/taskpane.html"
            ),
            "not https",
        ),
        (
            lambda t: t.replace(
                '<FunctionFile resid="Commands.Url"/>',
                "<SupportsSharedFolders>true</SupportsSharedFolders>"
                '<FunctionFile resid="Commands.Url"/>',
                1,
            ),
            "only valid in the V1_1",
        ),
        (
            lambda t: t.replace(
                f"api://localhost:3000/{seed.CLIENT_ID}", f"https://localhost:3000/{seed.CLIENT_ID}"
            ),
            "Resource",
        ),
        (
            lambda t: t.replace(
                "<Version>1.0.0.0</Version>\n  <ProviderName>Tandem</ProviderName>",
                "<ProviderName>Tandem</ProviderName>\n  <Version>1.0.0.0</Version>",
            ),
            "out of order",
        ),
        (
            lambda t: t.replace("MessageReadCommandSurface", "MessageComposeCommandSurface"),
            "MessageReadCommandSurface",
        ),
        (lambda t: t.replace("<OfficeApp", "<OfficeAp", 1), "XML"),
    ],
)
def test_our_validator_catches_breakage(breakage, complaint: str):
    text = breakage(manifest.render(seed.CLIENT_ID, "https://localhost:3000", SCOPES))
    problems = manifest.validate(text)
    assert any(complaint in p for p in problems), problems
