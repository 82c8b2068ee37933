"""A clock the test moves, for code that takes `clock=`."""

from __future__ import annotations

import time


class FakeClock:
    """A clock the test moves; monotonic and wall time at once (it starts now unless told)."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now
