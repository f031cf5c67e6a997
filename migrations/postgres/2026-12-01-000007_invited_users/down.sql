-- Before `invited` existed an invitation was not recorded: an invited user is not active, so
-- the nearest earlier status is `deactivated`.
UPDATE tenant_users SET status = 'deactivated' WHERE status = 'invited';
ALTER TABLE tenant_users DROP CONSTRAINT tenant_users_status_check;
ALTER TABLE tenant_users ADD CONSTRAINT tenant_users_status_check
    CHECK (status IN ('active', 'deactivated', 'deleted'));
