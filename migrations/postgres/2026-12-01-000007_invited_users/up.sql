-- A user who joined a tenant but is not activated for it yet (Frontegg's
-- `activatedForTenant: false`, e.g. `frontegg.user.invitedToTenant`) is stored `invited`.
ALTER TABLE tenant_users DROP CONSTRAINT tenant_users_status_check;
ALTER TABLE tenant_users ADD CONSTRAINT tenant_users_status_check
    CHECK (status IN ('invited', 'active', 'deactivated', 'deleted'));
