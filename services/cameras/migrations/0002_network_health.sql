-- The network in full (position, coverage, installing agency, status dates), the installation plan, and
-- camera health (last seen, online or offline, online intervals for online time per day).

ALTER TABLE cameras
    ADD COLUMN search_name       text        NOT NULL DEFAULT '',   -- folded code and name: what `q` matches
    ADD COLUMN district_code     text        NOT NULL DEFAULT '',
    ADD COLUMN commune_code      text        NOT NULL DEFAULT '',
    ADD COLUMN agency            text        NOT NULL DEFAULT '',   -- the installing agency
    ADD COLUMN planned_on        date,
    ADD COLUMN installed_on      date,
    ADD COLUMN decommissioned_on date,
    ADD COLUMN updated_at        timestamptz NOT NULL DEFAULT now(),
    -- Health: the newest heartbeat (or detection) seen, and whether the camera counts as online now.
    ADD COLUMN last_seen_at      timestamptz,
    ADD COLUMN online            boolean     NOT NULL DEFAULT false,
    ADD COLUMN health_changed_at timestamptz;

UPDATE cameras SET search_name = lower(code || ' ' || name) WHERE search_name = '';

CREATE INDEX cameras_list ON cameras (code, id);
CREATE INDEX cameras_district ON cameras (district_code);
CREATE INDEX cameras_status ON cameras (status);
-- The offline check scans online cameras only.
CREATE INDEX cameras_online_seen ON cameras (last_seen_at) WHERE online;

-- The installation plan: a target number of cameras by a deadline (per district targets optional).
CREATE TABLE installation_plans (
    id          uuid PRIMARY KEY,
    name        text        NOT NULL,
    target      int         NOT NULL CHECK (target > 0),
    starts_on   date,
    deadline    date        NOT NULL,
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE installation_plan_districts (
    plan_id        uuid NOT NULL REFERENCES installation_plans (id) ON DELETE CASCADE,
    district_code  text NOT NULL,
    target         int  NOT NULL CHECK (target > 0),
    PRIMARY KEY (plan_id, district_code)
);

-- Online intervals: opened when a camera comes online, closed at its last heartbeat when it goes offline.
-- Online seconds per day are the intervals cut at day boundaries.
CREATE TABLE camera_online_intervals (
    camera_id   uuid        NOT NULL REFERENCES cameras (id),
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    PRIMARY KEY (camera_id, started_at),
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
-- At most one open interval per camera.
CREATE UNIQUE INDEX camera_online_intervals_open ON camera_online_intervals (camera_id) WHERE ended_at IS NULL;
