"""What a client sends the backend: the pane's item context, and requests only http.client makes."""

from __future__ import annotations

import http.client
import ssl
from typing import Any

from tandem_mailbox.certs import CertPaths
from tests.support.servers import BackendHandle


def shared_body(item_id: str, mailbox: str, bits: int = 63, **extra: Any) -> dict[str, Any]:
    """The item context the pane posts for an item of a shared mailbox or folder."""
    return {
        "itemId": item_id,
        "itemType": extra.pop("itemType", "message"),
        "shared": {
            "targetMailbox": mailbox,
            "targetRestUrl": extra.pop("targetRestUrl", "https://outlook.office.com/api"),
            "owner": mailbox,
            "delegatePermissions": bits,
        },
        **extra,
    }


def raw_request(
    base: BackendHandle | str,
    cert_paths: CertPaths,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None = None,
    *,
    chunked: bool = False,
) -> tuple[int, dict[str, str], bytes]:
    """One request through http.client, for what requests will not send (chunked, huge headers)."""
    url = base if isinstance(base, str) else base.url
    host, port = url.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(cert_paths.ca_cert))
    connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=30)
    try:
        connection.putrequest(method, path)
        for name, value in headers.items():
            connection.putheader(name, value)
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
        elif body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders()
        if body is not None:
            if chunked:
                # Two chunks, as a streaming client would send them.
                half = len(body) // 2
                for part in (body[:half], body[half:]):
                    connection.send(b"%x\r\n%s\r\n" % (len(part), part))
                connection.send(b"0\r\n\r\n")
            else:
                connection.send(body)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()
