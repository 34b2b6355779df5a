-- Certificates of decided awards: one per award, each with its verification code. The PDF is rendered on
-- demand from the award (immutable once decided) and the recipient's names, so only the code is stored.
-- The code is stored as printed (without dashes): it is on a public paper document and unlocks only the
-- certificate's public facts, and rendering the PDF again needs it; 60 random bits make it unguessable.
CREATE TABLE certificates (
    id         uuid        PRIMARY KEY,
    award_id   uuid        NOT NULL UNIQUE REFERENCES awards,
    code       text        NOT NULL UNIQUE CHECK (code ~ '^[2-9A-HJ-NP-Z]{12}$'),
    issued_at  timestamptz NOT NULL DEFAULT now(),
    issued_by  text        NOT NULL
);
