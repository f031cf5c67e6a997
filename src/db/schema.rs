//! Table definitions shared by both backends (kept in step with `migrations/`).
//! Timestamps are UTC `TIMESTAMP` columns on both backends.

diesel::table! {
    webhook_events (id) {
        id -> BigInt,
        source -> Text,
        idempotency_key -> Text,
        body_sha256 -> Text,
        event_type -> Text,
        kind -> Text,
        tenant_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        occurred_at -> Nullable<Timestamp>,
        received_at -> Timestamp,
        order_at -> Timestamp,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        finished_at -> Nullable<Timestamp>,
        attempts_before_replay -> Integer,
        replayed_at -> Nullable<Timestamp>,
        throttled_attempts -> Integer,
    }
}

diesel::table! {
    event_attempts (id) {
        id -> BigInt,
        event_id -> BigInt,
        attempt -> Integer,
        started_at -> Timestamp,
        finished_at -> Timestamp,
        outcome -> Text,
        error -> Nullable<Text>,
        http_status -> Nullable<Integer>,
        duration_ms -> BigInt,
        throttled_calls -> Integer,
    }
}

diesel::table! {
    tenant_airbyte_workspaces (tenant_id) {
        tenant_id -> Text,
        tenant_name -> Nullable<Text>,
        workspace_id -> Nullable<Text>,
        workspace_name -> Nullable<Text>,
        status -> Text,
        last_event_at -> Nullable<Timestamp>,
        last_event_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tenant_users (tenant_id, user_id) {
        tenant_id -> Text,
        user_id -> Text,
        email -> Nullable<Text>,
        status -> Text,
        last_event_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    tenant_sso (tenant_id) {
        tenant_id -> Text,
        provider -> Text,
        last_event_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        tenant_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        event_id -> Nullable<BigInt>,
        action -> Text,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    notification_subscriptions (id) {
        id -> Text,
        url -> Text,
        event_types -> Text,
        tenant_id -> Nullable<Text>,
        description -> Nullable<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamp>,
        active -> Bool,
        disabled_reason -> Nullable<Text>,
        failing_since -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        name -> Nullable<Text>,
        request_timeout_ms -> Nullable<Integer>,
        max_attempts -> Nullable<Integer>,
    }
}

diesel::table! {
    notification_messages (id) {
        id -> Text,
        event_type -> Text,
        tenant_id -> Nullable<Text>,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notification_deliveries (id) {
        id -> BigInt,
        message_id -> Text,
        subscription_id -> Text,
        status -> Text,
        attempts -> Integer,
        attempts_before_redelivery -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        throttled_attempts -> Integer,
    }
}

diesel::table! {
    notification_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        attempt -> Integer,
        at -> Timestamp,
        status_code -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        error -> Nullable<Text>,
        duration_ms -> BigInt,
    }
}

diesel::table! {
    console_sessions (id) {
        id -> Text,
        grant_id -> Text,
        role -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        reveal_subscription_id -> Nullable<Text>,
        reveal_sealed_secret -> Nullable<Text>,
        reveal_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    reconcile_runs (id) {
        id -> BigInt,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        lease_until -> Timestamp,
        apply -> Bool,
        triggered_by -> Text,
        status -> Text,
        brake -> Nullable<Text>,
        tenants_listed -> Nullable<BigInt>,
        mappings_seen -> Nullable<BigInt>,
        counts -> Nullable<Text>,
        drifts -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(event_attempts -> webhook_events (event_id));
diesel::joinable!(notification_deliveries -> notification_messages (message_id));
diesel::joinable!(notification_deliveries -> notification_subscriptions (subscription_id));
diesel::joinable!(notification_attempts -> notification_deliveries (delivery_id));
diesel::allow_tables_to_appear_in_same_query!(
    webhook_events,
    event_attempts,
    tenant_airbyte_workspaces,
    tenant_users,
    tenant_sso,
    audit_log,
    notification_subscriptions,
    notification_messages,
    notification_deliveries,
    notification_attempts,
    reconcile_runs,
);

// Delivery statistics count deliveries by subscription, notification type and status.
diesel::allow_columns_to_appear_in_same_group_by_clause!(
    notification_deliveries::subscription_id,
    notification_deliveries::status,
    notification_messages::event_type,
);
