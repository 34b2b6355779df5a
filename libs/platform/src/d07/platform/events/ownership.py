"""Who may publish on a topic: the service its name says (`d07.<service>.<stream>.v<N>` → `/d07/<service>`).

The broker's ACLs (deploy/k8s: one KafkaUser per service) already keep other producers off a service's topics;
this is the same rule where the broker is open (a local broker, a misconfigured cluster): the consumer runner
dead-letters a CloudEvents event whose `ce_source` is not the topic's owner, with the reason `wrong_source`,
so a forged event changes nothing. Topics outside the naming scheme and consumers of an external format (their
own decoder, e.g. the camera feed's JSON detections, which carry no CloudEvents source) are not checked.
"""

from __future__ import annotations

import re

from d07.platform.events.envelope import ConsumedEvent

__all__ = ["owner_source", "wrong_source"]

_TOPIC = re.compile(r"^d07\.([a-z][a-z0-9_-]*)\.[a-z][a-z0-9_-]*\.v[0-9]+$")


def owner_source(topic: str) -> str | None:
    """The CloudEvents source of the service that owns a topic, or None for a topic outside the scheme."""
    m = _TOPIC.match(topic)
    return f"/d07/{m.group(1)}" if m else None


def wrong_source(event: ConsumedEvent) -> str | None:
    """Why the event did not come from its topic's owner (the dead letter's detail), or None when it did."""
    expected = owner_source(event.topic)
    if expected is None or event.source == expected:
        return None
    return f"ce_source {event.source!r} is not {expected!r}, the owner of {event.topic}"
