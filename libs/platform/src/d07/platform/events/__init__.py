"""Events between services: CloudEvents over Kafka, the transactional outbox, the idempotent consumer.

`outbox.add(conn, ...)` writes an event with the change that causes it; `OutboxRelay` publishes the outbox;
`ConsumerRunner` applies events exactly once in effect, dead-letters what it cannot handle and retries what
failed for a passing reason; `rebuild` empties read models and replays the topics into them (`replay_topics`).
"""

from d07.platform.events import outbox
from d07.platform.events.consumer import (
    BatchHandler,
    BatchOutcome,
    ConsumerRunner,
    DeadLetter,
    Handler,
    Hook,
    InvalidEvent,
)
from d07.platform.events.envelope import (
    ConsumedEvent,
    Decoder,
    UndecodableEvent,
    cloudevents_decoder,
    decode_record,
    make_headers,
    message_registry,
    type_name,
)
from d07.platform.events.outbox import OutboxRelay
from d07.platform.events.replay import Rebuild, Replay, ReplayCount, rebuild, replay_topics
from d07.platform.events.retry import Backoff, is_transient

__all__ = [
    "Backoff",
    "BatchHandler",
    "BatchOutcome",
    "ConsumedEvent",
    "ConsumerRunner",
    "DeadLetter",
    "Decoder",
    "Handler",
    "Hook",
    "InvalidEvent",
    "OutboxRelay",
    "Rebuild",
    "Replay",
    "ReplayCount",
    "UndecodableEvent",
    "cloudevents_decoder",
    "decode_record",
    "is_transient",
    "make_headers",
    "message_registry",
    "outbox",
    "rebuild",
    "replay_topics",
    "type_name",
]
