"""`tandem demo` and `tandem emulator`: the emulator of Entra ID and Graph, and the backend
wired to it, on loopback with the development certificates (test and demo equipment: it runs
from a checkout, never from the wheel)."""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path

from tandem_mailbox import certs
from tandem_mailbox.app import create_app
from tandem_mailbox.cli.common import configure_logging, loopback_only
from tandem_mailbox.cli.devserver import Server
from tandem_mailbox.config import Settings
from tandem_mailbox.emulator import host as simulator
from tandem_mailbox.emulator.app import create_app as create_emulator
from tandem_mailbox.emulator.world import Emulator
from tandem_mailbox.mail.claim_category import category_for, is_claim
from tandem_mailbox.store.record import Key, Person, Record

SUPPORT, SALES = "support@contoso.com", "sales@contoso.com"

DEMO_OFFICE_JS = "/simulator/office.js"


def demo_servers(
    *, host: str, port: int, emulator_port: int, cert_dir: Path
) -> tuple[Server, Server, Emulator]:
    """Start the emulator and a backend wired to it; answers both servers and the emulator."""
    paths, _ = certs.ensure(cert_dir)
    # Bind the backend's port first (port 0 picks a free one): the emulator needs its URL.
    backend_server = Server(None, host=host, port=port, cert=paths.cert, key=paths.key)
    emulator_server, emulator = serve_emulator(
        host=host,
        port=emulator_port,
        cert=paths.cert,
        key=paths.key,
        public_url=backend_server.url,
    )
    settings = Settings.from_mapping(
        {
            **emulator.settings(),
            "TANDEM_PUBLIC_URL": backend_server.url,
            "TANDEM_CA_BUNDLE": str(paths.ca_cert),
            "TANDEM_OFFICE_JS_URL": DEMO_OFFICE_JS,
            # The demo's record starts afresh each time, with a few conversations already
            # owned, noted and waiting (below).
            "TANDEM_DATA_DIR": tempfile.mkdtemp(prefix="tandem-demo-"),
        }
    )
    app = create_app(settings)
    seed_record(app.extensions["tandem"].record, emulator)
    app.register_blueprint(simulator.blueprint(emulator_server.url))
    backend_server.app = app
    backend_server.start()
    return backend_server, emulator_server, emulator


def seed_record(record: Record, emulator: Emulator) -> None:
    """A team's record visible from the first click: conversations of support@ and sales@
    owned, noted and waiting, their claim categories in Exchange to match."""
    ex = emulator.exchange
    people = {p.upn: Person(p.oid, p.upn, p.name) for p in ex.people.values()}
    lee, sam, pat = (people[f"{n}@contoso.com"] for n in ("lee", "sam", "pat"))
    plan = [
        # mailbox, nth customer message, owner, status, notes (author, text)
        (SUPPORT, 1, sam, "pending", [(lee, "Refund approved by finance; waiting for the bank.")]),
        (SUPPORT, 2, lee, "open", [(sam, "@lee@contoso.com this one is a reseller: be kind.")]),
        (SUPPORT, 4, lee, "done", []),
        (SUPPORT, 6, sam, "open", []),
        (SALES, 1, pat, "pending", [(pat, "Quote sent; they decide on Friday.")]),
    ]
    with ex.lock:
        for address, members in ((SUPPORT, (lee, sam)), (SALES, (pat,))):
            mailbox = ex.mailboxes[address]
            for member in members:
                record.saw_member(mailbox.tenant_id, mailbox.guid, member)
        for address, nth, owner, status, notes in plan:
            mailbox = ex.mailboxes[address]
            inbox = ex.well_known(mailbox, "inbox")
            customers = sorted(
                (
                    i
                    for i in mailbox.items.values()
                    if i.kind == "message"
                    and i.created_by == address  # the customers' own messages
                    and inbox is not None
                    and i.folder_id == inbox.id
                ),
                key=lambda i: str(i.data.get("receivedDateTime", "")),
                reverse=True,
            )
            if len(customers) <= nth:
                continue
            item = customers[nth]
            key = Key(mailbox.tenant_id, mailbox.guid, str(item.data["conversationId"]))
            by = lee if address == SUPPORT else pat
            record.assign(key, owner, by=by)
            for author, text in notes:
                record.add_note(key, text, by=author)
            if status != "open":
                record.set_status(key, status, by=owner)
            kept = [c for c in item.data.get("categories", []) if not is_claim(c)]
            item.data["categories"] = [*kept, category_for(owner.name, owner.upn)]


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the emulator and the backend wired to it, until interrupted."""
    configure_logging(args.verbose)
    loopback_only(args.host, False)
    backend, emulator, _ = demo_servers(
        host=args.host,
        port=args.port,
        emulator_port=args.emulator_port,
        cert_dir=Path(args.certs),
    )
    print(f"Tandem demo: open {backend.url}/taskpane.html", flush=True)
    print(f"  emulator (Entra ID + Graph): {emulator.url}", flush=True)
    print(
        f"  development CA: {Path(args.certs) / 'ca.pem'} (see `tandem certs` to trust it)",
        flush=True,
    )
    print("  press Ctrl+C to stop", flush=True)
    return _wait(backend, emulator)


def _wait(*servers: Server) -> int:
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.stop()
    return 0


def cmd_emulator(args: argparse.Namespace) -> int:
    """Run the emulator alone and print the settings that wire a backend to it."""
    configure_logging(args.verbose)
    loopback_only(args.host, False)
    paths, _ = certs.ensure(Path(args.certs))
    server, emulator = serve_emulator(
        host=args.host,
        port=args.port,
        cert=paths.cert,
        key=paths.key,
        public_url=args.public_url,
    )
    print(f"Emulator of Entra ID and Graph on {server.url}", flush=True)
    print("Settings for a backend:", flush=True)
    settings = dict(
        emulator.settings(), TANDEM_CA_BUNDLE=str(paths.ca_cert), TANDEM_PUBLIC_URL=args.public_url
    )
    for name, value in settings.items():
        print(f"  export {name}={value}", flush=True)
    return _wait(server)


def serve_emulator(
    *, host: str, port: int, cert: Path, key: Path, public_url: str
) -> tuple[Server, Emulator]:
    """Bind a server (port 0 picks a free one), build the emulator with its URL, and start it.

    `public_url` is the backend's (the audience of v1 SSO tokens names its host).
    """
    server = Server(None, host=host, port=port, cert=cert, key=key)
    emulator = Emulator(public_url=public_url)
    emulator.base_url = server.url
    server.app = create_emulator(emulator)
    server.start()
    return server, emulator
