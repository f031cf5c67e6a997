-- Claims look only at unfinished events: keep those in small partial indexes, so the
-- "earlier unfinished event of this tenant" check and the due-order scan skip finished history.
CREATE INDEX webhook_events_unfinished_tenant ON webhook_events (tenant_id, order_at, id)
    WHERE status IN ('pending', 'processing', 'failed_retrying');
CREATE INDEX webhook_events_unfinished_order ON webhook_events (order_at, id)
    WHERE status IN ('pending', 'processing', 'failed_retrying');
-- The admin list filtered by status, newest first.
CREATE INDEX webhook_events_status_id ON webhook_events (status, id);
