"""HTTP door of directive documents (FastAPI): the same handlers as gRPC, JSON in and out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from d07.platform.http import Caller, allowed
from d07.platform.readmodel import ReadModel
from registry.config import RegistryDeps
from registry.directives import service
from registry.directives.domain import (
    AcknowledgeDocument,
    DistributeDocument,
    IssueDocument,
    UnitSelector,
    UpdateDocument,
)
from registry.directives.service import DirectivesUnitOfWork


class DocumentKindRead(BaseModel):
    code: str = Field(examples=["directive"])
    label: str = Field(examples=["Chỉ thị"])


class DocumentCreate(BaseModel):
    number: str = Field(examples=["07/CT-BCA-V28"])
    kind: str = Field(examples=["directive"])
    title: str = Field(
        examples=[
            "Về đẩy mạnh phong trào toàn dân bảo vệ an ninh Tổ quốc trong cơ quan, doanh nghiệp, nhà trường"
        ]
    )
    issued_on: date = Field(examples=["2014-08-15"])
    issuer: str = Field(examples=["Bộ trưởng Bộ Công an"])
    summary: str = ""
    link: str = ""
    parent_id: str = Field("", description="the document this one implements (a plan of a directive)")


class DocumentUpdate(BaseModel):
    """Fields left out keep their value; `parent_id: ""` removes the parent."""

    version: int = Field(description="the version read")
    number: str | None = None
    kind: str | None = None
    title: str | None = None
    issued_on: date | None = None
    issuer: str | None = None
    summary: str | None = None
    link: str | None = None
    parent_id: str | None = None


class DocumentRead(ReadModel):
    id: uuid.UUID
    number: str
    kind: str
    kind_label: str
    title: str
    issued_on: date
    issuer: str
    summary: str
    link: str
    parent_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class DocumentPage(BaseModel):
    items: list[DocumentRead]
    next_page_token: str


class UnitSelectorModel(BaseModel):
    """Every active unit of a district and/or kind; both empty: every active unit of the province."""

    district_code: str = ""
    kind: str = Field("", examples=["school"])


class DistributionCreate(BaseModel):
    """Name the units, or give a selector (exactly one)."""

    unit_ids: list[str] = []
    selector: UnitSelectorModel | None = None


class DistributionRead(BaseModel):
    document_id: uuid.UUID
    added_count: int
    matched_count: int
    added_unit_ids: list[uuid.UUID]


class ReceiptAcknowledge(BaseModel):
    note: str = ""


class ReceiptRead(ReadModel):
    document_id: uuid.UUID
    unit_id: uuid.UUID
    unit_code: str
    unit_name: str
    district_code: str
    distributed_at: datetime
    distributed_by: str
    acknowledged: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str


class ReceiptPage(BaseModel):
    items: list[ReceiptRead]
    next_page_token: str


class DistrictProgressRead(ReadModel):
    district_code: str
    district_name: str
    distributed: int
    acknowledged: int
    pending: int


class ProgressRead(ReadModel):
    document_id: uuid.UUID
    distributed: int
    acknowledged: int
    pending: int
    districts: list[DistrictProgressRead]


def router(deps: RegistryDeps) -> APIRouter:

    def uow() -> DirectivesUnitOfWork:
        return deps.uow(DirectivesUnitOfWork)

    api = APIRouter(prefix="/v1", tags=["directives"])

    @api.get("/document-kinds", response_model=list[DocumentKindRead])
    async def list_kinds(caller: Caller) -> list[DocumentKindRead]:
        kinds = await service.list_kinds(uow(), service.ListDocumentKinds(), caller)
        return [DocumentKindRead(code=k.code, label=k.label) for k in kinds]

    @api.post(
        "/documents",
        status_code=status.HTTP_201_CREATED,
        response_model=DocumentRead,
        dependencies=[allowed(*service.ISSUERS)],
    )
    async def issue_document(body: DocumentCreate, caller: Caller) -> DocumentRead:
        document = await service.issue_document(uow(), IssueDocument(**body.model_dump()), caller)
        return DocumentRead.model_validate(document)

    @api.get("/documents", response_model=DocumentPage)
    async def list_documents(
        caller: Caller,
        kind: str = "",
        year: int = 0,
        q: str = "",
        unit_id: str = "",
        page_size: int = Query(0, ge=0),
        page_token: str = "",
    ) -> DocumentPage:
        page = await service.list_documents(
            uow(),
            service.ListDocuments(
                kind=kind, year=year, q=q, unit_id=unit_id, size=page_size, page_token=page_token
            ),
            caller,
        )
        return DocumentPage(
            items=[DocumentRead.model_validate(d) for d in page.items], next_page_token=page.next_page_token
        )

    @api.get("/documents/{document_id}", response_model=DocumentRead)
    async def get_document(document_id: str, caller: Caller) -> DocumentRead:
        return DocumentRead.model_validate(
            await service.get_document(uow(), service.GetDocument(document_id), caller)
        )

    @api.patch(
        "/documents/{document_id}", response_model=DocumentRead, dependencies=[allowed(*service.ISSUERS)]
    )
    async def update_document(document_id: str, body: DocumentUpdate, caller: Caller) -> DocumentRead:
        changes = body.model_dump(exclude_unset=True, exclude={"version"})
        cmd = UpdateDocument(document_id=document_id, version=body.version, **changes)
        return DocumentRead.model_validate(await service.update_document(uow(), cmd, caller))

    @api.post(
        "/documents/{document_id}/distributions",
        response_model=DistributionRead,
        dependencies=[allowed(*service.ISSUERS)],
    )
    async def distribute_document(
        document_id: str, body: DistributionCreate, caller: Caller
    ) -> DistributionRead:
        selector = body.selector
        cmd = DistributeDocument(
            document_id=document_id,
            unit_ids=tuple(body.unit_ids),
            selector=UnitSelector(selector.district_code, selector.kind) if selector else None,
        )
        result = await service.distribute_document(uow(), cmd, caller)
        return DistributionRead(
            document_id=result.document_id,
            added_count=len(result.added_unit_ids),
            matched_count=result.matched_count,
            added_unit_ids=list(result.added_unit_ids),
        )

    @api.get("/documents/{document_id}/receipts", response_model=ReceiptPage)
    async def list_receipts(
        document_id: str,
        caller: Caller,
        state: Literal["", "pending", "acknowledged"] = "",
        district_code: str = "",
        page_size: int = Query(0, ge=0),
        page_token: str = "",
    ) -> ReceiptPage:
        page = await service.list_receipts(
            uow(),
            service.ListReceipts(
                document_id, state=state, district_code=district_code, size=page_size, page_token=page_token
            ),
            caller,
        )
        return ReceiptPage(
            items=[ReceiptRead.model_validate(r) for r in page.items], next_page_token=page.next_page_token
        )

    @api.get("/documents/{document_id}/receipts/{unit_id}", response_model=ReceiptRead)
    async def get_receipt(document_id: str, unit_id: str, caller: Caller) -> ReceiptRead:
        return ReceiptRead.model_validate(
            await service.get_receipt(uow(), service.GetReceipt(document_id, unit_id), caller)
        )

    @api.post(
        "/documents/{document_id}/receipts/{unit_id}/acknowledgement",
        response_model=ReceiptRead,
        dependencies=[allowed(*service.ACKNOWLEDGERS)],
    )
    async def acknowledge_document(
        document_id: str, unit_id: str, body: ReceiptAcknowledge, caller: Caller
    ) -> ReceiptRead:
        cmd = AcknowledgeDocument(document_id=document_id, unit_id=unit_id, note=body.note)
        return ReceiptRead.model_validate(await service.acknowledge_document(uow(), cmd, caller))

    @api.get("/documents/{document_id}/progress", response_model=ProgressRead)
    async def get_progress(document_id: str, caller: Caller) -> ProgressRead:
        return ProgressRead.model_validate(
            await service.get_progress(uow(), service.GetProgress(document_id), caller)
        )

    return api
