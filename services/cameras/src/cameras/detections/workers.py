"""Background work of this aggregate: periodic workers and Kafka consumers (none yet)."""

from __future__ import annotations

from d07.platform.runtime import ConsumerSpec, Deps, Worker


def workers(deps: Deps) -> list[Worker]:
    return []


def consumers(deps: Deps) -> list[ConsumerSpec]:
    return []
