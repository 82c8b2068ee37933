"""Both manifests declare the compose surface and Smart Alerts' OnMessageSend, read here
independently of manifest.py's own rules: the repository's manifest.xml as Outlook reads it
(smart-alerts-onmessagesend-walkthrough's markup), and the unified manifest's runtime and
autoRunEvents."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from tandem_mailbox import manifest
from tandem_mailbox.emulator import seed
from tests.support.paths import REPO

NS = manifest.NS
XSI = f"{{{NS['xsi']}}}type"
BASE = "https://localhost:3000"


def test_the_xml_manifest_has_the_compose_button_and_the_send_event():
    root = ET.parse(REPO / "manifest.xml").getroot()  # noqa: S314 - our own file
    v11 = root.find("v10:VersionOverrides/v11:VersionOverrides", NS)
    assert v11 is not None
    urls = {u.get("id"): u.get("DefaultValue") for u in v11.iterfind(".//bt:Url", NS)}
    host = v11.find("v11:Hosts/v11:Host", NS)
    assert [c.tag.rsplit("}", 1)[-1] for c in host] == ["Runtimes", "DesktopFormFactor"]
    points = {p.get(XSI): p for p in host.iterfind(".//v11:ExtensionPoint", NS)}
    compose = points["MessageComposeCommandSurface"]
    action = compose.find(".//v11:Action", NS)
    assert action.get(XSI) == "ShowTaskpane"
    source = action.find("v11:SourceLocation", NS).get("resid")
    assert urls[source] == f"{BASE}/taskpane.html"
    [event] = points["LaunchEvent"].findall("v11:LaunchEvents/v11:LaunchEvent", NS)
    assert event.attrib == {
        "Type": "OnMessageSend",
        "FunctionName": "onMessageSendHandler",
        "SendMode": "PromptUser",
    }
    page = points["LaunchEvent"].find("v11:SourceLocation", NS).get("resid")
    runtime = host.find("v11:Runtimes/v11:Runtime", NS)
    assert runtime.get("resid") == page and urls[page] == f"{BASE}/launch/onsend.html"
    override = runtime.find("v11:Override", NS)
    assert override.get("type") == "javascript"
    assert urls[override.get("resid")] == f"{BASE}/launch/onsend.js"


def test_the_unified_manifest_has_the_compose_button_and_the_send_event():
    doc = json.loads(manifest.render_json(seed.CLIENT_ID, BASE, ["Mail.ReadWrite.Shared"]))
    [extension] = doc["extensions"]
    contexts = {c for ribbon in extension["ribbons"] for c in ribbon["contexts"]}
    assert "mailCompose" in contexts
    [auto] = extension["autoRunEvents"]
    assert auto["events"] == [
        {
            "type": "messageSending",
            "actionId": "onMessageSendHandler",
            "options": {"sendMode": "promptUser"},
        }
    ]
    runtime = next(r for r in extension["runtimes"] if r["id"] == "SendCheckRuntime")
    assert runtime["code"] == {
        "page": f"{BASE}/launch/onsend.html",
        "script": f"{BASE}/launch/onsend.js",
    }
    assert runtime["actions"][0]["type"] == "executeFunction"
    assert runtime["requirements"] == {"capabilities": [{"name": "Mailbox", "minVersion": "1.12"}]}
