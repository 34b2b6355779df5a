-- Security forces of units and their guards (lực lượng bảo vệ, bảo vệ). No more personal data than the
-- work needs: full name, birth year, position, a contact.
CREATE TABLE security_forces (
    id              uuid PRIMARY KEY,
    unit_id         uuid        NOT NULL UNIQUE REFERENCES units (id),
    established_on  date        NOT NULL,
    planned_size    int         NOT NULL CHECK (planned_size >= 0),
    leader_name     text        NOT NULL DEFAULT '',
    leader_phone    text        NOT NULL DEFAULT '',
    version         bigint      NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- A guard belongs to one unit for good: one who moves leaves here and is registered there.
-- search_name is d07.platform.text.fold(full_name): what name search compares.
CREATE TABLE guards (
    id            uuid PRIMARY KEY,
    unit_id       uuid        NOT NULL REFERENCES units (id),
    full_name     text        NOT NULL,
    search_name   text        NOT NULL,
    birth_year    int         NOT NULL CHECK (birth_year >= 1930),
    position      text        NOT NULL DEFAULT '',
    phone         text        NOT NULL DEFAULT '',
    status        text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'left')),
    joined_on     date,
    left_on       date,
    version       bigint      NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'left') = (left_on IS NOT NULL))
);
-- A unit's guards by name (lists, search within a unit, the count of active guards) and the province's.
CREATE INDEX guards_unit ON guards (unit_id, search_name, id);
CREATE INDEX guards_name ON guards (search_name, id);
