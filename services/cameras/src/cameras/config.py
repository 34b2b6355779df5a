"""Settings of the cameras service (environment variables with prefix D07_)."""

from __future__ import annotations

from pydantic import Field

from d07.platform.settings import ServiceSettings


class CamerasSettings(ServiceSettings):
    service: str = "cameras"
    http_port: int = 8003
    grpc_port: int = 50053
    # The registry's gRPC address, asked whether a unit exists when a camera is bound to it.
    registry_grpc: str = "127.0.0.1:50051"
    registry_timeout_seconds: float = 2.0

    # --- network (cameras.network) ----------------------------------------------------------------------
    # A camera silent (no heartbeat, no detection) for longer than this is offline.
    camera_offline_after_seconds: float = Field(default=300.0, gt=0)
    # How often the health worker looks for silent cameras and refreshes the online/offline gauges
    # (0: a tenth of the offline threshold, between 1 and 30 seconds).
    camera_health_check_seconds: float = Field(default=0.0, ge=0)
    # A heartbeat dated further back than this is refused (`too_old`), as one dated before its camera was
    # registered is (`before_registration`): the past is bounded as the future is.
    heartbeat_max_age_seconds: float = Field(default=86_400.0, gt=0)
    # --- end network ------------------------------------------------------------------------------------

    # --- detections (cameras.detections) ---------------------------------------------------------------
    # A detection dated later than now plus this skew is refused (camera clocks drift a little, not more).
    detection_max_skew_seconds: float = Field(default=120.0, ge=0)
    # A detection joins the open violation of its camera and kind when it lies within this window of the
    # violation's detections; further away it opens a new violation.
    violation_join_window_seconds: float = Field(default=600.0, gt=0)
    # The in-memory camera directory (code -> id, status, unit) that validates detections is reloaded at
    # least this often; an unknown code is always looked up in the database before it is refused first.
    detection_camera_refresh_seconds: float = Field(default=10.0, gt=0)
    # --- end detections ---------------------------------------------------------------------------------

    # --- violations (cameras.violations) ---------------------------------------------------------------
    # The overdue check runs at least this often (and wakes at the next reaction deadline when sooner).
    violation_overdue_interval_seconds: float = Field(default=5.0, gt=0)
    # A WatchViolations stream looks for new activity this often when no notification wakes it.
    violation_watch_poll_seconds: float = Field(default=1.0, gt=0)
    # --- end violations ---------------------------------------------------------------------------------
