-- Rounds, nominations, council votes, decided awards, and the read models kept from other services' events.

-- A round tied to a review period (e.g. the 5-year interim review 2014-08-15..2019-08-29): its nomination
-- window, the rules nominees must meet and the council that reviews.
CREATE TABLE rounds (
    round_id             uuid PRIMARY KEY,
    title                text        NOT NULL,
    period_start         date        NOT NULL,
    period_end           date        NOT NULL CHECK (period_end >= period_start),
    nominations_open     date        NOT NULL,
    nominations_close    date        NOT NULL CHECK (nominations_close >= nominations_open),
    -- Rules: a collective must have passed its assessment in at least this many years of the period;
    -- an individual must have attended training when `require_training` holds.
    min_passed_years     int         NOT NULL DEFAULT 3 CHECK (min_passed_years >= 0),
    require_training     boolean     NOT NULL DEFAULT false,
    council_members      text[]      NOT NULL DEFAULT '{}',
    opened_by            text        NOT NULL,
    opened_at            timestamptz NOT NULL DEFAULT now()
);

-- How many awards of a form go to each recipient kind in a round (8/8 merit, 14/12 commendation).
CREATE TABLE round_quotas (
    round_id        uuid NOT NULL REFERENCES rounds ON DELETE CASCADE,
    form_code       text NOT NULL REFERENCES award_forms,
    recipient_kind  text NOT NULL CHECK (recipient_kind IN ('collective', 'individual')),
    quota           int  NOT NULL CHECK (quota >= 0),
    PRIMARY KEY (round_id, form_code, recipient_kind)
);

-- A nominee is a unit (collective) or a person of a unit (individual): a registered guard (guard_id) or a
-- named officer of the unit (person_name only). `person_key` identifies the recipient for "nobody receives
-- the same form twice in a round": the unit id, the guard id, or unit id + normalised name.
CREATE TABLE nominations (
    nomination_id    uuid PRIMARY KEY,
    round_id         uuid        NOT NULL REFERENCES rounds,
    form_code        text        NOT NULL REFERENCES award_forms,
    recipient_kind   text        NOT NULL CHECK (recipient_kind IN ('collective', 'individual')),
    unit_id          uuid        NOT NULL,
    guard_id         uuid,
    person_name      text,
    person_key       text        NOT NULL,
    achievements     text        NOT NULL,
    proposer         text        NOT NULL,
    status           text        NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'submitted', 'screened', 'in_council', 'decided', 'rejected')),
    -- Every rule's outcome with its source record, as computed at the last check.
    eligibility      jsonb       NOT NULL DEFAULT '[]',
    needs_review     boolean     NOT NULL DEFAULT false,
    review_reason    text,
    rejected_reason  text,
    version          bigint      NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((recipient_kind = 'individual') = (person_name IS NOT NULL OR guard_id IS NOT NULL))
);
CREATE INDEX nominations_round ON nominations (round_id, form_code, recipient_kind, status);
CREATE INDEX nominations_unit ON nominations (unit_id, status);
-- Nobody is nominated twice for the same form in a round (a rejected nomination frees the place).
CREATE UNIQUE INDEX nominations_once_per_form ON nominations (round_id, form_code, person_key)
    WHERE status <> 'rejected';

-- One vote per council member per nomination; a member does not vote on what they proposed (enforced by
-- the service, which knows the proposer).
CREATE TABLE council_votes (
    nomination_id  uuid        NOT NULL REFERENCES nominations ON DELETE CASCADE,
    member         text        NOT NULL,
    approve        boolean     NOT NULL,
    voted_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (nomination_id, member)
);

-- Decided awards: the contract with certificates (which reads this table). One award per nomination.
CREATE TABLE awards (
    id               uuid PRIMARY KEY,
    nomination_id    uuid        NOT NULL UNIQUE REFERENCES nominations,
    round_id         uuid        NOT NULL REFERENCES rounds,
    form_code        text        NOT NULL REFERENCES award_forms,
    recipient_kind   text        NOT NULL CHECK (recipient_kind IN ('collective', 'individual')),
    unit_id          uuid        NOT NULL,
    person_name      text,
    decision_number  text        NOT NULL,
    decided_on       date        NOT NULL,
    signer           text        NOT NULL,
    issuer           text        NOT NULL,
    status           text        NOT NULL DEFAULT 'decided' CHECK (status IN ('decided', 'revoked')),
    revoked_reason   text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'revoked') = (revoked_reason IS NOT NULL))
);
CREATE INDEX awards_round_quota ON awards (round_id, form_code, recipient_kind, status);
CREATE INDEX awards_decision ON awards (decision_number);

-- Read models kept from events (consumer groups of this service).

-- Units of the registry (d07.registry.units.v1): name for certificates and checks.
CREATE TABLE rm_units (
    unit_id     uuid PRIMARY KEY,
    name        text        NOT NULL,
    status      text        NOT NULL DEFAULT 'active',
    version     bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Final assessment results per unit and year (d07.assessment.assessments.v1); a revision replaces the row.
CREATE TABLE rm_assessment_results (
    unit_id        uuid        NOT NULL,
    year           int         NOT NULL,
    assessment_id  uuid        NOT NULL,
    result         text        NOT NULL CHECK (result IN ('passed', 'failed')),
    revision       int         NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit_id, year)
);

-- Camera violations per unit with priority and status (d07.cameras.violations.v1).
CREATE TABLE rm_violations (
    violation_id  uuid PRIMARY KEY,
    unit_id       uuid        NOT NULL,
    priority      text        NOT NULL,
    status        text        NOT NULL,
    opened_at     timestamptz,
    version       bigint      NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rm_violations_unit ON rm_violations (unit_id, status, priority);

-- Guards per unit (d07.registry.forces.v1).
CREATE TABLE rm_guards (
    guard_id    uuid PRIMARY KEY,
    unit_id     uuid        NOT NULL,
    full_name   text        NOT NULL,
    active      boolean     NOT NULL DEFAULT true,
    version     bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rm_guards_unit ON rm_guards (unit_id);

-- Training attendance per guard (d07.registry.training.v1): a guard is trained when an attendance of theirs
-- is completed.
CREATE TABLE rm_training (
    attendance_id  uuid PRIMARY KEY,
    guard_id       uuid        NOT NULL,
    class_id       uuid        NOT NULL,
    outcome        text        NOT NULL,
    version        bigint      NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rm_training_guard ON rm_training (guard_id, outcome);
