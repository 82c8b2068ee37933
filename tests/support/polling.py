"""Waiting for a state another thread or process reaches in its own time: polled, bounded."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def until(condition: Callable[[], Any], seconds: float = 5.0, *, every: float = 0.01) -> Any:
    """Poll `condition` until it answers something true or `seconds` pass; answers its last
    answer (so `assert until(...)` fails with the state as it was at the deadline)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)  # polling another thread's or process's state, bounded above
    return condition()
