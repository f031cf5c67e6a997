-- A tenant's events, newest first, read in order (the console's and the admin API's filter by
-- tenant, the neighbours of an event, a tenant's recent events). The index on (tenant_id,
-- order_at, id) gave them in no useful order: the planner read every event of the tenant and
-- sorted them, or walked down the ids past every later event (near a second for a tenant whose
-- events lie weeks back, in a million events). Nothing reads it since the claims use the partial
-- index on unfinished events (2026-11-22-000003), so it is replaced, not added to: the inbox
-- keeps as many indexes, each entry 8 bytes shorter.
DROP INDEX webhook_events_tenant_order;
CREATE INDEX webhook_events_tenant ON webhook_events (tenant_id, id);
