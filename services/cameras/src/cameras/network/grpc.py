"""gRPC door of the camera network, d07.cameras.v1.CamerasService: messages in, handler, messages out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import grpc

from cameras.network import service as cameras
from cameras.network.domain import (
    CameraFilter,
    ChangeStatus,
    CreateCamera,
    CreatePlan,
    GetCamera,
    GetProgress,
    GetUptime,
    Heartbeat,
    ListCameras,
    PlanInput,
    RejectedHeartbeat,
    SendHeartbeats,
    UpdateCamera,
    UpdatePlan,
)
from cameras.network.messages import camera_to_pb, plan_to_pb, progress_to_pb, status_from_pb
from cameras.network.service import NetworkDeps, NetworkUnitOfWork
from d07.cameras.v1 import cameras_pb2 as pb
from d07.cameras.v1 import cameras_pb2_grpc as pb_grpc
from d07.platform.convert import date_from_pb, date_to_pb, parse_uuid, timestamp
from d07.platform.grpc import current_principal


def _plan_input(
    request: pb.CreateInstallationPlanRequest | pb.UpdateInstallationPlanRequest,
) -> PlanInput:
    return PlanInput(
        name=request.name,
        target=request.target,
        starts_on=date_from_pb(request.starts_on, "starts_on"),
        deadline=date_from_pb(request.deadline, "deadline"),
        district_targets={t.district_code: t.target for t in request.district_targets},
    )


class CamerasServicer(pb_grpc.CamerasServiceServicer):
    def __init__(self, deps: NetworkDeps) -> None:
        self.deps = deps
        self._heartbeat_max_age = timedelta(seconds=deps.settings.heartbeat_max_age_seconds)

    def _uow(self) -> NetworkUnitOfWork:
        return self.deps.uow(NetworkUnitOfWork)

    async def CreateCamera(
        self, request: pb.CreateCameraRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCameraResponse:
        cmd = CreateCamera(
            code=request.code,
            name=request.name,
            latitude=request.latitude,
            longitude=request.longitude,
            unit_id=request.unit_id,
            address=request.address,
            status=status_from_pb(request.status, "planned"),
            district_code=request.district_code,
            commune_code=request.commune_code,
            agency=request.agency,
            planned_on=date_from_pb(request.planned_on, "planned_on"),
            installed_on=date_from_pb(request.installed_on, "installed_on"),
        )
        camera = await cameras.create_camera(
            self._uow(), cmd, current_principal(), registry=self.deps.registry
        )
        return pb.CreateCameraResponse(camera=camera_to_pb(camera))

    async def GetCamera(
        self, request: pb.GetCameraRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCameraResponse:
        camera = await cameras.get_camera(self._uow(), GetCamera(request.id), current_principal())
        return pb.GetCameraResponse(camera=camera_to_pb(camera))

    async def UpdateCamera(
        self, request: pb.UpdateCameraRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateCameraResponse:
        cmd = UpdateCamera(
            camera_id=parse_uuid(request.id),
            version=request.version,
            name=request.name,
            latitude=request.latitude,
            longitude=request.longitude,
            address=request.address,
            district_code=request.district_code,
            commune_code=request.commune_code,
            unit_id=request.unit_id,
            agency=request.agency,
            planned_on=date_from_pb(request.planned_on, "planned_on"),
        )
        camera = await cameras.update_camera(
            self._uow(), cmd, current_principal(), registry=self.deps.registry
        )
        return pb.UpdateCameraResponse(camera=camera_to_pb(camera))

    async def ChangeCameraStatus(
        self, request: pb.ChangeCameraStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.ChangeCameraStatusResponse:
        cmd = ChangeStatus(
            camera_id=parse_uuid(request.id),
            version=request.version,
            status=status_from_pb(request.status),
            effective_on=date_from_pb(request.effective_on, "effective_on"),
        )
        camera = await cameras.change_camera_status(self._uow(), cmd, current_principal())
        return pb.ChangeCameraStatusResponse(camera=camera_to_pb(camera))

    async def ListCameras(
        self, request: pb.ListCamerasRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCamerasResponse:
        where = CameraFilter(
            status=status_from_pb(request.status),
            district_code=request.district_code,
            commune_code=request.commune_code,
            unit_id=parse_uuid(request.unit_id, "unit_id") if request.unit_id else None,
            query=request.query,
            online=request.online if request.HasField("online") else None,
        )
        query = ListCameras(where, request.page.page_size, request.page.page_token)
        found, token = await cameras.list_cameras(self._uow(), query, current_principal())
        return pb.ListCamerasResponse(
            cameras=[camera_to_pb(c) for c in found], page={"next_page_token": token}
        )

    async def CreateInstallationPlan(
        self, request: pb.CreateInstallationPlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateInstallationPlanResponse:
        plan = await cameras.create_plan(
            self._uow(), CreatePlan(_plan_input(request)), current_principal(), registry=self.deps.registry
        )
        return pb.CreateInstallationPlanResponse(plan=plan_to_pb(plan))

    async def UpdateInstallationPlan(
        self, request: pb.UpdateInstallationPlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateInstallationPlanResponse:
        cmd = UpdatePlan(request.id, request.version, _plan_input(request))
        plan = await cameras.update_plan(self._uow(), cmd, current_principal(), registry=self.deps.registry)
        return pb.UpdateInstallationPlanResponse(plan=plan_to_pb(plan))

    async def GetInstallationProgress(
        self, request: pb.GetInstallationProgressRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetInstallationProgressResponse:
        p = await cameras.installation_progress(
            self._uow(), GetProgress(request.plan_id), current_principal()
        )
        return pb.GetInstallationProgressResponse(
            plan=plan_to_pb(p.plan),
            total=progress_to_pb(p.total),
            districts=[progress_to_pb(d) for d in p.districts],
            days_left=p.days_left,
            as_of=timestamp(p.as_of),
        )

    async def SendHeartbeats(
        self,
        request_iterator: AsyncIterator[pb.SendHeartbeatsRequest],
        context: grpc.aio.ServicerContext,
    ) -> pb.SendHeartbeatsResponse:
        """Each message of the stream is handled as it arrives (one transaction per message), so a camera is
        online as soon as its gateway says so, not when the stream ends."""
        principal = current_principal()
        accepted, index = 0, 0
        rejected: list[RejectedHeartbeat] = []
        async for message in request_iterator:
            batch = [
                Heartbeat(h.camera_id, h.at.ToDatetime(tzinfo=UTC) if h.HasField("at") else None)
                for h in message.heartbeats
            ]
            result = await cameras.send_heartbeats(
                self._uow(),
                SendHeartbeats(batch, first_index=index, max_age=self._heartbeat_max_age),
                principal,
            )
            accepted += result.accepted
            rejected += result.rejected
            index += len(batch)
        return pb.SendHeartbeatsResponse(
            accepted=accepted,
            rejected=[
                pb.RejectedHeartbeat(index=r.index, reason=r.reason, camera_id=r.camera_id) for r in rejected
            ],
        )

    async def GetCameraUptime(
        self, request: pb.GetCameraUptimeRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCameraUptimeResponse:
        query = GetUptime(
            request.camera_id,
            date_from_pb(request.from_date, "from_date"),
            date_from_pb(request.to_date, "to_date"),
        )
        days = await cameras.camera_uptime(self._uow(), query, current_principal())
        return pb.GetCameraUptimeResponse(
            camera_id=request.camera_id,
            days=[pb.DailyUptime(day=date_to_pb(d), online_seconds=s) for d, s in days.items()],
            total_online_seconds=sum(days.values()),
        )


SERVICE_NAME = "d07.cameras.v1.CamerasService"


def register(server: grpc.aio.Server, deps: NetworkDeps) -> None:
    pb_grpc.add_CamerasServiceServicer_to_server(CamerasServicer(deps), server)
