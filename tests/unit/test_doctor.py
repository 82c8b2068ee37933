"""`tandem doctor`'s redaction of a Redis URL: only where Redis is, never who or the password
(its runs against the emulator and a real Redis are in tests/processes/test_doctor.py)."""

from __future__ import annotations

import pytest

from tandem_mailbox.cli.doctor import redacted


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:a@b@host:6379/0", "redis://***@host:6379/0"),
        ("rediss://u:pa/ss?x@wo@rd@host/1", "rediss://***@host/1"),
        ("redis://host:6379/0?password=secret", "redis://host:6379/0?…"),
        ("redis://host:6379", "redis://host:6379"),
    ],
)
def test_redacted_redis_urls_keep_only_where_redis_is(url: str, shown: str):
    assert redacted(url) == shown
