"""What counts as a transient failure, and the capped exponential backoff both event loops use.

A transient failure (the database restarting, the broker paused or unreachable) is waited out and the same
work is tried again; it is never a reason to dead-letter a message or drop an outbox row.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

import asyncpg
from aiokafka import errors as kafka_errors

_TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionRefusedError, ConnectionResetError, ... while a server is down
    TimeoutError,  # asyncio.TimeoutError is TimeoutError on 3.11: command_timeout, our own deadlines
    asyncpg.PostgresConnectionError,  # class 08: ConnectionDoesNotExistError, ConnectionFailureError, ...
    asyncpg.OperatorInterventionError,  # class 57: AdminShutdownError, CannotConnectNowError, ...
    asyncpg.TooManyConnectionsError,
    asyncpg.TransactionRollbackError,  # class 40: a deadlock or a serialization failure: try again
    kafka_errors.KafkaTimeoutError,
    kafka_errors.KafkaConnectionError,
    kafka_errors.NoBrokersAvailable,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
)


def is_transient(exc: BaseException) -> bool:
    """True when waiting and trying the same work again may succeed."""
    if isinstance(exc, _TRANSIENT):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        # "connection is closed", "cannot perform operation: another operation is in progress" after a cut.
        text = str(exc).lower()
        return "closed" in text or "connection" in text
    if isinstance(exc, kafka_errors.KafkaError):
        return bool(exc.retriable)
    return False


class Backoff:
    """Capped exponential backoff with jitter: 0.1 s, 0.2 s, 0.4 s ... up to `cap`, reset on success."""

    def __init__(self, *, base: float = 0.1, cap: float = 5.0) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0

    def reset(self) -> None:
        self.attempt = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * (2.0**self.attempt))
        self.attempt += 1
        # Jitter keeps replicas that failed together from retrying in lockstep.
        return delay * (0.5 + random.random() / 2)

    async def wait(self, stop: asyncio.Event | None = None) -> None:
        """Sleep the next delay; return early when `stop` is set."""
        delay = self.next_delay()
        if stop is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
