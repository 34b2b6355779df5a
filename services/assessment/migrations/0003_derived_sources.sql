-- Read models of the derived criteria (assessment.derived), kept from registry and cameras events. Each row
-- carries the version of the snapshot it was written from: an older event replayed never overwrites a newer one.

-- Movement models, as last known (unit_id NULL: hosted by a community).
CREATE TABLE known_models (
    model_id    uuid    PRIMARY KEY,
    unit_id     uuid,
    name        text    NOT NULL,
    kind_label  text    NOT NULL,
    status      text    NOT NULL CHECK (status IN ('built', 'consolidated', 'effective', 'inactive')),
    status_on   date    NOT NULL,
    version     bigint  NOT NULL
);
CREATE INDEX known_models_unit ON known_models (unit_id) WHERE unit_id IS NOT NULL;

-- The status history of each model: one row per status it entered, named by the model version that entered it
-- (1 for the registration). A status lasts from its status_on until the next entry's. `version` is the latest
-- snapshot applied to the entry: correcting a model's formation moves its first entry while nothing followed.
CREATE TABLE known_model_statuses (
    model_id      uuid    NOT NULL,
    from_version  bigint  NOT NULL,
    status        text    NOT NULL CHECK (status IN ('built', 'consolidated', 'effective', 'inactive')),
    status_on     date    NOT NULL,
    version       bigint  NOT NULL,
    PRIMARY KEY (model_id, from_version)
);

-- Training classes for guards.
CREATE TABLE known_classes (
    class_id   uuid    PRIMARY KEY,
    title      text    NOT NULL,
    starts_on  date    NOT NULL,
    ends_on    date    NOT NULL,
    status     text    NOT NULL CHECK (status IN ('scheduled', 'held', 'cancelled')),
    version    bigint  NOT NULL
);
CREATE INDEX known_classes_start ON known_classes (starts_on);

-- One guard in one class; unit_id is the guard's unit when enrolled (the training events carry it, so no copy
-- of the guards is needed).
CREATE TABLE known_attendances (
    attendance_id    uuid    PRIMARY KEY,
    class_id         uuid    NOT NULL,
    guard_id         uuid    NOT NULL,
    unit_id          uuid    NOT NULL,
    guard_full_name  text    NOT NULL,
    outcome          text    NOT NULL CHECK (outcome IN ('pending', 'completed', 'not_completed')),
    version          bigint  NOT NULL
);
CREATE INDEX known_attendances_unit ON known_attendances (unit_id, class_id);

-- Camera violations (unit_id: the unit the camera covered when the violation opened; NULL for a community
-- camera). `version` counts the changes by handling; detections joining a violation keep it.
CREATE TABLE known_violations (
    violation_id  uuid         PRIMARY KEY,
    unit_id       uuid,
    camera_code   text         NOT NULL,
    kind          text         NOT NULL,
    priority      text         NOT NULL CHECK (priority IN ('critical', 'high', 'medium', 'low')),
    status        text         NOT NULL
                               CHECK (status IN ('new', 'acknowledged', 'in_progress', 'resolved', 'dismissed')),
    opened_at     timestamptz  NOT NULL,
    version       bigint       NOT NULL
);
CREATE INDEX known_violations_unit ON known_violations (unit_id, opened_at) WHERE unit_id IS NOT NULL;
