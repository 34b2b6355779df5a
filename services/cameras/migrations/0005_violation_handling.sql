-- Handling of violations with the Provincial Police: the handover from the camera operators (DIC), and an
-- activity feed that a reader can follow in order without losing rows that commit late.

-- The handover: when and by whom the violation went from the camera operators to the police, and to which
-- police unit or desk ('' when the police accepted it directly).
ALTER TABLE violations
    ADD COLUMN handed_over_at timestamptz,
    ADD COLUMN handed_over_by text,
    ADD COLUMN handed_over_to text;

-- Lists: newest first, keyset by (opened_at, id); per status and per camera.
CREATE INDEX violations_opened ON violations (opened_at DESC, id DESC);
CREATE INDEX violations_status ON violations (status, opened_at DESC);
CREATE INDEX violations_camera ON violations (camera_id, opened_at DESC);

-- WatchViolations follows violation_activity by `seq`. A sequence hands out numbers in one order and
-- transactions commit in another, so a reader may see seq 10 while 9 is still uncommitted. The reader waits
-- at such a gap for the transactions that were in progress when it saw the gap; that is only sound if every
-- writer already has its transaction id when it takes a seq. A statement trigger runs before the rows of
-- the statement (and their defaults, nextval among them) are formed, so it assigns the id first.
CREATE FUNCTION violation_activity_take_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_current_xact_id();
    RETURN NULL;
END $$;
CREATE TRIGGER violation_activity_take_xid BEFORE INSERT ON violation_activity
    FOR EACH STATEMENT EXECUTE FUNCTION violation_activity_take_xid();
