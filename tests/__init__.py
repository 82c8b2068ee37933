"""Tandem's tests; the code they share beyond fixtures is in tests.support."""

from __future__ import annotations

import pytest

# Helpers in tests.support assert too: pytest rewrites them as it does the test modules, for
# the same failure messages (it must be told before they are first imported).
pytest.register_assert_rewrite("tests.support")
