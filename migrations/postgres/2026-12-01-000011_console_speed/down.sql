DROP INDEX webhook_events_tenant;
CREATE INDEX webhook_events_tenant_order ON webhook_events (tenant_id, order_at, id);
