"""The fixed cloud table: where each Microsoft cloud authenticates, issues tokens and serves Graph.

`targetRestUrl` from Office still names the retired Outlook REST endpoint; it is only
used to recognise which cloud the item lives in, and is answered by that cloud's Graph.
Sources: learn.microsoft.com/graph/deployments, learn.microsoft.com/entra/identity-platform/
authentication-national-cloud, the Microsoft 365 GCC High and DoD endpoint lists, and the
Office.SharedProperties reference. Microsoft documents no per-cloud `targetRestUrl`; the
Outlook hosts below are each cloud's Exchange Online hosts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from tandem_mailbox.errors import TargetNotAllowed


@dataclass(frozen=True)
class Cloud:
    """One row of the table."""

    name: str
    authority_host: str
    v2_issuer_hosts: tuple[str, ...]
    v1_issuer_hosts: tuple[str, ...]
    graph_url: str
    graph_resource: str
    rest_hosts: tuple[str, ...]

    def accepts(self, target_rest_url: str, *, extra_hosts: Collection[str] = ()) -> None:
        """Raise TargetNotAllowed unless the URL is https on one of this cloud's Outlook hosts.

        `extra_hosts` (TANDEM_EXTRA_REST_HOSTS) are `host` or `host:port`, matched exactly
        against the URL's host and port; the cloud's own hosts are accepted on port 443 only.
        """
        field = "shared.targetRestUrl"
        try:
            parts = urlsplit(target_rest_url)
            port = parts.port
        except ValueError:
            raise TargetNotAllowed("targetRestUrl is not a URL.", field=field) from None
        host = (parts.hostname or "").lower()
        if parts.scheme != "https" or not host or parts.username or parts.password:
            raise TargetNotAllowed("targetRestUrl must be an https URL.", field=field)
        host_port = f"{host}:{port}" if port else host
        if (host in self.rest_hosts and port in (None, 443)) or host_port in extra_hosts:
            return
        raise TargetNotAllowed(
            f"targetRestUrl host '{host_port}' is not an Outlook host of the '{self.name}' "
            "cloud this add-in runs in.",
            field=field,
        )


CLOUDS: dict[str, Cloud] = {
    "public": Cloud(
        name="public",
        authority_host="login.microsoftonline.com",
        v2_issuer_hosts=("login.microsoftonline.com",),
        v1_issuer_hosts=("sts.windows.net",),
        graph_url="https://graph.microsoft.com/v1.0",
        graph_resource="https://graph.microsoft.com/",
        rest_hosts=("outlook.office.com", "outlook.office365.com"),
    ),
    "usgov": Cloud(
        name="usgov",
        authority_host="login.microsoftonline.us",
        v2_issuer_hosts=("login.microsoftonline.us",),
        v1_issuer_hosts=("sts.windows.net",),  # v1 issuer is shared with worldwide
        graph_url="https://graph.microsoft.us/v1.0",
        graph_resource="https://graph.microsoft.us/",
        rest_hosts=("outlook.office365.us",),
    ),
    "usgov-dod": Cloud(
        name="usgov-dod",
        authority_host="login.microsoftonline.us",
        v2_issuer_hosts=("login.microsoftonline.us",),
        v1_issuer_hosts=("sts.windows.net",),  # v1 issuer is shared with worldwide
        graph_url="https://dod-graph.microsoft.us/v1.0",
        graph_resource="https://dod-graph.microsoft.us/",
        rest_hosts=("outlook-dod.office365.us", "webmail.apps.mil"),
    ),
    "china": Cloud(
        name="china",
        authority_host="login.partner.microsoftonline.cn",
        v2_issuer_hosts=("login.partner.microsoftonline.cn", "login.chinacloudapi.cn"),
        v1_issuer_hosts=("sts.chinacloudapi.cn",),
        graph_url="https://microsoftgraph.chinacloudapi.cn/v1.0",
        graph_resource="https://microsoftgraph.chinacloudapi.cn/",
        rest_hosts=("partner.outlook.cn",),
    ),
}
