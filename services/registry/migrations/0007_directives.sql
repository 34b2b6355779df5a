-- Directive documents (Chỉ thị 07/CT-BCA-V28 and the plans, guidance and reports after it), their
-- distribution to units and each unit's acknowledgement of receipt.

-- The kinds of documents are data: a new kind is a row, not a release.
CREATE TABLE document_kinds (
    code      text PRIMARY KEY CHECK (code ~ '^[a-z][a-z_]{1,31}$'),
    label     text NOT NULL,
    position  int  NOT NULL
);
INSERT INTO document_kinds (code, label, position) VALUES
    ('directive', 'Chỉ thị', 1),
    ('plan', 'Kế hoạch', 2),
    ('guidance', 'Hướng dẫn', 3),
    ('report', 'Báo cáo', 4);

CREATE TABLE documents (
    id           uuid PRIMARY KEY,
    number       text        NOT NULL UNIQUE,
    kind         text        NOT NULL REFERENCES document_kinds (code),
    title        text        NOT NULL,
    -- d07.platform.text.fold(number || ' ' || title): what search compares.
    search_text  text        NOT NULL,
    issued_on    date        NOT NULL,
    issuer       text        NOT NULL,
    summary      text        NOT NULL DEFAULT '',
    link         text        NOT NULL DEFAULT '',
    parent_id    uuid        REFERENCES documents (id) CHECK (parent_id <> id),
    version      bigint      NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- Lists go newest first (issued_on, id descending) and filter by kind.
CREATE INDEX documents_issued ON documents (issued_on DESC, id DESC);
CREATE INDEX documents_kind ON documents (kind, issued_on DESC, id DESC);
CREATE INDEX documents_parent ON documents (parent_id) WHERE parent_id IS NOT NULL;

-- One row per (document, unit): the unit's copy and, once it confirms, its acknowledgement.
CREATE TABLE document_receipts (
    document_id      uuid        NOT NULL REFERENCES documents (id),
    unit_id          uuid        NOT NULL REFERENCES units (id),
    distributed_at   timestamptz NOT NULL DEFAULT now(),
    distributed_by   text        NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    note             text        NOT NULL DEFAULT '',
    PRIMARY KEY (document_id, unit_id),
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL))
);
-- A unit's documents (what a unit officer lists).
CREATE INDEX document_receipts_unit ON document_receipts (unit_id, document_id);
