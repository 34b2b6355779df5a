"""gRPC door of training: d07.registry.v1.TrainingService. Thin: messages in, handler, messages out."""

from __future__ import annotations

import grpc

from d07.common.v1 import common_pb2
from d07.platform.convert import date_from_pb, parse_uuid
from d07.platform.grpc import current_principal
from d07.registry.v1 import training_pb2 as pb
from d07.registry.v1 import training_pb2_grpc as pb_grpc
from registry.config import RegistryDeps
from registry.training import messages as m
from registry.training import service as training
from registry.training.domain import (
    AttendanceFilter,
    ClassFilter,
    RecordCompletion,
    ScheduleClass,
    UpdateClass,
)
from registry.training.service import TrainingUnitOfWork

SERVICE_NAME = "d07.registry.v1.TrainingService"


class TrainingServicer(pb_grpc.TrainingServiceServicer):
    def __init__(self, deps: RegistryDeps) -> None:
        self.deps = deps

    def uow(self) -> TrainingUnitOfWork:
        return self.deps.uow(TrainingUnitOfWork)

    async def ScheduleClass(
        self, request: pb.ScheduleClassRequest, context: grpc.aio.ServicerContext
    ) -> pb.ScheduleClassResponse:
        cmd = ScheduleClass(
            title=request.title,
            organiser=request.organiser,
            starts_on=date_from_pb(request.starts_on, "starts_on"),
            ends_on=date_from_pb(request.ends_on, "ends_on"),
            place=request.place,
            capacity=request.capacity,
            district_code=request.district_code,
        )
        cls = await training.schedule_class(self.uow(), cmd, current_principal())
        return pb.ScheduleClassResponse(training_class=m.class_to_pb(cls))

    async def GetClass(
        self, request: pb.GetClassRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetClassResponse:
        cls = await training.get_class(self.uow(), training.GetClass(request.id), current_principal())
        return pb.GetClassResponse(training_class=m.class_to_pb(cls))

    async def UpdateClass(
        self, request: pb.UpdateClassRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateClassResponse:
        status = None
        if request.status != pb.CLASS_STATUS_UNSPECIFIED:
            status = m.statuses_from_pb([request.status], "status")[0].value
        cmd = UpdateClass(
            class_id=parse_uuid(request.id, "id"),
            version=request.version,
            title=request.title if request.HasField("title") else None,
            organiser=request.organiser if request.HasField("organiser") else None,
            starts_on=date_from_pb(request.starts_on, "starts_on"),
            ends_on=date_from_pb(request.ends_on, "ends_on"),
            place=request.place if request.HasField("place") else None,
            capacity=request.capacity if request.HasField("capacity") else None,
            district_code=request.district_code if request.HasField("district_code") else None,
            status=status,
        )
        cls = await training.update_class(self.uow(), cmd, current_principal())
        return pb.UpdateClassResponse(training_class=m.class_to_pb(cls))

    async def CancelClass(
        self, request: pb.CancelClassRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelClassResponse:
        cls = await training.cancel_class(
            self.uow(), training.CancelClass(request.id, request.version, request.reason), current_principal()
        )
        return pb.CancelClassResponse(training_class=m.class_to_pb(cls))

    async def ListClasses(
        self, request: pb.ListClassesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClassesResponse:
        flt = ClassFilter(
            from_date=date_from_pb(request.from_date, "from_date"),
            to_date=date_from_pb(request.to_date, "to_date"),
            district_code=request.district_code.strip(),
            statuses=m.statuses_from_pb(list(request.statuses), "statuses"),
            q=request.q,
        )
        page, token = await training.list_classes(
            self.uow(),
            training.ListClasses(flt, request.page.page_size, request.page.page_token),
            current_principal(),
        )
        return pb.ListClassesResponse(
            training_classes=[m.class_to_pb(c) for c in page],
            page=common_pb2.PageInfo(next_page_token=token),
        )

    async def EnrolGuard(
        self, request: pb.EnrolGuardRequest, context: grpc.aio.ServicerContext
    ) -> pb.EnrolGuardResponse:
        [att] = await training.enrol_guards(
            self.uow(), training.EnrolGuards(request.class_id, [request.guard_id]), current_principal()
        )
        return pb.EnrolGuardResponse(attendance=m.attendance_to_pb(att))

    async def BatchEnrolGuards(
        self, request: pb.BatchEnrolGuardsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchEnrolGuardsResponse:
        atts = await training.enrol_guards(
            self.uow(), training.EnrolGuards(request.class_id, list(request.guard_ids)), current_principal()
        )
        return pb.BatchEnrolGuardsResponse(attendances=[m.attendance_to_pb(a) for a in atts])

    async def RecordCompletion(
        self, request: pb.RecordCompletionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordCompletionResponse:
        cmd = RecordCompletion(
            class_id=parse_uuid(request.class_id, "class_id"),
            guard_id=parse_uuid(request.guard_id, "guard_id"),
            version=request.version,
            completed=request.completed,
            result=request.result,
        )
        att = await training.record_completion(self.uow(), cmd, current_principal())
        return pb.RecordCompletionResponse(attendance=m.attendance_to_pb(att))

    async def ListAttendances(
        self, request: pb.ListAttendancesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAttendancesResponse:
        flt = AttendanceFilter(
            class_id=parse_uuid(request.class_id, "class_id") if request.class_id else None,
            guard_id=parse_uuid(request.guard_id, "guard_id") if request.guard_id else None,
            unit_id=parse_uuid(request.unit_id, "unit_id") if request.unit_id else None,
            from_date=date_from_pb(request.from_date, "from_date"),
            to_date=date_from_pb(request.to_date, "to_date"),
            district_code=request.district_code.strip(),
            class_statuses=m.statuses_from_pb(list(request.class_statuses), "class_statuses"),
            outcome=m.outcome_from_pb(request.outcome),
        )
        page, token = await training.list_attendances(
            self.uow(),
            training.ListAttendances(flt, request.page.page_size, request.page.page_token),
            current_principal(),
        )
        return pb.ListAttendancesResponse(
            attendances=[m.attendance_to_pb(a) for a in page],
            page=common_pb2.PageInfo(next_page_token=token),
        )

    async def GetTrainingFigures(
        self, request: pb.GetTrainingFiguresRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTrainingFiguresResponse:
        figures = await training.training_figures(
            self.uow(),
            training.GetFigures(
                from_date=date_from_pb(request.from_date, "from_date"),
                to_date=date_from_pb(request.to_date, "to_date"),
                district_code=request.district_code,
            ),
            current_principal(),
        )
        return m.figures_to_pb(figures)


def register(server: grpc.aio.Server, deps: RegistryDeps) -> None:
    pb_grpc.add_TrainingServiceServicer_to_server(TrainingServicer(deps), server)
