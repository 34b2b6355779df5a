-- Online intervals of the cameras (d07.cameras.cameras.v1): CameraCameOnline opens one at `at` unless the
-- camera is online at that moment already; CameraWentOffline closes the open one at the last sign of life
-- (`last_seen_at`); a decommissioning (CameraUpdated to decommissioned) closes it at the camera's last sign
-- of life too. Each row remembers the events that opened and closed it. A row without `opened_by` is a close
-- marker: an offline event applied before its online event (a rebuild beside the live consumer); it is
-- zero-length until the online event turns it into its interval. The review report reads online hours,
-- uptime and the cameras online at a moment from here.
CREATE TABLE camera_online (
    camera_id     uuid        NOT NULL,
    online_from   timestamptz NOT NULL,
    online_until  timestamptz,            -- NULL: still online
    opened_by     uuid,                   -- the CameraCameOnline event; NULL: a close marker
    closed_by     uuid,                   -- the CameraWentOffline (or decommissioning CameraUpdated) event
    PRIMARY KEY (camera_id, online_from),
    CHECK (online_until IS NULL OR online_until >= online_from),
    CHECK (opened_by IS NOT NULL OR online_until = online_from)
);
CREATE INDEX camera_online_from ON camera_online (online_from);
