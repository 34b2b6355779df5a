"""gRPC door of violation handling: d07.cameras.v1.ViolationsService. Thin: messages in, handler, messages
out."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from cameras.violations import service
from cameras.violations.domain import (
    Acknowledge,
    Assign,
    Command,
    CommentOnViolation,
    Dismiss,
    GetViolation,
    HandleViolation,
    HandOver,
    ListViolations,
    ReadFeed,
    Resolve,
    StartHandling,
)
from cameras.violations.messages import (
    activity_to_pb,
    comment_to_pb,
    detection_kind_to_pb,
    handover_to_pb,
    priority_name,
    status_name,
    violation_to_pb,
)
from cameras.violations.service import ViolationsDeps, ViolationsUnitOfWork
from d07.cameras.v1 import violations_pb2 as pb
from d07.cameras.v1 import violations_pb2_grpc as pb_grpc
from d07.cameras.v1.violation_events_pb2 import Violation as ViolationPb
from d07.common.v1 import common_pb2
from d07.platform.grpc import current_principal

SERVICE_NAME = "d07.cameras.v1.ViolationsService"


def _time(value: Timestamp, present: bool) -> datetime | None:
    """None for an unset timestamp; an aware UTC time otherwise."""
    return value.ToDatetime(tzinfo=UTC) if present else None


class ViolationsServicer(pb_grpc.ViolationsServiceServicer):
    def __init__(self, deps: ViolationsDeps) -> None:
        self.deps = deps

    def _uow(self) -> ViolationsUnitOfWork:
        return self.deps.uow(ViolationsUnitOfWork)

    async def _handle(self, violation_id: str, version: int, cmd: Command) -> ViolationPb:
        violation = await service.handle(
            self._uow(), HandleViolation(violation_id, version, cmd), current_principal()
        )
        return violation_to_pb(violation)

    async def ListViolations(
        self, request: pb.ListViolationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListViolationsResponse:
        query = ListViolations(
            status=status_name(request.status),
            kind=request.kind,
            priority=priority_name(request.priority),
            camera_id=request.camera_id,
            unit_id=request.unit_id,
            district_code=request.district_code,
            overdue=request.overdue if request.HasField("overdue") else None,
            opened_from=_time(request.opened_from, request.HasField("opened_from")),
            opened_to=_time(request.opened_to, request.HasField("opened_to")),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
        )
        violations, token = await service.list_violations(self._uow(), query, current_principal())
        return pb.ListViolationsResponse(
            violations=[violation_to_pb(v) for v in violations],
            page=common_pb2.PageInfo(next_page_token=token),
        )

    async def GetViolation(
        self, request: pb.GetViolationRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetViolationResponse:
        violation, log = await service.get_violation(
            self._uow(), GetViolation(request.id), current_principal()
        )
        return pb.GetViolationResponse(
            violation=violation_to_pb(violation),
            activity=[activity_to_pb(a) for a in log],
            comments=[comment_to_pb(a) for a in log if a.action == "commented"],
            handover=handover_to_pb(violation),
        )

    async def AcknowledgeViolation(
        self, request: pb.AcknowledgeViolationRequest, context: grpc.aio.ServicerContext
    ) -> pb.AcknowledgeViolationResponse:
        violation = await self._handle(request.id, request.version, Acknowledge(note=request.note))
        return pb.AcknowledgeViolationResponse(violation=violation)

    async def HandOverViolation(
        self, request: pb.HandOverViolationRequest, context: grpc.aio.ServicerContext
    ) -> pb.HandOverViolationResponse:
        violation = await self._handle(
            request.id, request.version, HandOver(to=request.to, note=request.note)
        )
        return pb.HandOverViolationResponse(violation=violation)

    async def AssignViolation(
        self, request: pb.AssignViolationRequest, context: grpc.aio.ServicerContext
    ) -> pb.AssignViolationResponse:
        cmd = Assign(assignee=request.assignee, team=request.team, note=request.note)
        return pb.AssignViolationResponse(violation=await self._handle(request.id, request.version, cmd))

    async def StartViolationHandling(
        self, request: pb.StartViolationHandlingRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartViolationHandlingResponse:
        violation = await self._handle(request.id, request.version, StartHandling(note=request.note))
        return pb.StartViolationHandlingResponse(violation=violation)

    async def ResolveViolation(
        self, request: pb.ResolveViolationRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResolveViolationResponse:
        violation = await self._handle(request.id, request.version, Resolve(outcome=request.outcome))
        return pb.ResolveViolationResponse(violation=violation)

    async def DismissViolation(
        self, request: pb.DismissViolationRequest, context: grpc.aio.ServicerContext
    ) -> pb.DismissViolationResponse:
        violation = await self._handle(request.id, request.version, Dismiss(reason=request.reason))
        return pb.DismissViolationResponse(violation=violation)

    async def CommentOnViolation(
        self, request: pb.CommentOnViolationRequest, context: grpc.aio.ServicerContext
    ) -> pb.CommentOnViolationResponse:
        entry = await service.comment(
            self._uow(), CommentOnViolation(request.id, request.text), current_principal()
        )
        return pb.CommentOnViolationResponse(comment=comment_to_pb(entry))

    async def ListDetectionKinds(
        self, request: pb.ListDetectionKindsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDetectionKindsResponse:
        kinds = await service.list_detection_kinds(self._uow(), current_principal())
        return pb.ListDetectionKindsResponse(kinds=[detection_kind_to_pb(k) for k in kinds])

    async def WatchViolations(
        self, request: pb.WatchViolationsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.WatchViolationsResponse]:
        query = ReadFeed(cursor=request.cursor, poll_seconds=self.deps.settings.violation_watch_poll_seconds)
        feed = service.watch(self._uow(), query, current_principal(), signal=self.deps.signal)
        async with contextlib.aclosing(feed):  # a client that leaves closes its reader at once
            async for activity, violation in feed:
                yield pb.WatchViolationsResponse(
                    cursor=activity.seq,
                    activity=activity_to_pb(activity),
                    violation=violation_to_pb(violation),
                )


def register(server: grpc.aio.Server, deps: ViolationsDeps) -> None:
    pb_grpc.add_ViolationsServiceServicer_to_server(ViolationsServicer(deps), server)
