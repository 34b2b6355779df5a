-- Rounds, per-unit assessments with their answers and revisions, corrective actions and review flags.

-- How each criterion is judged. 'declared': the unit states it; 'evidence': the unit states it and links
-- evidence; 'derived': the platform's own data prefills it (the rule named by `derivation`, implemented in
-- assessment.derived), and the verifier confirms or overrides it.
ALTER TABLE criteria
    ADD COLUMN kind text NOT NULL DEFAULT 'declared' CHECK (kind IN ('declared', 'evidence', 'derived')),
    ADD COLUMN derivation text CHECK (derivation IN
        ('has_effective_model', 'guards_trained_in_year', 'no_confirmed_serious_violation')),
    ADD CONSTRAINT criteria_derivation_of_derived CHECK ((kind = 'derived') = (derivation IS NOT NULL));

-- Circular 23/2012: propaganda and movement building is shown by documents; "no complex incident and no
-- staff prosecuted" is declared (prosecutions are not platform data, and cameras came after most of its
-- years); a trained security force and an advanced model are derived from the registry.
UPDATE criteria SET kind = 'evidence' WHERE set_code = 'TT23-2012' AND code = 'TC1';
UPDATE criteria SET kind = 'declared' WHERE set_code = 'TT23-2012' AND code = 'TC2';
UPDATE criteria SET kind = 'derived', derivation = 'guards_trained_in_year'
 WHERE set_code = 'TT23-2012' AND code = 'TC3';
UPDATE criteria SET kind = 'derived', derivation = 'has_effective_model'
 WHERE set_code = 'TT23-2012' AND code = 'TC4';
-- Circular 124/2021: propaganda and the cooperation with the police on camera violations are shown by
-- documents; "no serious incident" comes from confirmed serious camera violations, yearly training of the
-- security force from training attendance, and the effective model from the registry's models.
UPDATE criteria SET kind = 'evidence' WHERE set_code = 'TT124-2021' AND code IN ('TC1', 'TC5');
UPDATE criteria SET kind = 'derived', derivation = 'no_confirmed_serious_violation'
 WHERE set_code = 'TT124-2021' AND code = 'TC2';
UPDATE criteria SET kind = 'derived', derivation = 'guards_trained_in_year'
 WHERE set_code = 'TT124-2021' AND code = 'TC3';
UPDATE criteria SET kind = 'derived', derivation = 'has_effective_model'
 WHERE set_code = 'TT124-2021' AND code = 'TC4';

-- The units read copy also keeps what decides whether a unit is assessed: its status and scope.
ALTER TABLE units
    ADD COLUMN status   text    NOT NULL DEFAULT 'active',
    ADD COLUMN in_scope boolean NOT NULL DEFAULT true;

-- A round of a year, for the whole province (district_code NULL) or one district.
CREATE TABLE rounds (
    round_id              uuid PRIMARY KEY,
    year                  int         NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    district_code         text,
    title                 text        NOT NULL,
    self_assessment_due   date        NOT NULL,
    verification_due      date        NOT NULL CHECK (verification_due >= self_assessment_due),
    status                text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    unit_count            int         NOT NULL DEFAULT 0,
    opened_by             text        NOT NULL,
    opened_at             timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX rounds_year_scope ON rounds (year, coalesce(district_code, ''));

-- One assessment per unit per year (a "lượt"): the round that reached the unit first holds it. The unit's
-- kind and district are kept as they were when the round opened, so a later move does not rewrite history.
CREATE TABLE assessments (
    assessment_id     uuid PRIMARY KEY,
    round_id          uuid        NOT NULL REFERENCES rounds,
    unit_id           uuid        NOT NULL REFERENCES units,
    year              int         NOT NULL,
    unit_kind         text        NOT NULL,
    district_code     text        NOT NULL,
    set_code          text        NOT NULL,
    set_version       int         NOT NULL,
    status            text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted', 'finalised')),
    result            text        CHECK (result IN ('passed', 'failed')),
    score             numeric(5, 2),
    unmet_criteria    text[]      NOT NULL DEFAULT '{}',
    revision          int         NOT NULL DEFAULT 0,
    submitted_by      text,
    submitted_at      timestamptz,
    verified_at       timestamptz,
    finalised_by      text,
    finalised_at      timestamptz,
    version           bigint      NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (unit_id, year),
    FOREIGN KEY (set_code, set_version) REFERENCES criteria_sets (code, version),
    CHECK ((status = 'finalised') = (result IS NOT NULL))
);
CREATE INDEX assessments_round ON assessments (round_id, district_code, unit_kind, status);

-- The answer to each criterion: the unit's self-assessment, the verifier's verdict, and the platform's
-- derived prefill with its sources (derived_sources: [{"kind", "id", "label"}]).
CREATE TABLE assessment_answers (
    assessment_id    uuid    NOT NULL REFERENCES assessments ON DELETE CASCADE,
    criterion_code   text    NOT NULL,
    self_met         boolean,
    self_notes       text    NOT NULL DEFAULT '',
    evidence_links   text[]  NOT NULL DEFAULT '{}',
    verified_met     boolean,
    verified_notes   text    NOT NULL DEFAULT '',
    verified_by      text,
    verified_at      timestamptz,
    derived_met      boolean,
    derived_reason   text    NOT NULL DEFAULT '',
    derived_sources  jsonb   NOT NULL DEFAULT '[]',
    derived_at       timestamptz,
    PRIMARY KEY (assessment_id, criterion_code)
);

-- Every result an assessment had: revision 1 is the finalisation, each later one a correction with its
-- reason. The assessment row holds the latest; this table is never updated.
CREATE TABLE assessment_revisions (
    assessment_id   uuid        NOT NULL REFERENCES assessments ON DELETE CASCADE,
    revision        int         NOT NULL,
    result          text        NOT NULL CHECK (result IN ('passed', 'failed')),
    score           numeric(5, 2) NOT NULL,
    unmet_criteria  text[]      NOT NULL,
    verdicts        jsonb       NOT NULL,
    reason          text        NOT NULL,
    actor           text        NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (assessment_id, revision)
);

CREATE TABLE corrective_actions (
    action_id       uuid PRIMARY KEY,
    assessment_id   uuid        NOT NULL REFERENCES assessments ON DELETE CASCADE,
    criterion_code  text        NOT NULL,
    action          text        NOT NULL,
    owner           text        NOT NULL,
    due_on          date        NOT NULL,
    status          text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_by      text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    closed_by       text,
    closed_at       timestamptz,
    closing_note    text        NOT NULL DEFAULT ''
);
CREATE INDEX corrective_actions_assessment ON corrective_actions (assessment_id, status);

-- A finalised assessment that later platform data (a late confirmed serious violation) calls into question:
-- flagged for the police to review, never changed silently.
CREATE TABLE review_flags (
    flag_id        bigserial PRIMARY KEY,
    assessment_id  uuid        NOT NULL REFERENCES assessments ON DELETE CASCADE,
    reason         text        NOT NULL,
    source_kind    text        NOT NULL,
    source_id      text        NOT NULL,
    flagged_at     timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz,
    UNIQUE (assessment_id, source_kind, source_id)
);
