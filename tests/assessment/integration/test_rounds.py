"""Rounds and assessments through the public APIs of the running services (gRPC and HTTP), with units made
in the registry and results read back from reporting's projection.

Each test opens its own round (a year and a district no other test of this module uses; never the current
year, which the derived-criteria tests use), so tests do not depend on each other's order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import asyncpg
import grpc
import httpx
import pytest

from d07.assessment.v1 import assessment_pb2 as pb
from d07.assessment.v1 import assessment_pb2_grpc as pb_grpc
from d07.common.v1 import common_pb2
from d07.platform.auth import issue_token
from tests.support.services import Platform
from tests.support.waiting import eventually_sync


def d(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


class Api:
    """The assessment service's gRPC API with a token per call."""

    def __init__(self, platform: Platform, channel: grpc.Channel) -> None:
        self.platform = platform
        self.stub = pb_grpc.AssessmentServiceStub(channel)

    def __call__(self, method: str, request: Any, role: str, **token: str) -> Any:
        md = [("authorization", f"Bearer {self.platform.token(role, **token)}")]
        return getattr(self.stub, method)(request, metadata=md, timeout=10)

    def as_roles(self, method: str, request: Any, roles: list[str], subject: str, unit_id: str) -> Any:
        tok = issue_token(self.platform.key_pem, roles=roles, subject=subject, unit_id=unit_id)
        return getattr(self.stub, method)(request, metadata=[("authorization", f"Bearer {tok}")], timeout=10)


@pytest.fixture(scope="module")
def api(platform: Platform) -> Iterator[Api]:
    with grpc.insecure_channel(platform["assessment"].target) as channel:
        yield Api(platform, channel)


def make_unit(platform: Platform, district: str, *, kind: str = "school", sub_kind: str = "") -> str:
    body = {
        "code": f"U-{uuid.uuid4().hex[:10].upper()}",
        "name": "Trường THPT Lê Quý Đôn",
        "kind": kind,
        "district_code": district,
    }
    if sub_kind:
        body["sub_kind"] = sub_kind
    r = httpx.post(f"{platform['registry'].url}/v1/units", json=body, headers=platform.headers("admin"))
    assert r.status_code == 201, r.text
    unit_id: str = r.json()["id"]
    return unit_id


def known(platform: Platform, *unit_ids: str) -> None:
    """Wait until the assessment service's read copy holds the units (they travel through Kafka)."""
    for unit_id in unit_ids:
        eventually_sync(
            lambda u=unit_id: (
                httpx.get(  # type: ignore[misc]
                    f"{platform['assessment'].url}/v1/known-units/{u}", headers=platform.headers("admin")
                ).status_code
                == 200
            ),
            within=60,
        )


def open_round(api: Api, year: int, district: str) -> pb.Round:
    reply = api(
        "OpenRound",
        pb.OpenRoundRequest(
            year=year,
            district_code=district,
            self_assessment_due=d(date(year, 10, 31)),
            verification_due=d(date(year, 11, 30)),
        ),
        "admin",
    )
    return reply.round


def assessment_of(api: Api, round_id: str, unit_id: str) -> pb.Assessment:
    reply = api("ListAssessments", pb.ListAssessmentsRequest(round_id=round_id, unit_id=unit_id), "police")
    (found,) = reply.assessments
    return found


def answers(met: dict[str, bool]) -> list[pb.SelfAnswer]:
    return [
        pb.SelfAnswer(
            criterion_code=c, met=m, notes="Đã thực hiện", evidence_links=["https://docs.example/bc.pdf"]
        )
        for c, m in met.items()
    ]


def verdicts(met: dict[str, bool]) -> list[pb.Verdict]:
    return [pb.Verdict(criterion_code=c, met=m, notes="Đã kiểm tra thực tế") for c, m in met.items()]


TC124 = ["TC1", "TC2", "TC3", "TC4", "TC5"]
TC23 = ["TC1", "TC2", "TC3", "TC4"]


def submit_and_verify(
    api: Api, a: pb.Assessment, met: dict[str, bool], *, police: str = "police-hoa"
) -> None:
    declared = {c: m for c, m in met.items() if c in ("TC1", "TC5") or a.criteria_set_code == "TT23-2012"}
    api(
        "SubmitAssessment",
        pb.SubmitAssessmentRequest(id=a.id, answers=answers(declared)),
        "unit_officer",
        unit_id=a.unit_id,
        subject=f"officer-{a.unit_id[:8]}",
    )
    api(
        "VerifyAssessment",
        pb.VerifyAssessmentRequest(id=a.id, verdicts=verdicts(met)),
        "police",
        subject=police,
    )


def finalise(api: Api, a: pb.Assessment, *, police: str = "police-hoa") -> pb.Assessment:
    reply = api("FinaliseAssessment", pb.FinaliseAssessmentRequest(id=a.id), "police", subject=police)
    assessment: pb.Assessment = reply.assessment
    return assessment


def code_of(exc: pytest.ExceptionInfo[grpc.RpcError]) -> grpc.StatusCode:
    return exc.value.code()  # type: ignore[no-any-return, attr-defined]


# --- the must-shows ---------------------------------------------------------------------------------------


def test_failing_one_mandatory_criterion_fails_and_meeting_all_passes(platform: Platform, api: Api) -> None:
    good, bad = make_unit(platform, "005"), make_unit(platform, "005")
    known(platform, good, bad)
    round_ = open_round(api, 2024, "005")
    a_good, a_bad = assessment_of(api, round_.id, good), assessment_of(api, round_.id, bad)
    assert a_good.criteria_set_code == "TT124-2021"
    assert a_good.status == pb.ASSESSMENT_STATUS_DRAFT

    submit_and_verify(api, a_good, dict.fromkeys(TC124, True))
    submit_and_verify(api, a_bad, {**dict.fromkeys(TC124, True), "TC3": False})
    passed, failed = finalise(api, a_good), finalise(api, a_bad)

    assert (passed.status, passed.result, passed.score, list(passed.unmet_criteria), passed.revision) == (
        pb.ASSESSMENT_STATUS_FINALISED,
        pb.ASSESSMENT_RESULT_PASSED,
        100.0,
        [],
        1,
    )
    assert (failed.result, failed.score, list(failed.unmet_criteria)) == (
        pb.ASSESSMENT_RESULT_FAILED,
        80.0,
        ["TC3"],
    )

    progress = api("GetRoundProgress", pb.GetRoundProgressRequest(id=round_.id), "police")
    total = progress.rows[-1]
    assert (total.district_code, total.unit_kind) == ("", "")
    assert total.finalised >= 2
    assert total.passed >= 1
    assert total.verified >= 2
    assert total.total == round_.unit_count


def test_the_older_set_judges_its_own_years_by_its_own_rule(platform: Platform, api: Api) -> None:
    optional_unmet, mandatory_unmet = make_unit(platform, "005"), make_unit(platform, "005")
    known(platform, optional_unmet, mandatory_unmet)
    round_ = open_round(api, 2016, "005")
    a1, a2 = assessment_of(api, round_.id, optional_unmet), assessment_of(api, round_.id, mandatory_unmet)
    assert (a1.criteria_set_code, a1.year) == ("TT23-2012", 2016)

    submit_and_verify(api, a1, {**dict.fromkeys(TC23, True), "TC4": False})  # TC4 is optional in TT23-2012
    submit_and_verify(api, a2, {**dict.fromkeys(TC23, True), "TC2": False})
    r1, r2 = finalise(api, a1), finalise(api, a2)
    assert (r1.result, r1.score, list(r1.unmet_criteria)) == (pb.ASSESSMENT_RESULT_PASSED, 75.0, ["TC4"])
    assert (r2.result, list(r2.unmet_criteria)) == (pb.ASSESSMENT_RESULT_FAILED, ["TC2"])

    sets = {s.code: s for s in api("ListCriteriaSets", pb.ListCriteriaSetsRequest(), "auditor").criteria_sets}
    assert sets["TT23-2012"].pass_rule == pb.PASS_RULE_ALL_MANDATORY
    kinds = {c.code: (c.kind, c.derivation) for c in sets["TT124-2021"].criteria}
    assert kinds["TC4"] == (pb.CRITERION_KIND_DERIVED, "has_effective_model")
    assert kinds["TC1"] == (pb.CRITERION_KIND_EVIDENCE, "")


def test_the_submitter_cannot_verify_and_a_finalised_assessment_is_immutable(
    platform: Platform, api: Api
) -> None:
    unit = make_unit(platform, "006")
    known(platform, unit)
    a = assessment_of(api, open_round(api, 2023, "006").id, unit)
    officer = f"officer-{unit[:8]}"
    # The same person holds both roles: they may submit for their unit, never verify their own submission.
    api.as_roles(
        "SubmitAssessment",
        pb.SubmitAssessmentRequest(id=a.id, answers=answers({"TC1": True, "TC5": True})),
        ["unit_officer", "police"],
        officer,
        unit,
    )
    with pytest.raises(grpc.RpcError) as denied:
        api.as_roles(
            "VerifyAssessment",
            pb.VerifyAssessmentRequest(id=a.id, verdicts=verdicts({"TC1": True})),
            ["unit_officer", "police"],
            officer,
            unit,
        )
    assert code_of(denied) == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as denied_finalise:
        api("FinaliseAssessment", pb.FinaliseAssessmentRequest(id=a.id), "police", subject=officer)
    assert code_of(denied_finalise) == grpc.StatusCode.PERMISSION_DENIED

    api(
        "VerifyAssessment",
        pb.VerifyAssessmentRequest(id=a.id, verdicts=verdicts({"TC1": True, "TC2": True})),
        "police",
        subject="police-lan",
    )
    with pytest.raises(grpc.RpcError) as incomplete:
        finalise(api, a, police="police-lan")
    assert code_of(incomplete) == grpc.StatusCode.FAILED_PRECONDITION

    api(
        "VerifyAssessment",
        pb.VerifyAssessmentRequest(id=a.id, verdicts=verdicts(dict.fromkeys(TC124, True))),
        "police",
        subject="police-lan",
    )
    done = finalise(api, a, police="police-lan")
    assert done.result == pb.ASSESSMENT_RESULT_PASSED
    for method, request in [
        ("VerifyAssessment", pb.VerifyAssessmentRequest(id=a.id, verdicts=verdicts({"TC1": False}))),
        ("FinaliseAssessment", pb.FinaliseAssessmentRequest(id=a.id)),
    ]:
        with pytest.raises(grpc.RpcError) as refused:
            api(method, request, "police", subject="police-lan")
        assert code_of(refused) == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as refused_answer:
        api(
            "SaveAnswers",
            pb.SaveAnswersRequest(id=a.id, answers=answers({"TC1": False})),
            "unit_officer",
            unit_id=unit,
        )
    assert code_of(refused_answer) == grpc.StatusCode.FAILED_PRECONDITION
    detail = api("GetAssessment", pb.GetAssessmentRequest(id=a.id), "auditor")
    assert [v.verified_met for v in detail.answers] == [True] * 5


def reporting_row(platform: Platform, assessment_id: str) -> list[tuple[str, int, float]]:
    async def read() -> list[tuple[str, int, float]]:
        conn = await asyncpg.connect(platform.database_url)
        try:
            rows = await conn.fetch(
                "SELECT result, revision, score FROM reporting.assessments WHERE assessment_id = $1",
                uuid.UUID(assessment_id),
            )
            return [(r["result"], r["revision"], float(r["score"])) for r in rows]
        finally:
            await conn.close()

    return asyncio.run(read())


def test_a_finalised_result_reaches_reporting_and_a_revision_replaces_it(
    platform: Platform, api: Api
) -> None:
    unit = make_unit(platform, "006")
    known(platform, unit)
    a = assessment_of(api, open_round(api, 2022, "006").id, unit)
    submit_and_verify(api, a, {**dict.fromkeys(TC124, True), "TC2": False})
    assert finalise(api, a).result == pb.ASSESSMENT_RESULT_FAILED
    eventually_sync(lambda: reporting_row(platform, a.id) == [("failed", 1, 80.0)], within=60)

    with pytest.raises(grpc.RpcError) as no_reason:
        api(
            "ReviseAssessment", pb.ReviseAssessmentRequest(id=a.id, verdicts=verdicts({"TC2": True})), "admin"
        )
    assert code_of(no_reason) == grpc.StatusCode.INVALID_ARGUMENT
    revised = api(
        "ReviseAssessment",
        pb.ReviseAssessmentRequest(
            id=a.id,
            reason="Vụ việc đã được xác minh không thuộc trách nhiệm đơn vị",
            verdicts=verdicts({"TC2": True}),
        ),
        "admin",
    ).assessment
    assert (revised.result, revised.revision, revised.score) == (pb.ASSESSMENT_RESULT_PASSED, 2, 100.0)
    eventually_sync(lambda: reporting_row(platform, a.id) == [("passed", 2, 100.0)], within=60)

    detail = api("GetAssessment", pb.GetAssessmentRequest(id=a.id), "police")
    history = [(h.revision, h.result) for h in detail.history]
    assert history == [(1, pb.ASSESSMENT_RESULT_FAILED), (2, pb.ASSESSMENT_RESULT_PASSED)]
    assert detail.history[1].reason.startswith("Vụ việc")


def test_opening_a_round_for_many_units_is_one_call(platform: Platform, api: Api) -> None:
    units = [make_unit(platform, "007", kind=k) for k in ["agency", "enterprise", "school"] * 8]
    out_of_scope = make_unit(platform, "007", kind="school", sub_kind="primary")
    known(platform, *units, out_of_scope)
    round_ = open_round(api, 2024, "007")
    assert round_.unit_count >= len(units)

    seen: list[pb.Assessment] = []
    token = ""
    while True:
        page = api(
            "ListAssessments",
            pb.ListAssessmentsRequest(
                round_id=round_.id, page=common_pb2.PageRequest(page_size=7, page_token=token)
            ),
            "police",
        )
        seen.extend(page.assessments)
        token = page.page.next_page_token
        if not token:
            break
    by_unit = {a.unit_id: a for a in seen}
    assert len(seen) == round_.unit_count == len(by_unit)
    assert set(units) <= set(by_unit)
    assert out_of_scope not in by_unit
    assert {by_unit[u].unit_kind for u in units} == {"agency", "enterprise", "school"}

    with pytest.raises(grpc.RpcError) as again:
        open_round(api, 2024, "007")
    assert code_of(again) == grpc.StatusCode.ALREADY_EXISTS
    progress = api("GetRoundProgress", pb.GetRoundProgressRequest(id=round_.id), "admin").rows
    assert {(r.district_code, r.unit_kind) for r in progress[:-1]} == {
        ("007", k) for k in ("agency", "enterprise", "school")
    }
    assert sum(r.total for r in progress[:-1]) == progress[-1].total == round_.unit_count
    schools = api(
        "ListAssessments",
        pb.ListAssessmentsRequest(
            round_id=round_.id, unit_kind="school", page=common_pb2.PageRequest(page_size=500)
        ),
        "police",
    )
    assert {a.unit_kind for a in schools.assessments} == {"school"}


def test_roles_reach_only_what_they_may(platform: Platform, api: Api) -> None:
    mine, other = make_unit(platform, "008"), make_unit(platform, "008")
    known(platform, mine, other)
    for role in ("unit_officer", "police"):
        with pytest.raises(grpc.RpcError) as denied:
            api(
                "OpenRound",
                pb.OpenRoundRequest(
                    year=2023,
                    district_code="008",
                    self_assessment_due=d(date(2023, 10, 1)),
                    verification_due=d(date(2023, 11, 1)),
                ),
                role,
                unit_id=mine,
            )
        assert code_of(denied) == grpc.StatusCode.PERMISSION_DENIED
    round_ = open_round(api, 2023, "008")
    a_mine, a_other = assessment_of(api, round_.id, mine), assessment_of(api, round_.id, other)

    own = api("ListAssessments", pb.ListAssessmentsRequest(round_id=round_.id), "unit_officer", unit_id=mine)
    assert [a.unit_id for a in own.assessments] == [mine]
    detail = api("GetAssessment", pb.GetAssessmentRequest(id=a_mine.id), "unit_officer", unit_id=mine)
    assert [(v.criterion_code, v.kind) for v in detail.answers][:2] == [
        ("TC1", pb.CRITERION_KIND_EVIDENCE),
        ("TC2", pb.CRITERION_KIND_DERIVED),
    ]
    for method, request in [
        ("GetAssessment", pb.GetAssessmentRequest(id=a_other.id)),
        (
            "SubmitAssessment",
            pb.SubmitAssessmentRequest(id=a_other.id, answers=answers({"TC1": True, "TC5": True})),
        ),
    ]:
        with pytest.raises(grpc.RpcError) as denied:
            api(method, request, "unit_officer", unit_id=mine)
        assert code_of(denied) == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as police_submit:
        api("SubmitAssessment", pb.SubmitAssessmentRequest(id=a_mine.id), "police")
    assert code_of(police_submit) == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as officer_verify:
        api(
            "VerifyAssessment",
            pb.VerifyAssessmentRequest(id=a_mine.id, verdicts=verdicts({"TC1": True})),
            "unit_officer",
            unit_id=mine,
        )
    assert code_of(officer_verify) == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as incomplete:
        api(
            "SubmitAssessment",
            pb.SubmitAssessmentRequest(id=a_mine.id, answers=answers({"TC1": True})),
            "unit_officer",
            unit_id=mine,
        )
    assert code_of(incomplete) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as progress:
        api("GetRoundProgress", pb.GetRoundProgressRequest(id=round_.id), "unit_officer", unit_id=mine)
    assert code_of(progress) == grpc.StatusCode.PERMISSION_DENIED


def test_corrective_actions_for_unmet_criteria_over_http(platform: Platform, api: Api) -> None:
    unit = make_unit(platform, "008")
    known(platform, unit)
    a = assessment_of(api, open_round(api, 2022, "008").id, unit)
    base = platform["assessment"].url
    officer = platform.headers("unit_officer", unit_id=unit)
    r = httpx.post(
        f"{base}/v1/assessments/{a.id}:submit",
        headers=officer,
        json={
            "answers": [
                {"criterion_code": "TC1", "met": True, "evidence_links": ["https://docs.example/kh.pdf"]},
                {"criterion_code": "TC5", "met": False, "notes": "Chưa có quy chế phối hợp"},
            ]
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted"
    police = platform.headers("police", subject="police-minh")
    body = {"verdicts": [{"criterion_code": c, "met": c != "TC5"} for c in TC124]}
    assert httpx.post(f"{base}/v1/assessments/{a.id}:verify", headers=police, json=body).status_code == 200
    done = httpx.post(f"{base}/v1/assessments/{a.id}:finalise", headers=police).json()
    assert (done["result"], done["unmet_criteria"]) == ("failed", ["TC5"])

    action = {
        "criterion_code": "TC5",
        "action": "Ký quy chế phối hợp với Công an phường",
        "owner": "Ban giám hiệu",
        "due_on": date.today().replace(year=date.today().year + 1).isoformat(),
    }
    met = httpx.post(
        f"{base}/v1/assessments/{a.id}/corrective-actions",
        headers=police,
        json={**action, "criterion_code": "TC1"},
    )
    assert met.status_code == 400, met.text
    created = httpx.post(f"{base}/v1/assessments/{a.id}/corrective-actions", headers=police, json=action)
    assert created.status_code == 201, created.text
    action_id = created.json()["id"]
    listed = httpx.get(f"{base}/v1/corrective-actions", params={"status": "open"}, headers=officer).json()
    assert [x["id"] for x in listed] == [action_id]
    stranger = platform.headers("unit_officer", unit_id=str(uuid.uuid4()))
    assert (
        httpx.post(f"{base}/v1/corrective-actions/{action_id}:close", headers=stranger, json={}).status_code
        == 403
    )
    closed = httpx.post(
        f"{base}/v1/corrective-actions/{action_id}:close", headers=officer, json={"note": "Đã ký ngày 15/3"}
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["closing_note"]) == ("closed", "Đã ký ngày 15/3")
    detail = httpx.get(f"{base}/v1/assessments/{a.id}", headers=officer).json()
    assert [c["criterion_code"] for c in detail["answers"]] == TC124
    assert detail["history"][0]["revision"] == 1
