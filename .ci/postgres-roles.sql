-- The two roles the suite runs with on PostgreSQL (README: two database roles). Idempotent.
-- restoredesk_owner creates and migrates the test database; the portal runs as restoredesk_app.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'restoredesk_owner') THEN
        CREATE ROLE restoredesk_owner LOGIN CREATEDB;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'restoredesk_app') THEN
        CREATE ROLE restoredesk_app LOGIN;
    END IF;
END
$$;
