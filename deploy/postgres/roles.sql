-- The least-privilege PostgreSQL identities of d07, for an external PostgreSQL (CloudNativePG runs the same file:
-- deploy/k8s/chart/templates/postgres.yaml). Run it as a superuser (or the database owner with CREATEROLE)
-- in the platform's database, before the first `migrate`; it is idempotent, so run it again after adding a service.
--
--   psql "postgresql://postgres@db.example.org/d07" -v ON_ERROR_STOP=1 -f deploy/postgres/roles.sql
--   psql ... -c "ALTER ROLE d07_registry_migrator PASSWORD '...'" -c "ALTER ROLE d07_registry PASSWORD '...'"
--
-- Per service <s>, two roles (no password here: set them apart, or let CloudNativePG's managed roles do it):
--   d07_<s>_migrator  owns the schema <s>: `python -m <s> migrate` connects as it (D07_MIGRATOR_DATABASE_URL)
--                     and creates and alters the tables;
--   d07_<s>           the runtime role (D07_DATABASE_URL): USAGE on the schema and only DML on its tables
--                     (SELECT, INSERT, UPDATE, DELETE; sequences), through default privileges, so every table a
--                     later migration creates is covered. It cannot CREATE, ALTER or DROP anything, nor disable
--                     the audit_log's append-only triggers (only the owner can). LISTEN/NOTIFY (the outbox
--                     wake-up) and advisory locks need no grant. Reporting's runtime role may also TRUNCATE its
--                     tables: `python -m reporting rebuild` empties the read models with TRUNCATE.
-- Extensions the migrations use (registry: unaccent) are created here, since only a superuser may.

-- The services, and those whose runtime may TRUNCATE (rebuild). Edit these two lines only.
SELECT set_config('d07.services', 'registry,assessment,cameras,awards,reporting', false);
SELECT set_config('d07.rebuilds', 'reporting', false);

CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

DO $roles$
DECLARE
    s text;
    migrator text;
    runtime text;
BEGIN
    FOREACH s IN ARRAY string_to_array(current_setting('d07.services'), ',') LOOP
        migrator := format('d07_%s_migrator', s);
        runtime := format('d07_%s', s);
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = migrator) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT', migrator);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = runtime) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT', runtime);
        END IF;
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', s, migrator);
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', s, migrator);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', s);
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', s, runtime);
        -- Tables and sequences the migrator creates from now on ...
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE%s ON TABLES TO %I',
            migrator, s, CASE WHEN s = ANY (string_to_array(current_setting('d07.rebuilds'), ',')) THEN ', TRUNCATE' ELSE '' END,
            runtime);
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %I',
            migrator, s, runtime);
        -- ... and those already there (a schema migrated before this file ran).
        EXECUTE format(
            'GRANT SELECT, INSERT, UPDATE, DELETE%s ON ALL TABLES IN SCHEMA %I TO %I',
            CASE WHEN s = ANY (string_to_array(current_setting('d07.rebuilds'), ',')) THEN ', TRUNCATE' ELSE '' END,
            s, runtime);
        EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', s, runtime);
    END LOOP;
END
$roles$;
