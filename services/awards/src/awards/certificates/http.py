"""HTTP door of certificates: PDFs and issuing behind the bearer token (`router`), and the PUBLIC
verification of a printed code (`public_router`, served without a token by `create_app(public_routers=)`).

The public route answers only the certificate's public facts and limits each client address to a number
of requests a minute: 60 random bits already make guessing hopeless, the limit keeps it cheap to serve.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator

from awards.certificates import service
from awards.certificates.domain import printed_code
from awards.certificates.pdf import CertificateConfig
from awards.certificates.service import CertificatesUnitOfWork
from awards.config import AwardsDeps
from d07.platform.http import Caller, client_address, problem
from d07.platform.readmodel import ReadModel

PDF = "application/pdf"


class CertificateIssue(BaseModel):
    award_ids: list[str] = Field(default_factory=list, description="either award ids ...")
    decision_number: str = Field(
        default="", description="... or a decision number", examples=["1234/QĐ-UBND"]
    )


class CertificateRead(ReadModel):
    id: uuid.UUID = Field(validation_alias="certificate_id")
    award_id: uuid.UUID
    code: str
    issued_at: datetime
    form_code: str
    recipient_kind: str
    unit_id: uuid.UUID
    unit_name: str
    person_name: str
    decision_number: str
    decided_on: date

    @field_validator("code", mode="before")
    @classmethod
    def printed(cls, code: Any) -> Any:
        """The code as printed and typed, in groups of four."""
        return printed_code(code) if isinstance(code, str) else code


class VerificationRead(ReadModel):
    status: str = Field(description="valid | revoked | unknown")
    recipient: str = ""
    form: str = ""
    decision_number: str = ""
    decided_on: date | None = None
    issuer: str = ""


def _pdf(content: bytes, filename: str) -> Response:
    disposition = f"inline; filename=\"certificate.pdf\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=PDF, headers={"Content-Disposition": disposition})


def router(deps: AwardsDeps) -> APIRouter:
    settings = deps.settings
    config = CertificateConfig(place=settings.certificate_place, font_dir=settings.certificate_font_dir)
    api = APIRouter(prefix="/v1/certificates", tags=["certificates"])

    def uow() -> CertificatesUnitOfWork:
        return deps.uow(CertificatesUnitOfWork)

    @api.post("", status_code=status.HTTP_201_CREATED)
    async def issue_certificates(body: CertificateIssue, caller: Caller) -> list[CertificateRead]:
        cmd = service.IssueCertificates(tuple(body.award_ids), body.decision_number)
        return [CertificateRead.model_validate(f) for f in await service.issue(uow(), cmd, caller)]

    @api.get("/decision.pdf", response_class=Response, responses={200: {"content": {PDF: {}}}})
    async def decision_certificates(decision_number: str, caller: Caller) -> Response:
        query = service.DecisionCertificates(decision_number, config)
        _, content = await service.decision_pdf(uow(), query, caller)
        return _pdf(content, f"quyet-dinh-{decision_number}.pdf")

    @api.get("/{certificate_id}")
    async def get_certificate(certificate_id: str, caller: Caller) -> CertificateRead:
        found = await service.get(uow(), service.GetCertificate(certificate_id), caller)
        return CertificateRead.model_validate(found)

    @api.get("/{certificate_id}/pdf", response_class=Response, responses={200: {"content": {PDF: {}}}})
    async def certificate_pdf(certificate_id: str, caller: Caller) -> Response:
        facts, content = await service.get_pdf(uow(), service.CertificatePdf(certificate_id, config), caller)
        return _pdf(content, f"{facts.certificate_id}.pdf")

    return api


class RateLimit:
    """A fixed one-minute window per client address, in this process (each replica limits on its own).
    The table forgets the oldest addresses beyond `max_clients`, so it cannot grow without bound."""

    def __init__(self, per_minute: int, max_clients: int = 10_000) -> None:
        self.per_minute = per_minute
        self.max_clients = max_clients
        self.windows: OrderedDict[str, tuple[int, int]] = OrderedDict()

    def allow(self, client: str, now: float | None = None) -> bool:
        minute = int((time.time() if now is None else now) // 60)
        start, count = self.windows.pop(client, (minute, 0))
        if start != minute:
            start, count = minute, 0
        self.windows[client] = (start, count + 1)
        while len(self.windows) > self.max_clients:
            self.windows.popitem(last=False)
        return count < self.per_minute


def public_router(deps: AwardsDeps) -> APIRouter:
    """GET /v1/certificates/verify/{code}: no token; valid / revoked / unknown with the public facts only."""
    limit = RateLimit(deps.settings.certificate_verify_per_minute)
    api = APIRouter(prefix="/v1/certificates", tags=["certificate verification (public)"])

    @api.get(
        "/verify/{code}",
        response_model=VerificationRead,
        responses={429: {"description": "Too many requests"}},
    )
    async def verify_certificate(code: str, request: Request) -> Response | VerificationRead:
        if not limit.allow(client_address(request)):
            return problem(
                429, code="too_many_requests", detail="too many verification requests; try again in a minute",
                instance=request.url.path, headers={"Retry-After": "60"},
            )  # fmt: skip
        v = await service.verify(deps.uow(CertificatesUnitOfWork), service.VerifyCode(code), None)
        return VerificationRead.model_validate(v)

    return api
