"""Polling for tests against the control plane: `wait_for(probe)` returns the probe's first truthy
value, or fails with what was awaited and the last value seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(probe: Callable[[], T], *, timeout: float = 60, interval: float = 0.25, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout:.0f}s: {what or probe} (last: {last!r})")
        time.sleep(interval)
