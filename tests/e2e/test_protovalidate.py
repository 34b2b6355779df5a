"""The rules the protos declare with `buf.validate` are the rules the gRPC door enforces: against the five
services as processes, a request missing a required field is INVALID_ARGUMENT, reason "required", with a
google.rpc.BadRequest naming the field, before any servicer code runs (so even for an unknown object)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from d07.assessment.v1 import assessment_pb2, assessment_pb2_grpc
from d07.awards.v1 import awards_pb2, awards_pb2_grpc, certificates_pb2, certificates_pb2_grpc
from d07.cameras.v1 import cameras_pb2, cameras_pb2_grpc, violations_pb2, violations_pb2_grpc
from d07.platform.grpc import status_details
from d07.registry.v1 import forces_pb2, forces_pb2_grpc, registry_pb2, registry_pb2_grpc
from d07.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from tests.support.services import Platform

# (service, stub, method, request missing fields, the fields named)
CASES: list[tuple[str, Any, str, Any, list[str]]] = [
    ("registry", registry_pb2_grpc.RegistryServiceStub, "GetUnit", registry_pb2.GetUnitRequest(), ["id"]),
    (
        "registry",
        registry_pb2_grpc.RegistryServiceStub,
        "CreateUnit",
        registry_pb2.CreateUnitRequest(district_code="001"),
        ["code", "name"],
    ),
    (
        "registry",
        forces_pb2_grpc.ForcesServiceStub,
        "RegisterGuard",
        forces_pb2.RegisterGuardRequest(full_name="Nguyễn Thị Hạnh"),
        ["unit_id"],
    ),
    (
        "assessment",
        assessment_pb2_grpc.AssessmentServiceStub,
        "GetAssessment",
        assessment_pb2.GetAssessmentRequest(),
        ["id"],
    ),
    (
        "assessment",
        assessment_pb2_grpc.AssessmentServiceStub,
        "GetKnownUnit",
        assessment_pb2.GetKnownUnitRequest(),
        ["unit_id"],
    ),
    ("cameras", cameras_pb2_grpc.CamerasServiceStub, "GetCamera", cameras_pb2.GetCameraRequest(), ["id"]),
    (
        "cameras",
        violations_pb2_grpc.ViolationsServiceStub,
        "CommentOnViolation",
        violations_pb2.CommentOnViolationRequest(text="Đã cử tổ tuần tra"),
        ["id"],
    ),
    (
        "awards",
        awards_pb2_grpc.AwardsServiceStub,
        "CreateNomination",
        awards_pb2.CreateNominationRequest(achievements="Bắt giữ đối tượng trộm cắp"),
        ["round_id", "form_code"],
    ),
    ("awards", awards_pb2_grpc.AwardsServiceStub, "GetNomination", awards_pb2.GetNominationRequest(), ["id"]),
    (
        "awards",
        certificates_pb2_grpc.CertificatesServiceStub,
        "GetCertificate",
        certificates_pb2.GetCertificateRequest(),
        ["id"],
    ),
    (
        "reporting",
        reporting_pb2_grpc.ReportingServiceStub,
        "ListFigureRecords",
        reporting_pb2.ListFigureRecordsRequest(district_code="001"),
        ["figure"],
    ),
]


@pytest.mark.parametrize(
    ("service", "stub", "method", "request_", "fields"),
    CASES,
    ids=[f"{c[0]}.{c[2]}" for c in CASES],
)
async def test_missing_required_field_is_invalid_argument_naming_it(
    platform: Platform, service: str, stub: Any, method: str, request_: Any, fields: list[str]
) -> None:
    async with grpc.aio.insecure_channel(platform[service].target) as channel:
        call = getattr(stub(channel), method)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(request_, metadata=platform.metadata("admin"), timeout=10)
    err = refused.value
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    details = status_details(err)
    assert details["reason"] == "required"
    assert [v["field"] for v in details["field_violations"]] == fields
    assert all(v["description"] == "value is required" for v in details["field_violations"])
    for name in fields:
        assert name in (err.details() or "")


async def test_a_request_that_keeps_the_rules_reaches_the_servicer(platform: Platform) -> None:
    """The same door lets a complete request through: an unknown id is the servicer's NOT_FOUND."""
    async with grpc.aio.insecure_channel(platform["registry"].target) as channel:
        stub = registry_pb2_grpc.RegistryServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetUnit(
                registry_pb2.GetUnitRequest(id="00000000-0000-4000-8000-000000000000"),
                metadata=platform.metadata("admin"),
                timeout=10,
            )
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
