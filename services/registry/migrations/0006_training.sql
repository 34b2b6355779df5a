-- Training classes for guards (lớp bồi dưỡng nghiệp vụ bảo vệ) and their attendance. One guard in one class
-- is one attendance; the published figures are counted from these rows, never kept as numbers.
CREATE TABLE training_classes (
    id             uuid PRIMARY KEY,
    title          text        NOT NULL,
    search_title   text        NOT NULL,
    organiser      text        NOT NULL,
    starts_on      date        NOT NULL,
    ends_on        date        NOT NULL,
    place          text        NOT NULL DEFAULT '',
    capacity       int         NOT NULL CHECK (capacity > 0),
    district_code  text        NOT NULL REFERENCES districts (code),
    status         text        NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'held', 'cancelled')),
    cancel_reason  text        NOT NULL DEFAULT '',
    version        bigint      NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_on >= starts_on)
);
CREATE INDEX training_classes_start ON training_classes (starts_on DESC, id DESC);
CREATE INDEX training_classes_district ON training_classes (district_code, starts_on DESC, id DESC);

-- unit_id is the guard's unit when enrolled: the unit that sent the guard, kept if the guard moves later.
CREATE TABLE training_attendances (
    id                      uuid PRIMARY KEY,
    seq                     bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    class_id                uuid        NOT NULL REFERENCES training_classes (id),
    guard_id                uuid        NOT NULL REFERENCES guards (id),
    unit_id                 uuid        NOT NULL REFERENCES units (id),
    outcome                 text        NOT NULL DEFAULT 'pending'
                                        CHECK (outcome IN ('pending', 'completed', 'not_completed')),
    result                  text        NOT NULL DEFAULT '',
    completion_recorded_at  timestamptz,
    version                 bigint      NOT NULL DEFAULT 1,
    enrolled_at             timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (class_id, guard_id)
);
CREATE INDEX training_attendances_class ON training_attendances (class_id, seq);
CREATE INDEX training_attendances_guard ON training_attendances (guard_id, seq);
CREATE INDEX training_attendances_unit ON training_attendances (unit_id, seq);
