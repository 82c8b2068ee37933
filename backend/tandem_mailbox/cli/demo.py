"""`tandem demo` and `tandem emulator`: the emulator of Entra ID and Graph, and the backend
wired to it, on loopback with the development certificates (test and demo equipment: it runs
from a checkout, never from the wheel)."""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import threading
from pathlib import Path

from tandem_mailbox import certs
from tandem_mailbox.app import create_app
from tandem_mailbox.cli.common import configure_logging, loopback_only
from tandem_mailbox.cli.devserver import Server
from tandem_mailbox.config import Settings
from tandem_mailbox.emulator import host as simulator
from tandem_mailbox.emulator import seed
from tandem_mailbox.emulator.app import create_app as create_emulator
from tandem_mailbox.emulator.world import Emulator
from tandem_mailbox.mail.claim_category import category_for, is_claim
from tandem_mailbox.services import Services
from tandem_mailbox.store.mailbox import Policy
from tandem_mailbox.store.record import Key, Person, Record, utc_now

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
    services: Services = app.extensions["tandem"]
    seed_record(services.record, emulator)
    seed_week(services, emulator, utc_now())
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


# The recent week's record (emulator/seed.py's RECENT_WEEK): when each conversation was set
# done or waiting on the customer, in minutes ago; the owner is the member whose claim the
# newest customer message carries, who took it two minutes after the customer first wrote.
WEEK_STATUS: dict[str, tuple[str, int]] = {
    "Quote for 50 seats": ("pending", 890),
    "VAT number on invoices": ("pending", 1290),
    "Cancel my subscription": ("pending", 5490),  # the customer wrote again 300 minutes ago
    "Upgrade to the Pro plan": ("done", 2800),
    "Broken link in the welcome email": ("done", 2650),
    "Login page is slow": ("done", 3200),
    "Change of billing contact": ("done", 4150),
    "Two-factor codes not arriving": ("done", 3900),
    "Data export in CSV": ("done", 5550),
    "Training session for new staff": ("done", 6900),
    "Password policy question": ("done", 7200),
    "Missing items in order 66120": ("done", 8200),
    "Accessibility of the portal": ("done", 8700),
    "Holiday opening hours": ("done", 9400),
}
FIRST_RESPONSE_MINUTES = 240  # around the clock: three of the week's conversations are late
TEMPLATES = [
    (
        "Thanks, we're on it",
        "Hi {{customer.firstName}},\n\nThanks for writing to {{mailbox.name}}. I'm looking "
        "into this now and will come back to you today.\n\nBest regards,\n{{me.name}}",
    ),
    (
        "Password reset steps",
        "Hi {{customer.firstName}},\n\nTo sign in again, open the sign-in page, choose "
        '"Forgot password" and follow the link we send to your work address: it works for 30 '
        "minutes. If it doesn't arrive, tell me and I'll reset it for you.\n\n"
        "{{me.firstName}}, {{mailbox.name}}",
    ),
    (
        "Refund on its way",
        "Hi {{customer.firstName}},\n\nThe refund is on its way: it reaches your card within "
        "five working days.\n\nKind regards,\n{{me.name}}\n{{mailbox.name}}",
    ),
]


def seed_week(services: Services, emulator: Emulator, now: dt.datetime) -> None:
    """support@'s recent week in Exchange (RECENT_WEEK) and in the team's record, as if Tandem
    had been there: who took each conversation, the answers sent through Tandem, what was set
    done or waiting, each at its own time; a first-response target of 240 minutes around the
    clock and the team's templates. The queue and the numbers have something to show."""
    ex = emulator.exchange
    store = services.record.store
    people = {p.upn: Person(p.oid, p.upn, p.name) for p in ex.people.values()}

    def at(minutes_ago: int) -> Record:
        moment = now - dt.timedelta(minutes=minutes_ago)
        return Record(store, clock=lambda: moment)

    with ex.lock:
        threads = seed.add_recent_week(ex, now)
        support = ex.mailboxes[SUPPORT]
        tenant, guid = support.tenant_id, support.guid
        for (_, subject, steps, claim), items in zip(seed.RECENT_WEEK, threads, strict=True):
            key = Key(tenant, guid, str(items[0].data["conversationId"]))
            happenings: list[tuple[int, str, str]] = [(ago, who, "") for who, ago, _ in steps]
            if claim:
                happenings.append((steps[0][1] - 2, claim, "take"))
            if subject in WEEK_STATUS:
                status, ago = WEEK_STATUS[subject]
                happenings.append((ago, claim or "lee@contoso.com", status))
            for ago, who, what in sorted(happenings, key=lambda h: -h[0]):
                moment = now - dt.timedelta(minutes=ago)
                record = at(ago)
                if what == "take":
                    record.assign(key, people[who], by=people[who])
                elif what:
                    record.set_status(key, what, by=people[who])
                elif who == "customer":
                    record.saw_message(key, moment, from_customer=True)
                else:  # an answer sent through Tandem: the timeline's reply, the clock stops
                    detail = {"outcome": "sent", "route": "mailbox", "sentAs": "sendAs"}
                    record.event(key, "reply", by=people[who], detail=detail | {"recipients": 1})
                    record.saw_message(key, moment, from_customer=False)
    # Lee leads support@'s team in the demo: a Tandem administrator, assigned the app role as
    # an administrator would (Graph's appRoleAssignedTo on Tandem's service principal), so the
    # pane's Target tab is his to change.
    directory = emulator.directory
    with directory.lock:
        sp = directory.find_service_principal(emulator.entra.app.client_id)
        assert sp is not None
        role = next(r for r in sp["appRoles"] if r["value"] == seed.ADMIN_ROLE)
        lee = people["lee@contoso.com"]
        directory.assign(
            sp, {"principalId": lee.oid, "resourceId": sp["id"], "appRoleId": role["id"]}
        )
    adele = people["adele@contoso.com"]
    services.mailboxes.save_policy(
        tenant,
        guid,
        Policy(FIRST_RESPONSE_MINUTES, frozenset(range(7)), 0, 24 * 60, "UTC"),
        by=adele,
    )
    for n, (name, body) in enumerate(TEMPLATES):
        author = people["lee@contoso.com" if n % 2 == 0 else "sam@contoso.com"]
        services.mailboxes.save_template(
            tenant, guid, template_id=None, name=name, body=body, by=author
        )


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
    with emulator.exchange.lock:  # support@'s recent week, for a queue worth looking at
        seed.add_recent_week(emulator.exchange, utc_now())
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
