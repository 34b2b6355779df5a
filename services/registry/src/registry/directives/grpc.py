"""gRPC door of directive documents: d07.registry.v1.DirectivesService. Thin: messages in, handler,
messages out."""

from __future__ import annotations

import grpc

from d07.common.v1 import common_pb2
from d07.platform.convert import date_from_pb
from d07.platform.grpc import current_principal
from d07.registry.v1 import directives_pb2 as pb
from d07.registry.v1 import directives_pb2_grpc as pb_grpc
from registry.config import RegistryDeps
from registry.directives import service
from registry.directives.domain import (
    AcknowledgeDocument,
    DistributeDocument,
    IssueDocument,
    UnitSelector,
    UpdateDocument,
)
from registry.directives.messages import (
    document_to_pb,
    progress_to_pb,
    receipt_to_pb,
)
from registry.directives.service import DirectivesUnitOfWork
from registry.units.messages import kind_from_pb

SERVICE_NAME = "d07.registry.v1.DirectivesService"
RECEIPT_STATES = {
    pb.RECEIPT_STATE_UNSPECIFIED: "",
    pb.RECEIPT_STATE_PENDING: "pending",
    pb.RECEIPT_STATE_ACKNOWLEDGED: "acknowledged",
}


def _optional(request: pb.UpdateDocumentRequest, field: str) -> str | None:
    return getattr(request, field) if request.HasField(field) else None


class DirectivesServicer(pb_grpc.DirectivesServiceServicer):
    def __init__(self, deps: RegistryDeps) -> None:
        self.deps = deps

    def uow(self) -> DirectivesUnitOfWork:
        return self.deps.uow(DirectivesUnitOfWork)

    async def ListDocumentKinds(
        self, request: pb.ListDocumentKindsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDocumentKindsResponse:
        kinds = await service.list_kinds(self.uow(), service.ListDocumentKinds(), current_principal())
        return pb.ListDocumentKindsResponse(
            kinds=[pb.DocumentKind(code=k.code, label=k.label) for k in kinds]
        )

    async def IssueDocument(
        self, request: pb.IssueDocumentRequest, context: grpc.aio.ServicerContext
    ) -> pb.IssueDocumentResponse:
        cmd = IssueDocument(
            number=request.number,
            kind=request.kind,
            title=request.title,
            issued_on=date_from_pb(request.issued_on, "issued_on"),
            issuer=request.issuer,
            summary=request.summary,
            link=request.link,
            parent_id=request.parent_id,
        )
        document = await service.issue_document(self.uow(), cmd, current_principal())
        return pb.IssueDocumentResponse(document=document_to_pb(document))

    async def GetDocument(
        self, request: pb.GetDocumentRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetDocumentResponse:
        document = await service.get_document(
            self.uow(), service.GetDocument(request.id), current_principal()
        )
        return pb.GetDocumentResponse(document=document_to_pb(document))

    async def UpdateDocument(
        self, request: pb.UpdateDocumentRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateDocumentResponse:
        cmd = UpdateDocument(
            document_id=request.id,
            version=request.version,
            number=_optional(request, "number"),
            kind=_optional(request, "kind"),
            title=_optional(request, "title"),
            issued_on=date_from_pb(request.issued_on, "issued_on"),
            issuer=_optional(request, "issuer"),
            summary=_optional(request, "summary"),
            link=_optional(request, "link"),
            parent_id=_optional(request, "parent_id"),
        )
        document = await service.update_document(self.uow(), cmd, current_principal())
        return pb.UpdateDocumentResponse(document=document_to_pb(document))

    async def ListDocuments(
        self, request: pb.ListDocumentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDocumentsResponse:
        page = await service.list_documents(
            self.uow(),
            service.ListDocuments(
                kind=request.kind,
                year=request.year,
                q=request.q,
                unit_id=request.unit_id,
                size=request.page.page_size,
                page_token=request.page.page_token,
            ),
            current_principal(),
        )
        return pb.ListDocumentsResponse(
            documents=[document_to_pb(d) for d in page.items],
            page=common_pb2.PageInfo(next_page_token=page.next_page_token),
        )

    async def DistributeDocument(
        self, request: pb.DistributeDocumentRequest, context: grpc.aio.ServicerContext
    ) -> pb.DistributeDocumentResponse:
        selector = None
        if request.WhichOneof("target") == "selector":
            selector = UnitSelector(
                district_code=request.selector.district_code,
                kind=kind_from_pb(request.selector.kind),
            )
        cmd = DistributeDocument(
            document_id=request.document_id, unit_ids=tuple(request.units.ids), selector=selector
        )
        result = await service.distribute_document(self.uow(), cmd, current_principal())
        return pb.DistributeDocumentResponse(
            added_count=len(result.added_unit_ids),
            matched_count=result.matched_count,
            added_unit_ids=[str(u) for u in result.added_unit_ids],
        )

    async def AcknowledgeDocument(
        self, request: pb.AcknowledgeDocumentRequest, context: grpc.aio.ServicerContext
    ) -> pb.AcknowledgeDocumentResponse:
        cmd = AcknowledgeDocument(document_id=request.document_id, unit_id=request.unit_id, note=request.note)
        receipt = await service.acknowledge_document(self.uow(), cmd, current_principal())
        return pb.AcknowledgeDocumentResponse(receipt=receipt_to_pb(receipt))

    async def GetDocumentReceipt(
        self, request: pb.GetDocumentReceiptRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetDocumentReceiptResponse:
        receipt = await service.get_receipt(
            self.uow(), service.GetReceipt(request.document_id, request.unit_id), current_principal()
        )
        return pb.GetDocumentReceiptResponse(receipt=receipt_to_pb(receipt))

    async def ListDocumentReceipts(
        self, request: pb.ListDocumentReceiptsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDocumentReceiptsResponse:
        page = await service.list_receipts(
            self.uow(),
            service.ListReceipts(
                request.document_id,
                state=RECEIPT_STATES.get(request.state, "?"),
                district_code=request.district_code,
                size=request.page.page_size,
                page_token=request.page.page_token,
            ),
            current_principal(),
        )
        return pb.ListDocumentReceiptsResponse(
            receipts=[receipt_to_pb(r) for r in page.items],
            page=common_pb2.PageInfo(next_page_token=page.next_page_token),
        )

    async def GetDocumentProgress(
        self, request: pb.GetDocumentProgressRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetDocumentProgressResponse:
        progress = await service.get_progress(
            self.uow(), service.GetProgress(request.document_id), current_principal()
        )
        return progress_to_pb(progress)


def register(server: grpc.aio.Server, deps: RegistryDeps) -> None:
    pb_grpc.add_DirectivesServiceServicer_to_server(DirectivesServicer(deps), server)
