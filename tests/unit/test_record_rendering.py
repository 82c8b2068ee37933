"""The record as the pane shows it: each timeline event rendered once, and always as itself."""

from __future__ import annotations

import datetime as dt
import gc
from types import MappingProxyType

from tandem_mailbox.mail import record
from tandem_mailbox.store.record import Event, Person

LEE = Person("00000000-0000-0000-0000-00000000000a", "lee@contoso.com", "Lee Gu")
AT = dt.datetime(2026, 12, 6, 9, 30, tzinfo=dt.UTC)


def _event(n: int) -> Event:
    return Event(
        id=n,
        at=AT + dt.timedelta(minutes=n),
        actor=LEE,
        kind=f"kind-{n}",
        detail=MappingProxyType({"n": n}),
        conversation="AAQkconversation",
    )


def test_an_event_is_rendered_once_per_object():
    event = _event(1)
    first = record._event(event)
    assert first == {
        "id": 1,
        "at": "2026-12-06T09:31:00Z",
        "actor": {"upn": "lee@contoso.com", "name": "Lee Gu"},
        "kind": "kind-1",
        "detail": {"n": 1},
    }
    assert record._event(event) is first
    # An equal event decoded by another worker's Record is another object: its own rendering.
    twin = _event(1)
    assert record._event(twin) == first and record._event(twin) is not first


def test_a_new_event_is_never_shown_as_an_older_one(monkeypatch):
    """Objects freed and made again may reuse an address (CPython's id): whatever the cache
    holds, each event is rendered as itself, also past the bound, when everything is dropped."""
    monkeypatch.setattr(record, "RENDERED_KEPT", 3)
    monkeypatch.setattr(record, "_RENDERED", {})
    for n in range(200):
        event = _event(n)
        assert record._event(event)["kind"] == f"kind-{n}"
        assert record._event(event)["detail"] == {"n": n}
        del event
        gc.collect(0)
    assert len(record._RENDERED) <= 3
