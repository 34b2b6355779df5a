-- What the review report reads besides units, assessments, violations and awards: movement models (with the
-- consolidations of their history), training classes and attendances, the cameras' districts and dates, and
-- the installation plans (the target). Each row remembers the event that last changed it.
CREATE TABLE models (
    model_id       uuid PRIMARY KEY,
    name           text        NOT NULL,
    kind           text        NOT NULL,
    host_type      text        NOT NULL CHECK (host_type IN ('unit', 'community')),
    unit_id        uuid,
    commune_code   text,
    district_code  text        NOT NULL,
    formation      text        NOT NULL,
    formed_on      date        NOT NULL,
    status         text        NOT NULL,
    version        bigint      NOT NULL,
    event_id       uuid        NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX models_formed_on ON models (formed_on);

-- A model consolidated later than it was registered counts in the period of the consolidation (the registry's
-- rule): one row per such history entry, keyed by when the registry recorded it.
CREATE TABLE model_consolidations (
    model_id     uuid        NOT NULL,
    recorded_at  timestamptz NOT NULL,
    changed_on   date        NOT NULL,
    event_id     uuid        NOT NULL,
    PRIMARY KEY (model_id, recorded_at)
);
CREATE INDEX model_consolidations_changed_on ON model_consolidations (changed_on);

CREATE TABLE training_classes (
    class_id       uuid PRIMARY KEY,
    title          text        NOT NULL,
    district_code  text        NOT NULL,
    starts_on      date        NOT NULL,
    ends_on        date        NOT NULL,
    status         text        NOT NULL,
    version        bigint      NOT NULL,
    event_id       uuid        NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX training_classes_starts_on ON training_classes (starts_on);

CREATE TABLE attendances (
    attendance_id    uuid PRIMARY KEY,
    class_id         uuid        NOT NULL,
    guard_id         uuid        NOT NULL,
    unit_id          uuid,
    guard_full_name  text        NOT NULL,
    outcome          text        NOT NULL,
    version          bigint      NOT NULL,
    event_id         uuid        NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attendances_class ON attendances (class_id);

ALTER TABLE cameras
    ADD COLUMN name              text NOT NULL DEFAULT '',
    ADD COLUMN district_code     text NOT NULL DEFAULT '',
    ADD COLUMN planned_on        date,
    ADD COLUMN installed_on      date,
    ADD COLUMN decommissioned_on date;
CREATE INDEX cameras_planned_on ON cameras (planned_on);
CREATE INDEX cameras_installed_on ON cameras (installed_on);

-- Installation plans (d07.cameras.plans.v1): the province's target and the districts' targets.
CREATE TABLE installation_plans (
    plan_id           uuid PRIMARY KEY,
    name              text        NOT NULL,
    target            int         NOT NULL,
    starts_on         date,
    deadline          date,
    district_targets  jsonb       NOT NULL DEFAULT '{}',
    created_at        timestamptz,
    version           bigint      NOT NULL,
    event_id          uuid        NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
