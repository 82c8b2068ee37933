"""The XML add-in manifest: rendered for a deployment, and checked against Outlook's rules.

Element order follows learn.microsoft.com/office/dev/add-ins/develop/manifest-element-ordering;
SupportsSharedFolders is valid only in the V1_1 overrides, first in DesktopFormFactor;
WebApplicationInfo follows Resources in V1_1 (and is its last child here).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

ADDIN_ID = "3c1f7a52-9b6e-4d0a-8f27-5e4b1c9d2a63"
VERSION = "1.0.0.0"
NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
    "v10": "http://schemas.microsoft.com/office/mailappversionoverrides",
    "v11": "http://schemas.microsoft.com/office/mailappversionoverrides/1.1",
}
XSI_TYPE = f"{{{NS['xsi']}}}type"
MAILAPP_ORDER = [
    "Id",
    "AlternateId",
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
V1_1_ORDER = [
    "Description",
    "Requirements",
    "Hosts",
    "Resources",
    "WebApplicationInfo",
    "EquivalentAddins",
    "ConnectedServiceControls",
    "ExtendedPermissions",
]
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
SSO_SCOPES = ["openid", "profile"]
TOOLTIP = "Work on this item as yourself, in its shared mailbox or delegate folder."


def _surfaces(v11: bool) -> str:
    """The command surfaces: a button on read messages, and on appointments in V1_1."""
    pinning = "\n                    <SupportsPinning>true</SupportsPinning>" if v11 else ""
    blocks = []
    for surface, group in (
        ("MessageReadCommandSurface", "msgRead"),
        ("AppointmentAttendeeCommandSurface", "apptRead"),
        ("AppointmentOrganizerCommandSurface", "apptEdit"),
    ):
        if not v11 and surface != "MessageReadCommandSurface":
            continue
        blocks.append(f"""
          <ExtensionPoint xsi:type="{surface}">
            <OfficeTab id="TabDefault">
              <Group id="{group}Group">
                <Label resid="Group.Label"/>
                <Control xsi:type="Button" id="{group}OpenPaneButton">
                  <Label resid="PaneButton.Label"/>
                  <Supertip>
                    <Title resid="PaneButton.Label"/>
                    <Description resid="PaneButton.Tooltip"/>
                  </Supertip>
                  <Icon>
                    <bt:Image size="16" resid="Icon.16"/>
                    <bt:Image size="32" resid="Icon.32"/>
                    <bt:Image size="80" resid="Icon.80"/>
                  </Icon>
                  <Action xsi:type="ShowTaskpane">
                    <SourceLocation resid="Taskpane.Url"/>{pinning}
                  </Action>
                </Control>
              </Group>
            </OfficeTab>
          </ExtensionPoint>""")
    return "".join(blocks)


def _resources(base: str) -> str:
    return f"""
    <Resources>
      <bt:Images>
        <bt:Image id="Icon.16" DefaultValue="{base}/assets/icon-16.png"/>
        <bt:Image id="Icon.32" DefaultValue="{base}/assets/icon-32.png"/>
        <bt:Image id="Icon.80" DefaultValue="{base}/assets/icon-80.png"/>
      </bt:Images>
      <bt:Urls>
        <bt:Url id="Commands.Url" DefaultValue="{base}/commands.html"/>
        <bt:Url id="Taskpane.Url" DefaultValue="{base}/taskpane.html"/>
      </bt:Urls>
      <bt:ShortStrings>
        <bt:String id="Group.Label" DefaultValue="Tandem"/>
        <bt:String id="PaneButton.Label" DefaultValue="Tandem"/>
      </bt:ShortStrings>
      <bt:LongStrings>
        <bt:String id="PaneButton.Tooltip" DefaultValue="{TOOLTIP}"/>
      </bt:LongStrings>
    </Resources>"""


def render(client_id: str, public_url: str, scopes: list[str], *, addin_id: str = ADDIN_ID) -> str:
    """The manifest for a deployment: its client id, public URL and Graph scopes."""
    if not GUID.match(client_id):
        raise ValueError("the client id must be a GUID")
    parts = urlsplit(public_url)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError("the public URL must be https")
    base = escape(public_url.rstrip("/"))
    resource = escape(f"api://{parts.netloc}/{client_id}")
    bare = [s.rsplit("/", 1)[-1] for s in scopes]
    all_scopes = SSO_SCOPES + [s for s in bare if s not in SSO_SCOPES]
    scope_xml = "\n".join(f"          <Scope>{escape(s)}</Scope>" for s in all_scopes)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Tandem add-in manifest, rendered by `tandem manifest` for {base}. -->
<OfficeApp xmlns="{NS["o"]}"
           xmlns:xsi="{NS["xsi"]}"
           xmlns:bt="{NS["bt"]}"
           xmlns:mailappor="http://schemas.microsoft.com/office/mailappversionoverrides/1.0"
           xsi:type="MailApp">
  <Id>{addin_id}</Id>
  <Version>{VERSION}</Version>
  <ProviderName>Tandem</ProviderName>
  <DefaultLocale>en-US</DefaultLocale>
  <DisplayName DefaultValue="Tandem"/>
  <Description DefaultValue="Work in shared mailboxes and delegate folders as yourself."/>
  <IconUrl DefaultValue="{base}/assets/icon-64.png"/>
  <HighResolutionIconUrl DefaultValue="{base}/assets/icon-128.png"/>
  <SupportUrl DefaultValue="{base}/support.html"/>
  <AppDomains>
    <AppDomain>{base}</AppDomain>
  </AppDomains>
  <Hosts>
    <Host Name="Mailbox"/>
  </Hosts>
  <Requirements>
    <Sets>
      <Set Name="Mailbox" MinVersion="1.1"/>
    </Sets>
  </Requirements>
  <FormSettings>
    <Form xsi:type="ItemRead">
      <DesktopSettings>
        <SourceLocation DefaultValue="{base}/taskpane.html"/>
        <RequestedHeight>250</RequestedHeight>
      </DesktopSettings>
    </Form>
  </FormSettings>
  <Permissions>ReadWriteMailbox</Permissions>
  <Rule xsi:type="RuleCollection" Mode="Or">
    <Rule xsi:type="ItemIs" ItemType="Message" FormType="Read"/>
    <Rule xsi:type="ItemIs" ItemType="Appointment" FormType="Read"/>
  </Rule>
  <DisableEntityHighlighting>false</DisableEntityHighlighting>
  <VersionOverrides xmlns="{NS["v10"]}" xsi:type="VersionOverridesV1_0">
    <Requirements>
      <bt:Sets DefaultMinVersion="1.3">
        <bt:Set Name="Mailbox"/>
      </bt:Sets>
    </Requirements>
    <Hosts>
      <Host xsi:type="MailHost">
        <DesktopFormFactor>
          <FunctionFile resid="Commands.Url"/>{_surfaces(False)}
        </DesktopFormFactor>
      </Host>
    </Hosts>{_resources(base)}
    <VersionOverrides xmlns="{NS["v11"]}" xsi:type="VersionOverridesV1_1">
      <!-- Mailbox 1.8: shared folders (1.13 adds shared mailboxes; checked at run time). -->
      <Requirements>
        <bt:Sets DefaultMinVersion="1.8">
          <bt:Set Name="Mailbox"/>
        </bt:Sets>
      </Requirements>
      <Hosts>
        <Host xsi:type="MailHost">
          <DesktopFormFactor>
            <SupportsSharedFolders>true</SupportsSharedFolders>
            <FunctionFile resid="Commands.Url"/>{_surfaces(True)}
          </DesktopFormFactor>
        </Host>
      </Hosts>{_resources(base)}
      <WebApplicationInfo>
        <Id>{client_id}</Id>
        <Resource>{resource}</Resource>
        <Scopes>
{scope_xml}
        </Scopes>
      </WebApplicationInfo>
    </VersionOverrides>
  </VersionOverrides>
</OfficeApp>
"""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _ordered(children: list[str], order: list[str]) -> bool:
    positions = [order.index(c) for c in children if c in order]
    return positions == sorted(positions) and all(c in order for c in children)


def validate(
    xml_text: str, *, client_id: str | None = None, public_url: str | None = None
) -> list[str]:
    """Problems with a manifest against the rules Outlook enforces; empty when it is sound."""
    problems: list[str] = []
    try:
        root = ET.fromstring(xml_text)  # noqa: S314 - our own rendering
    except ET.ParseError as error:
        return [f"not well-formed XML: {error}"]
    if _local(root.tag) != "OfficeApp" or root.get(XSI_TYPE) != "MailApp":
        problems.append("the root must be OfficeApp of xsi:type MailApp")
    children = [_local(c.tag) for c in root]
    if not _ordered(children, MAILAPP_ORDER):
        problems.append(f"MailApp children are out of order: {children}")
    if not GUID.match(root.findtext("o:Id", "", NS)):
        problems.append("Id must be a GUID")
    if root.findtext("o:Permissions", "", NS) != "ReadWriteMailbox":
        problems.append("Permissions must be ReadWriteMailbox")
    for element in root.iter():
        value = element.get("DefaultValue", "")
        if value.startswith("http") and not value.startswith("https://"):
            problems.append(f"{_local(element.tag)} URL is not https: {value}")
    for app_domain in root.iterfind(".//o:AppDomain", NS):
        if not (app_domain.text or "").startswith("https://"):
            problems.append("AppDomain must be https")
    v10 = root.find("v10:VersionOverrides", NS)
    if v10 is None or v10.get(XSI_TYPE) != "VersionOverridesV1_0":
        return [*problems, "VersionOverrides V1_0 is missing"]
    v11 = v10.find("v11:VersionOverrides", NS)
    if v11 is None or v11.get(XSI_TYPE) != "VersionOverridesV1_1":
        return [*problems, "VersionOverrides V1_1 is missing inside V1_0"]
    if list(v10)[-1] is not v11:
        problems.append("VersionOverrides V1_1 must be the last child of V1_0")
    v11_children = [_local(c.tag) for c in v11]
    if not _ordered(v11_children, V1_1_ORDER):
        problems.append(f"V1_1 children are out of order: {v11_children}")
    if "WebApplicationInfo" not in v11_children:
        problems.append("WebApplicationInfo is missing from V1_1")
    elif v11_children.index("WebApplicationInfo") != v11_children.index("Resources") + 1:
        problems.append("WebApplicationInfo must follow Resources in V1_1")
    for form_factor in v10.iterfind("v10:Hosts/v10:Host/v10:DesktopFormFactor", NS):
        if form_factor.find("v10:SupportsSharedFolders", NS) is not None:
            problems.append("SupportsSharedFolders is only valid in the V1_1 overrides")
    desktop = v11.find("v11:Hosts/v11:Host/v11:DesktopFormFactor", NS)
    if desktop is None or len(desktop) == 0:
        problems.append("V1_1 has no DesktopFormFactor")
    else:
        first = desktop[0]
        if _local(first.tag) != "SupportsSharedFolders" or (first.text or "").strip() != "true":
            problems.append(
                "SupportsSharedFolders=true must be the first child of DesktopFormFactor"
            )
    urls = {u.get("id"): u.get("DefaultValue") for u in v11.iterfind(".//bt:Url", NS)}
    read_surface = None
    if desktop is not None:
        for point in desktop.iterfind("v11:ExtensionPoint", NS):
            if point.get(XSI_TYPE) == "MessageReadCommandSurface":
                read_surface = point
    if read_surface is None:
        problems.append("no button on MessageReadCommandSurface")
    else:
        action = read_surface.find(".//v11:Action", NS)
        source = action.find("v11:SourceLocation", NS) if action is not None else None
        if action is None or action.get(XSI_TYPE) != "ShowTaskpane" or source is None:
            problems.append("the read-surface button must show the task pane")
        elif not str(urls.get(source.get("resid"), "")).endswith("/taskpane.html"):
            problems.append("the task pane button's SourceLocation must resolve to taskpane.html")
    info = v11.find("v11:WebApplicationInfo", NS)
    if info is not None:
        app_id = info.findtext("v11:Id", "", NS)
        resource = info.findtext("v11:Resource", "", NS)
        if not GUID.match(app_id):
            problems.append("WebApplicationInfo Id must be the app's client id (a GUID)")
        if not resource.startswith("api://") or not resource.endswith("/" + app_id):
            problems.append("WebApplicationInfo Resource must be api://<host>/<client id>")
        if client_id and app_id != client_id:
            problems.append("WebApplicationInfo Id is not the configured client id")
        if public_url:
            host = urlsplit(public_url).netloc
            if resource != f"api://{host}/{app_id}":
                problems.append("WebApplicationInfo Resource does not match the public URL's host")
        if not info.findall("v11:Scopes/v11:Scope", NS):
            problems.append("WebApplicationInfo has no Scopes")
    return problems
