"""Services: the clients an app builds once from its Settings, typed, with no Flask in them.

The web layer keeps one in `app.extensions["tandem"]`; what Tandem does to an item (mail/)
takes it as an argument. Built here: the JWKS key set and the token validator, the
on-behalf-of exchange, the Graph client with its per-mailbox slots, the coordinator that
shares locks, slots and caches between workers, and the team's record (store/).
"""

from __future__ import annotations

import logging
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from tandem_mailbox import logs
from tandem_mailbox.config import Settings
from tandem_mailbox.coordination import Coordinator
from tandem_mailbox.coordination import build as build_coordinator
from tandem_mailbox.microsoft.graph import MAILBOX_CONCURRENCY, GraphClient
from tandem_mailbox.microsoft.identity import KeySet, TokenValidator
from tandem_mailbox.microsoft.obo import OnBehalfOf
from tandem_mailbox.microsoft.outbound import Pool, Session, ssl_context
from tandem_mailbox.store import Store
from tandem_mailbox.store.mailbox import Mailboxes
from tandem_mailbox.store.record import Record

log = logging.getLogger("tandem")


@dataclass(frozen=True)
class Services:
    """The clients an app builds once: kept in app.extensions["tandem"]."""

    settings: Settings
    keys: KeySet
    validator: TokenValidator
    obo: OnBehalfOf
    graph: GraphClient
    coordinator: Coordinator
    record: Record  # the team's record (its database is opened on first use)
    mailboxes: Mailboxes  # each mailbox's policy and templates, and the queue's reads
    wall: Callable[[], float] = time.time  # the wall clock (tests move it)


def build(
    settings: Settings,
    *,
    clock: Callable[[], float] | None = None,
    obo_cache: bool = True,
    mailbox_gate: bool = True,
    request_id: Callable[[], str | None] = lambda: None,
    observe: Callable[[str], None] = lambda request_id: None,
    trust: ssl.SSLContext | None = None,
) -> Services:
    """Every client of one app, from its settings.

    `obo_cache` and `mailbox_gate` exist for the benchmark's naive mode only (bench/servers.py):
    off, every request exchanges its token with Entra ID, and Graph calls take no mailbox slot.
    `request_id` and `observe` tie Graph calls to the request that made them. `trust` is the
    TLS context of every outbound call, ssl_context(settings.ca_bundle) unless given.
    """
    logs.install(
        [
            s
            for s in (settings.client_secret, settings.metrics_token, *_redis_secrets(settings))
            if s
        ]
    )
    wall = clock or time.time
    context = trust or ssl_context(settings.ca_bundle)
    timeout = (3.05, settings.http_timeout)
    entra_session = Session(context=context, timeout=timeout)
    graph_pool = Pool(context=context, timeout=timeout, pool_size=64)
    key_tenant = "common" if settings.multi_tenant else settings.tenant_id
    keys = KeySet(
        f"https://{settings.authority_host}/{key_tenant}/discovery/v2.0/keys",
        context=context,
        timeout=settings.http_timeout,
        cooldown=settings.jwks_cooldown,
        clock=clock or time.monotonic,
    )
    coordinator = build_coordinator(settings)
    store = Store(settings.database_url)
    record = Record(store)
    _announce_coordination(settings, coordinator)
    # Naive mode (the benchmark's): a token cache of its own that keeps nothing.
    uncached: dict[str, Any] = {} if obo_cache else {"max_entries": 0}
    return Services(
        settings=settings,
        keys=keys,
        validator=TokenValidator(settings, keys, clock=wall),
        obo=OnBehalfOf(
            settings,
            entra_session,
            clock=wall,
            coordinator=coordinator if obo_cache else None,
            **uncached,
        ),
        graph=GraphClient(
            graph_pool,
            graph_url=settings.graph_url,
            coordinator=coordinator,
            timeout=timeout,
            # A person waits at most one timeout for a slot, and two for the whole call.
            slot_wait=settings.http_timeout,
            budget=2 * settings.http_timeout,
            concurrency=MAILBOX_CONCURRENCY if mailbox_gate else sys.maxsize,
            request_id=request_id,
            observe=observe,
            wall=wall,
        ),
        coordinator=coordinator,
        record=record,
        mailboxes=Mailboxes(store, record),
        wall=wall,
    )


def _redis_secrets(settings: Settings) -> list[str]:
    """What must never reach a log line: the cache keys and the Redis URL's password."""
    secrets = list(settings.cache_keys)
    if settings.redis_url:
        password = urlsplit(settings.redis_url).password
        if password:
            secrets += [password, unquote(password)]
    return secrets


def _announce_coordination(settings: Settings, coordinator: Coordinator) -> None:
    """One line at start saying where locks, slots and the token cache live."""
    if not coordinator.shared:
        log.info("locks, mailbox slots and the token cache: in this process (one worker)")
        return
    where = urlsplit(settings.redis_url or "")
    reachable = coordinator.ping()
    log.info(
        "locks, mailbox slots and the token cache: Redis at %s (%s)",
        f"{where.scheme}://{where.hostname}:{where.port or 6379}{where.path}",
        "reachable" if reachable else "unreachable for now; reads go on without it",
    )
