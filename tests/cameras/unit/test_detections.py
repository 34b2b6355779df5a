"""Detections, pure: what a valid detection is at every door, and the opening and join rules."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from cameras.detections import domain
from cameras.detections.domain import Directory, Rejected, Unresolved, check_camera, parse_json, parse_object
from cameras.detections.messages import detection_from_pb
from cameras.network.domain import CameraRef
from cameras.violations.domain import Joining, KindRule, OpenViolation, Sighting, lock_key, plan
from d07.cameras.v1 import detections_pb2 as pb

NOW = datetime(2019, 8, 29, 8, 0, tzinfo=UTC)
SKEW = timedelta(seconds=120)
WINDOW = timedelta(minutes=10)
RULES = {
    "intrusion": KindRule("intrusion", 0.80, "high", 30),
    "fire_smoke": KindRule("fire_smoke", 0.70, "critical", 10),
}
CAM = CameraRef(uuid.uuid4(), "CAM-00017", "installed", uuid.uuid4())


def good(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "detection_id": str(uuid.uuid4()),
        "camera_id": "CAM-00017",
        "occurred_at": "2019-08-29T14:59:00+07:00",
        "kind": "intrusion",
        "confidence": 0.91,
    }
    item.update(changes)
    return {k: v for k, v in item.items() if v is not ...}


def reason(raw: bytes) -> str:
    with pytest.raises(Rejected) as caught:
        parse_json(raw, now=NOW, max_skew=SKEW)
    return caught.value.reason


def test_a_valid_detection_is_parsed_with_its_time_in_utc() -> None:
    item = good(snapshot_url="https://vms/1.jpg", attributes={"zone": "cổng"})
    d = parse_json(json.dumps(item).encode(), now=NOW, max_skew=SKEW)
    assert d.detection_id == uuid.UUID(item["detection_id"])
    assert d.occurred_at == datetime(2019, 8, 29, 7, 59, tzinfo=UTC)
    assert d.occurred_at.utcoffset() == timedelta(0)
    assert (d.kind, d.confidence, d.snapshot_url) == ("intrusion", 0.91, "https://vms/1.jpg")
    assert d.attributes == {"zone": "cổng"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{not json", "malformed_json"),
        (b"", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b"[1, 2]", "malformed_json"),
        (json.dumps(good(kind=...)).encode(), "missing_field"),
        (json.dumps(good(confidence=None)).encode(), "missing_field"),
        (json.dumps(good(detection_id="42")).encode(), "bad_id"),
        (json.dumps(good(detection_id=42)).encode(), "bad_id"),
        (json.dumps(good(occurred_at="yesterday")).encode(), "bad_time"),
        (json.dumps(good(occurred_at="2019-08-29T07:59:00")).encode(), "bad_time"),
        (json.dumps(good(occurred_at="2019-08-29T08:02:01Z")).encode(), "future_time"),
        (json.dumps(good(kind="burglary")).encode(), "unknown_kind"),
        (json.dumps(good(confidence=1.01)).encode(), "bad_confidence"),
        (json.dumps(good(confidence=-0.1)).encode(), "bad_confidence"),
        (json.dumps(good(confidence="0.9")).encode(), "bad_confidence"),
        (json.dumps(good(confidence=True)).encode(), "bad_confidence"),
        (b'{"detection_id": "%s", "camera_id": "CAM-1", "occurred_at": "2019-08-29T07:00:00Z", '
         b'"kind": "crowd", "confidence": NaN}' % str(uuid.uuid4()).encode(), "bad_confidence"),
        (json.dumps(good(attributes=[1])).encode(), "bad_field"),
        (json.dumps(good(camera_id=17)).encode(), "bad_field"),
        (json.dumps(good(camera_id="  ")).encode(), "missing_field"),
    ],
)  # fmt: skip
def test_invalid_detections_are_refused_with_their_reason(raw: bytes, expected: str) -> None:
    assert reason(raw) == expected


def test_the_skew_allows_a_little_clock_drift_only() -> None:
    within = good(occurred_at="2019-08-29T08:01:59Z")
    assert parse_object(within, now=NOW, max_skew=SKEW).occurred_at == NOW + timedelta(seconds=119)
    with pytest.raises(Rejected) as caught:
        parse_object(within, now=NOW, max_skew=timedelta(0))
    assert caught.value.reason == "future_time"


def test_grpc_detections_take_the_same_checks() -> None:
    at = Timestamp()
    at.FromDatetime(NOW - timedelta(minutes=1))
    d = pb.Detection(
        detection_id=str(uuid.uuid4()),
        camera_id="CAM-00017",
        occurred_at=at,
        kind="fire_smoke",
        confidence=0.8,
    )
    d.attributes.update({"lane": 2})
    parsed = detection_from_pb(d, now=NOW, max_skew=SKEW)
    assert (parsed.kind, parsed.occurred_at, parsed.attributes) == (
        "fire_smoke",
        NOW - timedelta(minutes=1),
        {"lane": 2},
    )
    uid = str(uuid.uuid4())
    for broken, expected in [
        (pb.Detection(camera_id="CAM-1", occurred_at=at, kind="crowd"), "missing_field"),
        (pb.Detection(detection_id="x", camera_id="CAM-1", occurred_at=at, kind="crowd"), "bad_id"),
        (pb.Detection(detection_id=str(uuid.uuid4()), camera_id="CAM-1", kind="crowd"), "missing_field"),
        (pb.Detection(detection_id=uid, camera_id="C", occurred_at=at, kind="x"), "unknown_kind"),
        (pb.Detection(detection_id=uid, camera_id="C", occurred_at=at, kind="crowd", confidence=2),
         "bad_confidence"),
    ]:  # fmt: skip
        with pytest.raises(Rejected) as caught:
            detection_from_pb(broken, now=NOW, max_skew=SKEW)
        assert caught.value.reason == expected


def test_a_camera_must_exist_and_not_be_decommissioned() -> None:
    assert check_camera("CAM-00017", CAM) is CAM
    with pytest.raises(Rejected) as unknown:
        check_camera("CAM-99999", None)
    gone = CameraRef(uuid.uuid4(), "CAM-00018", "decommissioned", None)
    with pytest.raises(Rejected) as decommissioned:
        check_camera("CAM-00018", gone)
    assert (unknown.value.reason, decommissioned.value.reason) == ("unknown_camera", "decommissioned_camera")
    planned = CameraRef(uuid.uuid4(), "CAM-00019", "planned", None)
    assert check_camera("CAM-00019", planned) is planned


def test_the_directory_refuses_an_absent_code_only_while_fresh() -> None:
    clock = [100.0]
    directory = Directory(refresh_seconds=10, clock=lambda: clock[0])
    assert isinstance(directory.lookup("CAM-00017"), Unresolved)  # never loaded: the database must say
    directory.by_code = {CAM.code: CAM}
    directory.absent = {"CAM-99999"}
    directory.loaded_at = 100.0
    assert directory.lookup("CAM-00017") is CAM
    assert directory.lookup("CAM-99999") is None
    assert isinstance(directory.lookup("CAM-12345"), Unresolved)  # never looked up
    clock[0] = 110.5
    assert isinstance(directory.lookup("CAM-99999"), Unresolved)  # stale: no refusal on old knowledge


def sighting(
    minutes: float, *, kind: str = "intrusion", confidence: float = 0.9, camera: CameraRef = CAM
) -> Sighting:
    return Sighting(uuid.uuid4(), camera, kind, NOW + timedelta(minutes=minutes), confidence)


def ids() -> Any:
    n = iter(range(1, 1000))
    return lambda: uuid.UUID(int=next(n))


def test_below_the_threshold_nothing_opens() -> None:
    result = plan([sighting(0, confidence=0.79), sighting(1, kind="fire_smoke", confidence=0.69)], {}, RULES,
                  window=WINDOW, now=NOW)  # fmt: skip
    assert result.opened == []
    assert result.joined == []


def test_at_the_threshold_a_violation_opens_with_its_kinds_priority_and_deadline() -> None:
    s = sighting(-1, kind="fire_smoke", confidence=0.70)
    (opened,) = plan([s], {}, RULES, window=WINDOW, now=NOW, new_id=ids()).opened
    assert (opened.kind, opened.priority, opened.detection_ids) == (
        "fire_smoke",
        "critical",
        [s.detection_id],
    )
    assert opened.react_by == NOW + timedelta(minutes=10)
    assert opened.first_seen_at == opened.last_seen_at == s.occurred_at


def test_detections_within_the_window_join_one_violation_and_a_gap_opens_another() -> None:
    batch = [sighting(0), sighting(9), sighting(18), sighting(29), sighting(3, kind="fire_smoke")]
    result = plan(batch, {}, RULES, window=WINDOW, now=NOW, new_id=ids())
    intrusions = sorted((o for o in result.opened if o.kind == "intrusion"), key=lambda o: o.first_seen_at)
    assert [len(o.detection_ids) for o in intrusions] == [3, 1]
    assert intrusions[0].last_seen_at == NOW + timedelta(minutes=18)
    assert [o.kind for o in result.opened].count("fire_smoke") == 1
    assignments = dict(result.assignments())
    assert set(assignments) == {s.detection_id for s in batch}


def test_an_open_violation_of_the_same_camera_and_kind_is_joined() -> None:
    existing = OpenViolation(
        uuid.uuid4(), CAM.id, "intrusion", NOW - timedelta(minutes=30), NOW - timedelta(minutes=5)
    )
    other_camera = CameraRef(uuid.uuid4(), "CAM-00020", "installed", None)
    batch = [sighting(2, confidence=0.95), sighting(0), sighting(1, camera=other_camera)]
    result = plan(batch, {(CAM.id, "intrusion"): existing}, RULES, window=WINDOW, now=NOW, new_id=ids())
    (joined,) = result.joined
    assert joined.id == existing.id
    assert len(joined.detection_ids) == 2
    assert (joined.last_seen_at, joined.max_confidence) == (NOW + timedelta(minutes=2), 0.95)
    assert [o.camera.code for o in result.opened] == ["CAM-00020"]


def test_a_detection_far_from_the_open_violation_opens_a_new_one() -> None:
    existing = OpenViolation(
        uuid.uuid4(), CAM.id, "intrusion", NOW - timedelta(hours=2), NOW - timedelta(minutes=11)
    )
    result = plan([sighting(0)], {(CAM.id, "intrusion"): existing}, RULES, window=WINDOW, now=NOW)
    assert result.joined == []
    assert len(result.opened) == 1


def test_a_join_announces_itself_once_a_minute_of_detections() -> None:
    def join(previous: datetime, last: datetime) -> Joining:
        return Joining(uuid.uuid4(), CAM, "intrusion", previous, previous, previous, last, 0.9)

    base = datetime(2019, 8, 29, 8, 0, 10, tzinfo=UTC)
    assert not join(base, base + timedelta(seconds=40)).announced
    assert join(base, base + timedelta(seconds=55)).announced
    assert not join(base, base - timedelta(seconds=30)).announced  # a late detection moves nothing


def test_lock_keys_are_stable_and_distinct() -> None:
    assert lock_key(CAM.id, "intrusion") == lock_key(CAM.id, "intrusion")
    assert lock_key(CAM.id, "intrusion") != lock_key(CAM.id, "crowd")
    assert -(2**63) <= lock_key(CAM.id, "crowd") < 2**63


def test_the_contract_kinds_are_the_seeded_ones() -> None:
    assert {"intrusion", "loitering", "fire_smoke", "crowd", "vandalism", "traffic", "other"} == domain.KINDS


def test_a_camera_is_reported_seen_at_most_once_per_resolution_step() -> None:
    directory = Directory(refresh_seconds=10)

    def items(*seconds: float) -> list[tuple[domain.Detection, CameraRef]]:
        return [
            (domain.Detection(uuid.uuid4(), CAM.code, NOW + timedelta(seconds=s), "crowd", 0.5), CAM)
            for s in seconds
        ]

    assert directory.not_seen_lately(items(0.2, 0.7, 0.1), 1.0) == {CAM.id: NOW + timedelta(seconds=0.7)}
    assert directory.not_seen_lately(items(1.5), 1.0) == {}  # within a second of what was reported
    assert directory.not_seen_lately(items(1.8), 1.0) == {CAM.id: NOW + timedelta(seconds=1.8)}
