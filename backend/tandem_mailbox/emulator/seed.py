"""The seeded world of DESIGN.md: tenant contoso with Adele, her delegates, two shared mailboxes.

Mostly data (people, subjects, customers), built in a fixed order because ids are handed out in
that order: new people and folders are built last, so every existing id stays what it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from typing import Any

from tandem_mailbox.emulator.exchange import (
    Exchange,
    Folder,
    Item,
    Mailbox,
    Person,
    conversation_id,
    conversation_index,
)

CONTOSO = "9188040d-6c67-4c5b-b112-36a304b66dad"
FABRIKAM = "72f988bf-86f1-41af-91ab-2d7cd011db47"
NORTHWIND = "d5b9d7e4-2f1c-4e3a-9a8b-6c1f0e2a7b44"
TENANTS = {
    CONTOSO: {"name": "contoso", "domain": "contoso.com", "displayName": "Contoso"},
    FABRIKAM: {"name": "fabrikam", "domain": "fabrikam.com", "displayName": "Fabrikam"},
    NORTHWIND: {"name": "northwind", "domain": "northwind.com", "displayName": "Northwind"},
}
# The add-in's app registration in the emulator, and its secret (demo equipment only).
CLIENT_ID = "6f1e9a3c-2b7d-4e58-9c41-0d3a5b8e7f26"
CLIENT_SECRET = "tandem-demo-secret-not-for-production"
APP_NAME = "Tandem"
BASE_TIME = dt.datetime(2026, 11, 16, 8, 30, tzinfo=dt.UTC)

READ, WRITE, DELETE_OWN, DELETE_ALL, EDIT_OWN, EDIT_ALL = 1, 2, 4, 8, 16, 32
REVIEWER = READ
AUTHOR = READ | WRITE | DELETE_OWN | EDIT_OWN  # 23
EDITOR = 63

PEOPLE = [
    # upn, name, tenant, persona key, what the simulator says about them
    (
        "adele@contoso.com",
        "Adele Vance",
        CONTOSO,
        "owner",
        "Owns her mailbox; shares Inbox and Calendar with Megan, Alex and Nestor",
    ),
    (
        "megan@contoso.com",
        "Megan Bowen",
        CONTOSO,
        "delegate-reviewer",
        "Delegate of Adele as Reviewer (read only)",
    ),
    (
        "alex@contoso.com",
        "Alex Wilber",
        CONTOSO,
        "delegate-author",
        "Delegate of Adele as Author (create, edit and delete own items)",
    ),
    (
        "nestor@contoso.com",
        "Nestor Wilke",
        CONTOSO,
        "delegate-editor",
        "Delegate of Adele as Editor, with Send on Behalf",
    ),
    (
        "lee@contoso.com",
        "Lee Gu",
        CONTOSO,
        "shared-member",
        "Member of support@ with Full Access and Send As",
    ),
    (
        "pat@contoso.com",
        "Pat Ortiz",
        CONTOSO,
        "shared-member-sob",
        "Member of sales@ with Full Access and Send on Behalf only",
    ),
    (
        "joni@contoso.com",
        "Joni Sherman",
        CONTOSO,
        "no-access",
        "Has access to nothing but her own mailbox",
    ),
    (
        "diego@fabrikam.com",
        "Diego Siciliani",
        FABRIKAM,
        "other-tenant",
        "A person of Fabrikam, a second customer tenant",
    ),
    (
        "rosa@northwind.com",
        "Rosa Almeida",
        NORTHWIND,
        "third-tenant",
        "A person of Northwind, a tenant no deployment allows by default",
    ),
]

CUSTOMERS = [
    ("Maria Lopez", "maria.lopez@adatum.com"),
    ("Kenji Watanabe", "kenji@litware.com"),
    ("Priya Raman", "priya.raman@tailspintoys.com"),
    ("Tom Becker", "tom.becker@wingtiptoys.com"),
    ("Aisha Bello", "aisha@proseware.com"),
    ("Lars Nilsson", "lars.nilsson@fourthcoffee.com"),
    ("Chen Wei", "chen.wei@woodgrovebank.com"),
    ("Olga Petrova", "olga@margiestravel.com"),
]
SUPPORT_SUBJECTS = [
    "Printer on the 3rd floor jams on every duplex job",
    "VPN drops every hour since Monday",
    "Invoice 10432 shows the wrong billing address",
    "Cannot sign in to the customer portal",
    "Request: add two seats to our subscription",
    "Shipment 7781 arrived damaged",
    "Password reset email never arrives",
    "Question about the March price list",
    "Export to CSV truncates long names",
    "Calendar invites show in the wrong time zone",
    "Our admin left - how do we transfer ownership?",
    "Refund for duplicate charge on order 5520",
    "Mobile app crashes when opening attachments",
    "Feature request: dark mode for reports",
    "Need a copy of our signed contract",
    "Two-factor codes arrive late",
    "Data import stuck at 99%",
    "Wrong tax rate applied to EU order",
    "Webhook deliveries failing with 401",
    "How do I change the account owner's email?",
    "Training session for new staff",
    "License key not accepted after reinstall",
    "API rate limit reached during nightly sync",
    "Delivery address change for order 6114",
    "Report totals differ from dashboard",
    "Support ticket follow-up: case 4471",
    "Accessibility: screen reader skips table headers",
    "SSO with our identity provider",
]
SALES_SUBJECTS = [
    "Quote request: 50 seats, annual plan",
    "Follow-up on last week's demo",
    "Pricing for non-profit organisations",
    "RFP: collaboration tools 2027",
    "Can we get a trial extension?",
    "Volume discount for 200+ users",
    "Partner programme enquiry",
    "Meeting request: procurement review",
    "Renewal terms for contract C-2291",
    "Questions on data residency",
    "Upgrade from Standard to Premium",
    "Reseller margin structure",
    "Invoice schedule for multi-year deal",
    "Introduction: new IT director",
    "Security questionnaire attached",
    "Budget approved - next steps",
    "Competitive comparison request",
    "Demo for the finance team",
    "Onboarding timeline question",
    "Purchase order PO-88213",
    "Regional pricing in APAC",
    "Interested in the analytics add-on",
]
ADELE_SUBJECTS = [
    ("Board meeting agenda - draft 2", "nestor@contoso.com"),
    ("Q4 budget review numbers", "external"),
    ("Travel: Seattle offsite logistics", "external"),
    ("Re: Hiring plan for Marketing", "external"),
    ("Press release review by Friday", "external"),
    ("Customer visit - Fabrikam", "external"),
    ("Notes from the leadership sync", "alex@contoso.com"),
    ("Expense report approval", "external"),
    ("Partner summit invitation", "external"),
    ("Contract renewal: Litware", "external"),
    ("Product roadmap feedback", "external"),
    ("Follow-ups for Adele (prepared by Alex)", "alex@contoso.com"),
    ("Quarterly all-hands: speaker notes", "external"),
    ("Office move timeline", "external"),
    ("Interview loop for Senior PM", "external"),
]

# App roles assigned on Tandem's enterprise application (Entra puts them in the token's
# `roles`): Adele may set her mailboxes' first-response policy, as DESIGN.md's seeded world says.
ADMIN_ROLE = "Tandem.Admin"
APP_ROLES: dict[str, tuple[str, ...]] = {"adele@contoso.com": (ADMIN_ROLE,)}


def _message(
    rng: random.Random,
    *,
    index: int,
    subject: str,
    sender: tuple[str, str],
    to: tuple[str, str],
    minutes_ago: int,
    read: bool,
) -> dict[str, Any]:
    when = (BASE_TIME - dt.timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    preview = (
        f"Hello, {subject.lower()}. Could you take a look and let me know what you need "
        "from our side? Thanks."
    )
    conversation = hashlib.sha256(f"{subject}{index}".encode()).hexdigest()[:40]
    return {
        "subject": subject,
        "bodyPreview": preview[:255],
        "body": {"contentType": "text", "content": preview + f"\n\n{sender[0]}"},
        "from": {"emailAddress": {"name": sender[0], "address": sender[1]}},
        "sender": {"emailAddress": {"name": sender[0], "address": sender[1]}},
        "toRecipients": [{"emailAddress": {"name": to[0], "address": to[1]}}],
        "ccRecipients": [],
        "replyTo": [],
        "receivedDateTime": when,
        "sentDateTime": when,
        "createdDateTime": when,
        "isRead": read,
        "isDraft": False,
        "importance": "high" if rng.random() < 0.1 else "normal",
        "hasAttachments": rng.random() < 0.2,
        "categories": [],
        "flag": {"flagStatus": "notFlagged"},
        "conversationId": "AAQk" + conversation,
        "internetMessageId": f"<{conversation[:24]}@{sender[1].split('@')[1]}>",
    }


def _event(
    subject: str,
    organizer: tuple[str, str],
    days_ahead: int,
    hour: int,
    *,
    attendee: tuple[str, str],
) -> dict[str, Any]:
    start = (BASE_TIME + dt.timedelta(days=days_ahead)).replace(hour=hour, minute=0)
    end = start + dt.timedelta(minutes=60)
    organizes = organizer[1] == attendee[1]
    return {
        "subject": subject,
        "bodyPreview": f"{subject}.",
        "body": {"contentType": "text", "content": f"{subject}."},
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
        "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
        "location": {"displayName": "Conference room 4.1"},
        "organizer": {"emailAddress": {"name": organizer[0], "address": organizer[1]}},
        "attendees": []
        if organizes
        else [
            {
                "type": "required",
                "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {"name": attendee[0], "address": attendee[1]},
            }
        ],
        "categories": [],
        "isCancelled": False,
        "isOrganizer": organizes,
        "responseStatus": {
            "response": "organizer" if organizes else "notResponded",
            "time": "0001-01-01T00:00:00Z",
        },
        "showAs": "busy",
        "type": "singleInstance",
        "createdDateTime": BASE_TIME.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _fill(
    ex: Exchange,
    rng: random.Random,
    mailbox: Mailbox,
    folder: Folder,
    subjects: list[str],
    *,
    start: int,
    member_authors: list[str] | None = None,
) -> None:
    to = (mailbox.display_name, mailbox.address)
    for n, subject in enumerate(subjects):
        author = None
        if member_authors and n % 7 == 3:  # a few items were created by members themselves
            author = member_authors[(n // 7) % len(member_authors)]
        if author:
            person = ex.person(author)
            assert person is not None
            sender = (person.name, person.upn)
            created_by = person.upn
            subject = f"Internal note: {subject}"
        else:
            sender = CUSTOMERS[(start + n) % len(CUSTOMERS)]
            created_by = mailbox.address
        data = _message(
            rng,
            index=start + n,
            subject=subject,
            sender=sender,
            to=to,
            minutes_ago=37 * (start + n) + 5,
            read=rng.random() < 0.4,
        )
        ex.add_item(mailbox, folder, "message", created_by, data)


def build(seed: int = 7) -> Exchange:
    """The seeded world, the same on every run."""
    ex = Exchange(seed=seed)
    rng = random.Random(seed)
    people = {}
    for upn, name, tenant, persona, description in PEOPLE:
        people[upn] = ex.add_person(
            Person(
                oid=ex.guid(),
                upn=upn,
                name=name,
                tenant_id=tenant,
                persona=persona,
                description=description,
            )
        )

    mailboxes: dict[str, Mailbox] = {}
    for upn, person in people.items():
        mailboxes[upn] = ex.add_mailbox(
            Mailbox(
                guid=ex.guid(),
                address=upn,
                display_name=person.name,
                kind="user",
                tenant_id=person.tenant_id,
                owner_upn=upn,
            )
        )
        inbox = ex.well_known(mailboxes[upn], "inbox")
        assert inbox is not None
        _fill(
            ex,
            rng,
            mailboxes[upn],
            inbox,
            [
                f"Welcome to {TENANTS[person.tenant_id]['displayName']}, {person.name.split()[0]}",
                "Your weekly digest",
                "Lunch on Thursday?",
            ],
            start=len(upn),
        )

    support = ex.add_mailbox(
        Mailbox(
            guid=ex.guid(),
            address="support@contoso.com",
            display_name="Contoso Support",
            kind="shared",
            tenant_id=CONTOSO,
            full_access={"lee@contoso.com"},
            send_as={"lee@contoso.com"},
        )
    )
    sales = ex.add_mailbox(
        Mailbox(
            guid=ex.guid(),
            address="sales@contoso.com",
            display_name="Contoso Sales",
            kind="shared",
            tenant_id=CONTOSO,
            full_access={"pat@contoso.com"},
            send_on_behalf={"pat@contoso.com"},
        )
    )
    for mailbox, subjects, member in (
        (support, SUPPORT_SUBJECTS, "lee@contoso.com"),
        (sales, SALES_SUBJECTS, "pat@contoso.com"),
    ):
        inbox = ex.well_known(mailbox, "inbox")
        assert inbox is not None
        _fill(ex, rng, mailbox, inbox, subjects, start=0, member_authors=[member])
        escalations = ex.add_folder(
            mailbox, "Escalations" if mailbox is support else "Qualified leads", parent=inbox
        )
        waiting = ex.add_folder(
            mailbox,
            "Waiting on customer" if mailbox is support else "Proposals sent",
            parent=inbox,
        )
        _fill(ex, rng, mailbox, escalations, subjects[:5], start=40, member_authors=[member])
        _fill(ex, rng, mailbox, waiting, subjects[5:10], start=50)
        calendar = ex.well_known(mailbox, "calendar")
        assert calendar is not None
        own = (mailbox.display_name, mailbox.address)
        member_person = ex.person(member)
        assert member_person is not None
        # Organizers: a member, the mailbox itself, a customer (an organizer cannot respond).
        organizers = [(member_person.name, member), own, CUSTOMERS[1 if mailbox is support else 2]]
        for day, title in enumerate(("Team stand-up", "Queue review", "Customer call")):
            ex.add_item(
                mailbox,
                calendar,
                "event",
                member,
                _event(title, organizers[day], day + 1, 9 + day, attendee=own),
            )

    adele = mailboxes["adele@contoso.com"]
    inbox = ex.well_known(adele, "inbox")
    calendar = ex.well_known(adele, "calendar")
    assert inbox is not None and calendar is not None
    for n, (subject, author) in enumerate(ADELE_SUBJECTS):
        if author == "external":
            sender, created_by = CUSTOMERS[n % len(CUSTOMERS)], adele.address
        else:
            person = people[author]
            sender, created_by = (person.name, person.upn), person.upn
        data = _message(
            rng,
            index=100 + n,
            subject=subject,
            sender=sender,
            to=(adele.display_name, adele.address),
            minutes_ago=53 * n + 11,
            read=n % 3 == 0,
        )
        ex.add_item(adele, inbox, "message", created_by, data)
    own = (adele.display_name, adele.address)
    for n, (title, organizer) in enumerate(
        (
            ("1:1 with Megan", ("Megan Bowen", "megan@contoso.com")),
            ("Leadership sync", ("Nestor Wilke", "nestor@contoso.com")),
            ("Budget review", CUSTOMERS[0]),
            ("Customer visit - Fabrikam", ("Diego Siciliani", "diego@fabrikam.com")),
            ("Interview: Senior PM", ("Alex Wilber", "alex@contoso.com")),
            ("Board meeting prep", own),
        )
    ):
        created_by = "alex@contoso.com" if n == 4 else adele.address
        ex.add_item(
            adele,
            calendar,
            "event",
            created_by,
            _event(title, organizer, n, 10 + n % 6, attendee=own),
        )
    for folder in (inbox, calendar):
        folder.permissions.update(
            {
                "megan@contoso.com": REVIEWER,
                "alex@contoso.com": AUTHOR,
                "nestor@contoso.com": EDITOR,
            }
        )
    adele.send_on_behalf.add("nestor@contoso.com")
    _add_later(ex, rng, support)
    _add_threads(ex)
    return ex


def _add_later(ex: Exchange, rng: random.Random, support: Mailbox) -> None:
    """What the world gained after its first ids were handed out, built last so they stay.

    Sam Taylor, a second member of support@ (Full Access and Send As), listed after Lee; and
    a Junk Email folder in every mailbox.
    """
    upn, name = "sam@contoso.com", "Sam Taylor"
    sam = Person(
        oid=ex.guid(),
        upn=upn,
        name=name,
        tenant_id=CONTOSO,
        persona="shared-member",
        description="Member of support@ with Full Access and Send As",
    )
    people = list(ex.people.items())
    at = next(i for i, (key, _) in enumerate(people) if key == "lee@contoso.com") + 1
    people.insert(at, (upn, sam))
    ex.people = dict(people)
    mailbox = ex.add_mailbox(
        Mailbox(
            guid=ex.guid(),
            address=upn,
            display_name=name,
            kind="user",
            tenant_id=CONTOSO,
            owner_upn=upn,
        )
    )
    inbox = ex.well_known(mailbox, "inbox")
    assert inbox is not None
    subjects = ["Welcome to Contoso, Sam", "Your weekly digest", "Lunch on Thursday?"]
    _fill(ex, rng, mailbox, inbox, subjects, start=len(upn))
    support.full_access.add(upn)
    support.send_as.add(upn)
    for box in ex.mailboxes.values():
        ex.add_folder(box, "Junk Email", well_known="junkemail")


# Real threads in the shared mailboxes, for a queue and a first-response time: a customer
# writes, a member answers from the mailbox (Sent Items), the customer writes again. Each step:
# (who, days before BASE_TIME, "HH:MM", text); "customer" lands in the Inbox, a member's upn
# sends from the mailbox. `read`, `claim` (the holder's upn) and `flag` describe the newest
# customer item. All of it older than the other Inbox items, so their order stays.
THREADS: dict[str, list[dict[str, Any]]] = {
    "support@contoso.com": [
        {
            "customer": ("Maria Lopez", "maria.lopez@adatum.com"),
            "subject": "Order 8812 never arrived",
            "steps": [
                ("customer", 3, "09:10", "Our order 8812 was due on Friday and never came."),
                ("lee@contoso.com", 3, "11:40", "Sorry about that - I have asked the carrier."),
                ("customer", 1, "08:05", "Still nothing today. Can you send a replacement?"),
            ],
            "read": False,
            "claim": "lee@contoso.com",
        },
        {
            "customer": ("Kenji Watanabe", "kenji@litware.com"),
            "subject": "Cannot export invoices to PDF",
            "steps": [
                ("customer", 2, "14:20", "The PDF export button does nothing for invoices."),
                ("customer", 2, "16:45", "Tried another browser, same. This blocks our month end."),
            ],
            "read": False,
        },
        {
            "customer": ("Priya Raman", "priya.raman@tailspintoys.com"),
            "subject": "Moving seats between teams",
            "steps": [
                ("customer", 4, "10:00", "How do we move three seats from Sales to Support?"),
                ("lee@contoso.com", 4, "13:30", "Admin > Seats > Move: pick the team, then save."),
                ("customer", 3, "09:00", "That worked, thank you!"),
            ],
            "read": True,
        },
        {
            "customer": ("Tom Becker", "tom.becker@wingtiptoys.com"),
            "subject": "New billing contact",
            "steps": [
                ("customer", 1, "13:30", "Please send invoices to ap@wingtiptoys.com from now on."),
                ("sam@contoso.com", 1, "14:05", "Done: invoices go to ap@wingtiptoys.com."),
            ],
            "read": True,
        },
        {
            "customer": ("Aisha Bello", "aisha@proseware.com"),
            "subject": "Rotating our API key",
            "steps": [
                ("customer", 2, "09:40", "Can we rotate the API key without downtime?"),
                ("sam@contoso.com", 2, "10:05", "Yes: create the second key, switch, revoke."),
                ("customer", 1, "10:15", "The second key gets a 401. What are we missing?"),
            ],
            "read": False,
            "claim": "sam@contoso.com",
            "flag": "flagged",
        },
    ],
    "sales@contoso.com": [
        {
            "customer": ("Lars Nilsson", "lars.nilsson@fourthcoffee.com"),
            "subject": "Quote for 120 seats",
            "steps": [
                ("customer", 3, "11:00", "Could you quote 120 seats on the annual plan?"),
                ("pat@contoso.com", 3, "15:20", "Attached: 120 seats, annual, 12% off."),
                ("customer", 2, "09:30", "Thanks. Can the discount reach 15% on a 2-year term?"),
            ],
            "read": False,
        },
        {
            "customer": ("Chen Wei", "chen.wei@woodgrovebank.com"),
            "subject": "Renewal pricing for 2027",
            "steps": [("customer", 1, "12:00", "What will our renewal cost for 2027?")],
            "read": False,
        },
    ],
}


def _add_threads(ex: Exchange) -> None:
    """The THREADS, built last so every earlier id stays as it was."""
    for address, threads in THREADS.items():
        mailbox = ex.mailbox(address)
        assert mailbox is not None
        for thread in threads:
            steps = []
            for who, days, clock, text in thread["steps"]:
                hour, minute = (int(part) for part in clock.split(":"))
                when = (BASE_TIME - dt.timedelta(days=days)).replace(hour=hour, minute=minute)
                steps.append((who, when, text))
            add_conversation(
                ex,
                mailbox,
                customer=thread["customer"],
                subject=thread["subject"],
                steps=steps,
                read=thread["read"],
                claim=thread.get("claim"),
                flag=thread.get("flag"),
            )


def add_conversation(
    ex: Exchange,
    mailbox: Mailbox,
    *,
    customer: tuple[str, str],
    subject: str,
    steps: list[tuple[str, dt.datetime, str]],
    read: bool = False,
    claim: str | None = None,
    flag: str | None = None,
) -> list[Item]:
    """A thread of `mailbox`: each step (who, when, text) a customer's message in the Inbox, or
    a member's answer sent from the mailbox (its copy in Sent Items). `read`, `claim` (a
    member's upn) and `flag` describe the newest customer message. Answers every item made."""
    inbox, sent = ex.well_known(mailbox, "inbox"), ex.well_known(mailbox, "sentitems")
    assert inbox is not None and sent is not None
    own = {"emailAddress": {"name": mailbox.display_name, "address": mailbox.address}}
    guid = hashlib.sha256(f"{mailbox.address}{subject}".encode()).digest()[:16]
    conversation = conversation_id(mailbox.guid, guid)
    name, address = customer
    them = {"emailAddress": {"name": name, "address": address}}
    index: str | None = None
    customers = [n for n, step in enumerate(steps) if step[0] == "customer"]
    last_customer = max(customers) if customers else -1
    made: list[Item] = []
    for n, (who, when, text) in enumerate(steps):
        stamp = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        index = conversation_index(guid, stamp, parent=index)
        data: dict[str, Any] = {
            "subject": subject if n == 0 else f"RE: {subject}",
            "body": {"contentType": "text", "content": text},
            "bodyPreview": text[:255],
            "receivedDateTime": stamp,
            "sentDateTime": stamp,
            "createdDateTime": stamp,
            "isDraft": False,
            "importance": "normal",
            "hasAttachments": False,
            "categories": [],
            "flag": {"flagStatus": "notFlagged"},
            "conversationId": conversation,
            "conversationIndex": index,
            "internetMessageId": f"<{guid.hex()[:20]}.{n}@"
            f"{(address if who == 'customer' else mailbox.address).split('@')[1]}>",
        }
        if who == "customer":
            data.update({"from": them, "sender": them, "toRecipients": [own]})
            data["isRead"] = read or n != last_customer
            if n == last_customer and claim:
                person = ex.person(claim)
                assert person is not None
                data["categories"] = [f"Tandem: {person.name} ({person.upn})"]
            if n == last_customer and flag:
                data["flag"] = {"flagStatus": flag}
            made.append(ex.add_item(mailbox, inbox, "message", mailbox.address, data))
        else:
            member = ex.person(who)
            assert member is not None
            acting = {"emailAddress": {"name": member.name, "address": member.upn}}
            # Send As: the mailbox is the sender; Send on Behalf: the member is.
            sender = own if who in mailbox.send_as else acting
            data.update({"from": own, "sender": sender, "toRecipients": [them]})
            data["isRead"] = True
            made.append(ex.add_item(mailbox, sent, "message", member.upn, data))
    return made


# A week of support@'s work, written relative to the moment the emulator starts (the demo's and
# `tandem emulator`'s, not the tests' fixed world): the queue has something to show. Each
# conversation: (customer, subject, steps as (who, minutes ago, text), claim), where the claim
# is the member whose Tandem claim category the newest customer message carries. With a
# first-response target of 240 minutes around the clock, three are late (two nobody's, one
# Sam's), five are due later, and the others were answered on time or late over the week.
RECENT_WEEK: list[tuple[tuple[str, str], str, list[tuple[str, int, str]], str | None]] = [
    (
        ("Olivia Grant", "olivia.grant@fabrikam.com"),
        "Cannot log in after the password reset",
        [("customer", 520, "Since this morning's password reset none of us can sign in.")],
        None,
    ),
    (
        ("Noah Fischer", "noah.fischer@adventure-works.com"),
        "Invoice 4471 charged twice",
        [("customer", 380, "Our card was charged twice for invoice 4471. Please refund one.")],
        None,
    ),
    (
        ("Emma Rossi", "emma.rossi@northwindtraders.com"),
        "Shipping address for order 88213",
        [("customer", 1500, "Please ship order 88213 to our new Milan office instead.")],
        "sam@contoso.com",
    ),
    (
        ("Lucas Martin", "lucas.martin@contoso-partner.com"),
        "Printer driver for the X200",
        [("customer", 200, "Where do we find the macOS driver for the X200?")],
        None,
    ),
    (
        ("Mia Svensson", "mia.svensson@woodgrovebank.com"),
        "Bulk licence discount",
        [("customer", 170, "Is there a discount above 200 licences?")],
        "lee@contoso.com",
    ),
    (
        ("Ethan Clarke", "ethan.clarke@litware.com"),
        "API rate limits",
        [("customer", 95, "We hit 429s at 50 requests a second. Is that the documented limit?")],
        None,
    ),
    (
        ("Sofia Jensen", "sofia.jensen@proseware.com"),
        "Where is my refund?",
        [("customer", 40, "The refund you promised last week hasn't arrived.")],
        None,
    ),
    (
        ("Liam O'Brien", "liam.obrien@tailspintoys.com"),
        "Feature request: dark mode",
        [("customer", 12, "Any plans for a dark mode in the portal?")],
        None,
    ),
    (
        ("Chloe Dubois", "chloe.dubois@wingtiptoys.com"),
        "Order 7781 arrived damaged",
        [
            ("customer", 600, "Two of the five monitors in order 7781 arrived cracked."),
            ("lee@contoso.com", 560, "I'm sorry! Replacements are on their way today."),
        ],
        "lee@contoso.com",
    ),
    (
        ("Jonas Weber", "jonas.weber@fourthcoffee.com"),
        "Integration with Teams",
        [
            ("customer", 2000, "Can Tandem's notifications go to a Teams channel?"),
            ("sam@contoso.com", 1950, "Not yet: I've added your vote to the request."),
        ],
        "sam@contoso.com",
    ),
    (
        ("Ava Novak", "ava.novak@adatum.com"),
        "Quote for 50 seats",
        [
            ("customer", 1000, "Could you quote 50 seats for a year?"),
            ("lee@contoso.com", 900, "Attached: 50 seats, annual. Valid for 30 days."),
        ],
        "lee@contoso.com",
    ),
    (
        ("Mateo Silva", "mateo.silva@relecloud.com"),
        "VAT number on invoices",
        [
            ("customer", 1400, "Our VAT number is missing from the last two invoices."),
            ("sam@contoso.com", 1300, "Which VAT number should they show? I'll reissue both."),
        ],
        "sam@contoso.com",
    ),
    (
        ("Isabella Moreau", "isabella.moreau@fabrikam.com"),
        "Cancel my subscription",
        [
            ("customer", 5800, "Please cancel our subscription at the end of the term."),
            ("sam@contoso.com", 5500, "Done: it ends on the 31st. Anything we could do better?"),
            ("customer", 300, "Actually, could we keep two seats instead of cancelling?"),
        ],
        "sam@contoso.com",
    ),
    (
        ("Henry Walsh", "henry.walsh@northwindtraders.com"),
        "Upgrade to the Pro plan",
        [
            ("customer", 2900, "How do we upgrade to Pro mid-term?"),
            ("lee@contoso.com", 2850, "Admin > Plan > Upgrade: you pay the difference only."),
        ],
        "lee@contoso.com",
    ),
    (
        ("Zoe Kowalski", "zoe.kowalski@litware.com"),
        "Broken link in the welcome email",
        [
            ("customer", 3000, "The 'Get started' link in the welcome email is a 404."),
            ("sam@contoso.com", 2700, "Thanks! Fixed, and the old link redirects now."),
        ],
        "sam@contoso.com",
    ),
    (
        ("Oscar Lindqvist", "oscar.lindqvist@woodgrovebank.com"),
        "Login page is slow",
        [
            ("customer", 3500, "The login page takes 20 seconds to load."),
            ("lee@contoso.com", 3450, "We found a slow CDN node and moved you off it."),
            ("customer", 3300, "Much better now, thanks!"),
        ],
        "lee@contoso.com",
    ),
    (
        ("Grace Kim", "grace.kim@proseware.com"),
        "Change of billing contact",
        [
            ("customer", 4300, "Please send invoices to finance@proseware.com from now on."),
            ("lee@contoso.com", 4200, "Done: finance@proseware.com gets them from now on."),
        ],
        "lee@contoso.com",
    ),
    (
        ("Samuel Adeyemi", "samuel.adeyemi@adventure-works.com"),
        "Two-factor codes not arriving",
        [
            ("customer", 4400, "Our staff in Lagos get no two-factor codes by text."),
            ("sam@contoso.com", 4000, "Switched your tenant to the app-based codes: try now."),
        ],
        "sam@contoso.com",
    ),
    (
        ("Hannah Berg", "hannah.berg@tailspintoys.com"),
        "Data export in CSV",
        [
            ("customer", 5700, "Can we export the audit log as CSV?"),
            ("lee@contoso.com", 5600, "Yes: Reports > Audit > Export, pick CSV."),
        ],
        "lee@contoso.com",
    ),
    (
        ("Daniel Costa", "daniel.costa@wingtiptoys.com"),
        "Training session for new staff",
        [
            ("customer", 7100, "Could you run a one-hour training for six new starters?"),
            ("lee@contoso.com", 7000, "Gladly: Tuesday at 10:00 works for us."),
        ],
        "lee@contoso.com",
    ),
    (
        ("Leah Fischer", "leah.fischer@fourthcoffee.com"),
        "Password policy question",
        [
            ("customer", 7300, "Can we require 14-character passwords?"),
            ("sam@contoso.com", 7250, "Yes: Admin > Security > Password length."),
        ],
        "sam@contoso.com",
    ),
    (
        ("Arjun Mehta", "arjun.mehta@relecloud.com"),
        "Missing items in order 66120",
        [
            ("customer", 8500, "Order 66120 is missing the docking stations."),
            ("lee@contoso.com", 8300, "They ship separately and arrive Thursday."),
        ],
        "lee@contoso.com",
    ),
    (
        ("Nora Lindgren", "nora.lindgren@adatum.com"),
        "Accessibility of the portal",
        [
            ("customer", 9000, "Does the portal meet WCAG 2.1 AA?"),
            ("sam@contoso.com", 8800, "Yes: our conformance report is attached."),
        ],
        "sam@contoso.com",
    ),
    (
        ("Peter Novak", "peter.novak@northwindtraders.com"),
        "Holiday opening hours",
        [
            ("customer", 9500, "Are you open between Christmas and New Year?"),
            ("lee@contoso.com", 9450, "Yes, 9 to 5 on working days."),
        ],
        "lee@contoso.com",
    ),
]


def add_recent_week(ex: Exchange, now: dt.datetime) -> list[list[Item]]:
    """RECENT_WEEK into support@, its times counted back from `now`; answers each thread's
    items (added after everything else, so every earlier id stays as it was)."""
    support = ex.mailbox("support@contoso.com")
    assert support is not None
    made = []
    for customer, subject, steps, claim in RECENT_WEEK:
        timed = [(who, now - dt.timedelta(minutes=ago), text) for who, ago, text in steps]
        made.append(
            add_conversation(
                ex, support, customer=customer, subject=subject, steps=timed, claim=claim
            )
        )
    return made
