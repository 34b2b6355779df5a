"""One wait for effects that travel through Kafka or a worker: poll a check until it gives something truthy.

row = await eventually(lambda: pool.fetchrow("..."), what="the violation")   # async check
eventually_sync(lambda: api.get(...).json()["total"] == 3)                  # from a sync test
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


async def eventually(
    check: Callable[[], Any], *, within: float = 30.0, interval: float = 0.1, what: str = ""
) -> Any:
    """Poll `check` (plain or async) until it returns something truthy and return that; fail after `within`
    seconds naming `what` and the last value seen."""
    deadline = time.monotonic() + within
    last: Any = None
    while True:
        last = check()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within} s: {what or check} (last: {last!r})")
        await asyncio.sleep(interval)


def eventually_sync(
    check: Callable[[], Any], *, within: float = 30.0, interval: float = 0.2, what: str = ""
) -> Any:
    """`eventually` for a synchronous test (the check is a plain function)."""
    deadline = time.monotonic() + within
    last: Any = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within} s: {what or check} (last: {last!r})")
        time.sleep(interval)
