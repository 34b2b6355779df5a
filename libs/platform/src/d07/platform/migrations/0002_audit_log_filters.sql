-- The audit API's filters (d07.platform.audit_api): newest first by actor, by unit and by time; the object
-- filter uses audit_log_object of 0001. Without them a rare actor's page walks the whole trail backwards.
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_unit ON audit_log (unit_id, id) WHERE unit_id IS NOT NULL;
CREATE INDEX audit_log_at ON audit_log (at);
