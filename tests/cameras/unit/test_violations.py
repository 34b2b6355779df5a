"""Violation handling, pure rules: the state machine, the handover, versions, list filters, and the position
of a reader of the activity feed (its gaps)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cameras.violations.domain import (
    Acknowledge,
    Action,
    Assign,
    Command,
    Dismiss,
    FeedPosition,
    HandOver,
    ListViolations,
    Resolve,
    Side,
    StartHandling,
    Violation,
    ViolationStatus,
    comment_text,
    decide,
    filter_of,
    is_due,
)
from d07.platform.errors import Conflict, InvalidArgument, ensure_version

NOW = datetime(2019, 8, 29, 8, 30, tzinfo=UTC)


def violation(**changes: object) -> Violation:
    base = Violation(
        id=uuid.uuid4(), camera_id=uuid.uuid4(), camera_code="CAM-00017", unit_id=uuid.uuid4(),
        kind="intrusion", priority="high", status=ViolationStatus.NEW, opened_at=NOW, first_seen_at=NOW,
        last_seen_at=NOW, detection_count=1, max_confidence=0.93, react_by=NOW + timedelta(minutes=30),
        overdue_at=None, acknowledged_at=None, acknowledged_by=None, handed_over_at=None, handed_over_by=None,
        handed_over_to=None, assignee=None, team=None, closed_at=None, outcome=None, version=1,
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def step(v: Violation, cmd: Command, side: Side = Side.POLICE, actor: str = "cs.hung") -> Violation:
    """Apply a decided change to a violation the way the repository writes it."""
    change = decide(v, cmd, side=side, actor=actor, now=NOW)
    return replace(v, status=change.status, version=v.version + 1, **change.fields)


def test_the_whole_way_from_the_dic_to_the_police_and_resolved() -> None:
    v = step(violation(), Acknowledge(note="Đã thấy trên màn hình"), Side.DIC, "dic.lan")
    assert (v.status, v.acknowledged_by, v.with_police) == (ViolationStatus.ACKNOWLEDGED, "dic.lan", False)
    v = step(v, HandOver(to="Công an phường Phú Hội"), Side.DIC, "dic.lan")
    assert (v.with_police, v.handed_over_to, v.handed_over_by) == (True, "Công an phường Phú Hội", "dic.lan")
    v = step(v, Assign(assignee="Thượng úy Nguyễn Văn Hùng", team="Tổ tuần tra 141"))
    v = step(v, StartHandling())
    assert v.status is ViolationStatus.IN_PROGRESS
    change = decide(v, Resolve(outcome="  Đã lập   biên bản "), side=Side.POLICE, actor="cs.hung", now=NOW)
    assert (change.action, change.status, change.fields["outcome"]) == (
        Action.RESOLVE,
        ViolationStatus.RESOLVED,
        "Đã lập biên bản",
    )
    assert change.fields["closed_at"] == NOW


def test_the_police_acknowledging_accept_it_directly_with_nothing_to_hand_over() -> None:
    v = step(violation(), Acknowledge(), Side.POLICE)
    assert v.with_police
    assert v.handed_over_to == ""
    with pytest.raises(Conflict) as err:
        decide(v, HandOver(to="Công an tỉnh"), side=Side.DIC, actor="dic.lan", now=NOW)
    assert err.value.code == "invalid_transition"


@pytest.mark.parametrize(
    ("status", "cmd"),
    [
        (ViolationStatus.ACKNOWLEDGED, Acknowledge()),
        (ViolationStatus.NEW, HandOver(to="Công an tỉnh")),
        (ViolationStatus.NEW, Assign(assignee="cs.hung")),
        (ViolationStatus.NEW, StartHandling()),
        (ViolationStatus.ACKNOWLEDGED, Resolve(outcome="xong")),
        (ViolationStatus.NEW, Resolve(outcome="xong")),
        (ViolationStatus.RESOLVED, Dismiss(reason="nhầm")),
        (ViolationStatus.DISMISSED, Assign(assignee="cs.hung")),
        (ViolationStatus.RESOLVED, StartHandling()),
    ],
)
def test_transitions_the_state_does_not_allow_are_refused(status: ViolationStatus, cmd: Command) -> None:
    v = violation(status=status, handed_over_at=NOW, assignee="cs.hung")
    with pytest.raises(Conflict) as err:
        decide(v, cmd, side=Side.POLICE, actor="cs.hung", now=NOW)
    assert err.value.code == "invalid_transition"
    assert err.value.resource_id == str(v.id)


def test_the_police_act_only_once_the_dic_handed_it_over() -> None:
    held_by_dic = step(violation(), Acknowledge(), Side.DIC)
    for cmd in (Assign(team="Tổ 141"), StartHandling(), Dismiss(reason="nhầm")):
        with pytest.raises(Conflict, match="handed the violation over"):
            decide(held_by_dic, cmd, side=Side.POLICE, actor="cs.hung", now=NOW)


def test_handling_starts_only_once_assigned() -> None:
    v = step(violation(), Acknowledge(), Side.POLICE)
    with pytest.raises(Conflict, match="assign"):
        decide(v, StartHandling(), side=Side.POLICE, actor="cs.hung", now=NOW)
    assert decide(step(v, Assign(team="Tổ 141")), StartHandling(), side=Side.POLICE, actor="x", now=NOW)


def test_a_false_alarm_is_dismissed_from_new_and_the_police_take_it() -> None:
    change = decide(
        violation(), Dismiss(reason="Bóng cây lay động"), side=Side.POLICE, actor="cs.an", now=NOW
    )
    assert change.status is ViolationStatus.DISMISSED
    assert (change.fields["outcome"], change.fields["handed_over_by"]) == ("Bóng cây lay động", "cs.an")


@pytest.mark.parametrize(
    ("cmd", "field"),
    [
        (HandOver(to="  "), "to"),
        (Assign(), "assignee"),
        (Resolve(outcome=""), "outcome"),
        (Dismiss(reason=" "), "reason"),
        (Acknowledge(note="x" * 4001), "note"),
    ],
)
def test_missing_or_oversized_fields_are_named(cmd: Command, field: str) -> None:
    v = violation(status=ViolationStatus.IN_PROGRESS, handed_over_at=NOW)
    with pytest.raises(InvalidArgument) as err:
        decide(v, cmd, side=Side.POLICE, actor="x", now=NOW)
    assert [f.field for f in err.value.fields] == [field]


def test_a_stale_version_is_refused_as_such() -> None:
    v = violation(version=3)
    ensure_version(3, v.version, what="violation", object_id=v.id)
    with pytest.raises(Conflict) as err:
        ensure_version(2, v.version, what="violation", object_id=v.id)
    assert err.value.code == "stale_version"


def test_comments_are_trimmed_and_required() -> None:
    assert comment_text("  Đã liên hệ   bảo vệ ") == "Đã liên hệ bảo vệ"
    with pytest.raises(InvalidArgument):
        comment_text("   ")


def test_overdue_means_still_new_past_the_deadline_and_not_flagged_yet() -> None:
    late = NOW + timedelta(minutes=31)
    assert is_due(violation(), late)
    assert not is_due(violation(), NOW)
    assert not is_due(violation(status=ViolationStatus.ACKNOWLEDGED), late)
    assert not is_due(violation(overdue_at=late), late)


def test_list_filters_are_checked_and_named() -> None:
    with pytest.raises(InvalidArgument) as err:
        filter_of(
            ListViolations(
                status="open", priority="urgent", camera_id="CAM-1", opened_from=datetime(2019, 1, 1)
            )
        )
    assert [f.field for f in err.value.fields] == ["status", "priority", "camera_id", "opened_from"]
    with pytest.raises(InvalidArgument) as err:
        filter_of(ListViolations(opened_from=NOW, opened_to=NOW))
    assert [f.field for f in err.value.fields] == ["opened_to"]
    where = filter_of(ListViolations(status="new", kind=" intrusion ", overdue=True))
    assert (where.status, where.kind, where.overdue) == (ViolationStatus.NEW, "intrusion", True)


# --- the feed position --------------------------------------------------------------------------------


def test_a_reader_passes_on_rows_that_follow_each_other() -> None:
    p = FeedPosition(cursor=0)
    assert p.advance([1, 2, 3], ("900",)) == 3
    assert (p.cursor, p.gap) == (3, None)


def test_a_gap_stops_the_reader_until_the_transactions_that_could_fill_it_have_ended() -> None:
    p = FeedPosition(cursor=3)
    assert p.advance([5, 6], ("901", "902")) == 0  # 4 may still commit
    assert p.gap is not None
    assert (p.gap.upto, p.gap.xids) == (4, ("901", "902"))
    assert p.advance([5, 6, 7], ("901", "903")) == 0  # still waiting on the first ones
    assert p.gap.xids == ("901", "902")
    p.settle()  # they ended: 4 is visible now or never will be
    assert p.advance([5, 6, 7], ("903",)) == 3
    assert p.cursor == 7


def test_a_late_row_that_fills_the_gap_is_passed_on_in_its_place() -> None:
    p = FeedPosition(cursor=3)
    assert p.advance([5], ("901",)) == 0
    assert p.advance([4, 5], ("905",)) == 2  # 4 committed meanwhile
    assert (p.cursor, p.gap) == (5, None)


def test_a_gap_nobody_can_fill_is_passed_at_once() -> None:
    p = FeedPosition(cursor=3)
    assert p.advance([6, 7], ()) == 2  # no transaction in progress: 4 and 5 were rolled back
    assert p.cursor == 7


def test_a_reader_stops_at_the_first_of_several_gaps() -> None:
    p = FeedPosition(cursor=0)
    assert p.advance([1, 3, 5], ("901",)) == 1
    p.settle()
    assert p.advance([3, 5], ("902",)) == 1  # 2 settled; 4 is a new gap with new transactions
    assert p.gap is not None
    assert p.gap.upto == 4
    assert p.cursor == 3
