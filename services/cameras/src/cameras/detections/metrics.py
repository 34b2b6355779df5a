"""Metrics of the detections path (prometheus-client, default registry)."""

from __future__ import annotations

from prometheus_client import Counter

RECEIVED = Counter(
    "d07_detections_received_total",
    "Detections received, valid or not, by door (kafka, grpc, http).",
    ["door"],
)
REJECTED = Counter(
    "d07_detections_rejected_total",
    "Detections refused, by door and reason (dead-lettered on the topic, named in the answer elsewhere).",
    ["door", "reason"],
)
DUPLICATES = Counter(
    "d07_detections_duplicate_total",
    "Valid detections whose id was stored already (a repeat through any door). Repeats of a topic message "
    'that the consumer\'s inbox turns away first are in d07_events_consumed_total{outcome="duplicate"}.',
)
STORED = Counter(
    "d07_detections_stored_total",
    "Detections stored for the first time, by door.",
    ["door"],
)
VIOLATIONS_OPENED = Counter(
    "d07_violations_opened_total",
    "Violations opened from detections, by kind.",
    ["kind"],
)
