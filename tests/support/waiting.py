"""One wait for effects that travel through Kafka or a worker: poll a check until it gives what is awaited.

row = await eventually(lambda: pool.fetchrow("..."), what="the violation")   # async check, truthy result
await eventually(lambda: outbox_rows(pool), until=lambda n: n == 0, what="the outbox to drain")
eventually_sync(lambda: api.get(...).json()["total"] == 3)                  # from a sync test

The check returns a value (or an awaitable of one); by default the wait ends at the first truthy value, with
`until` at the first value it accepts (a count reaching 0, a list equal to another). The value is returned.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


def _reached(value: Any, until: Callable[[Any], bool] | None) -> bool:
    return bool(value) if until is None else bool(until(value))


async def eventually(
    check: Callable[[], Any],
    *,
    within: float = 30.0,
    interval: float = 0.1,
    what: str = "",
    until: Callable[[Any], bool] | None = None,
) -> Any:
    """Poll `check` (plain or async) until its value is truthy (or `until(value)` holds) and return that
    value; fail after `within` seconds naming `what` and the last value seen."""
    deadline = time.monotonic() + within
    last: Any = None
    while True:
        last = check()
        if inspect.isawaitable(last):
            last = await last
        if _reached(last, until):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within} s: {what or check} (last: {last!r})")
        await asyncio.sleep(interval)


def eventually_sync(
    check: Callable[[], Any],
    *,
    within: float = 30.0,
    interval: float = 0.2,
    what: str = "",
    until: Callable[[Any], bool] | None = None,
) -> Any:
    """`eventually` for a synchronous test (the check is a plain function)."""
    deadline = time.monotonic() + within
    last: Any = None
    while True:
        last = check()
        if _reached(last, until):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within} s: {what or check} (last: {last!r})")
        time.sleep(interval)
