"""A reply goes out once: the pane waits longer than the server can take, so it never gives
up on a send that is still going."""

from __future__ import annotations

import re
import uuid

from tandem_mailbox.config import Settings
from tests.support.paths import REPO


def test_the_pane_waits_longer_than_the_server_can_take():
    """d. The pane's default wait for an action outlives the server's worst case."""
    source = (REPO / "taskpane" / "api.js").read_text()
    found = re.search(r"ACTION_TIMEOUT_MS = (\d+);", source)
    assert found is not None
    settings = Settings.from_mapping(
        {
            "TANDEM_CLIENT_ID": str(uuid.uuid4()),
            "TANDEM_TENANT_ID": str(uuid.uuid4()),
            "TANDEM_CLIENT_SECRET": "x" * 20,
        }
    )
    assert int(found.group(1)) > settings.longest_request * 1000
