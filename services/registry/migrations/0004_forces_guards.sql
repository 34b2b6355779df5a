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

CREATE TABLE guards (
    id            uuid PRIMARY KEY,
    unit_id       uuid        NOT NULL REFERENCES units (id),
    full_name     text        NOT NULL,
    search_name   text        NOT NULL,
    birth_year    int         CHECK (birth_year BETWEEN 1930 AND 2015),
    position      text        NOT NULL DEFAULT '',
    phone         text        NOT NULL DEFAULT '',
    status        text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'left')),
    joined_on     date,
    left_on       date,
    version       bigint      NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX guards_unit ON guards (unit_id, search_name, id);
