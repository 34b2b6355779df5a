"""The consumer that keeps the derived criteria's read models (movement models, training, camera violations),
for the composition root to wire."""

from __future__ import annotations

from assessment.derived import service
from d07.platform.runtime import ConsumerSpec, Deps


def consumers(deps: Deps) -> list[ConsumerSpec]:
    """One consumer group (`assessment.derived`) over the registry's models and training streams and the
    cameras' violations: one group join instead of three, and each stream keeps its own key order."""
    return [
        ConsumerSpec(
            name="derived",
            topics=service.EVENT_TOPICS,
            messages=service.EVENT_MESSAGES,
            handlers=service.EVENT_HANDLERS,
        )
    ]
