"""The Emulator: one emulated Microsoft 365 (a directory, its mailboxes, counters and faults),
shared by the Entra ID and Graph routes and the control routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tandem_mailbox.emulator import seed
from tandem_mailbox.emulator.exchange import Exchange
from tandem_mailbox.emulator.faults import Faults, RequestLog, Stats
from tandem_mailbox.emulator.graph import Graph
from tandem_mailbox.emulator.identity import Entra

if TYPE_CHECKING:
    from tandem_mailbox.emulator.directory import Directory


class Emulator:
    """One emulated Microsoft 365: a directory, its mailboxes, counters and faults."""

    directory: Directory  # the app registrations' tenant, set by directory.blueprint()

    def __init__(self, *, public_url: str = "https://localhost:3000", seed_value: int = 7):
        self.exchange: Exchange = seed.build(seed_value)
        self.faults = Faults()
        self.stats = Stats()
        self.requests = RequestLog()
        self.entra = Entra(self.exchange, self.faults, self.stats, public_url=public_url)
        self.graph = Graph(self.exchange, self.entra, self.faults, self.stats, self.requests)

    @property
    def base_url(self) -> str:
        """https://host:port the emulator answers on."""
        return self.entra.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self.entra.base_url = value.rstrip("/")

    def settings(self) -> dict[str, str]:
        """The TANDEM_* settings that wire a backend to this emulator."""
        return {
            "TANDEM_CLIENT_ID": seed.CLIENT_ID,
            "TANDEM_CLIENT_SECRET": seed.CLIENT_SECRET,
            "TANDEM_TENANT_ID": seed.CONTOSO,
            "TANDEM_AUTHORITY_HOST": self.entra.host,
            "TANDEM_GRAPH_URL": f"{self.base_url}/v1.0",
        }
