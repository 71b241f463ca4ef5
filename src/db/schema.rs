// Mirrors migrations/; regenerate with `diesel print-schema` after changing them.

diesel::table! {
    audit_events (id) {
        id -> Int8,
        at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        tenant_id -> Nullable<Uuid>,
        tenant_path -> Nullable<Array<Uuid>>,
        action -> Text,
        target_type -> Text,
        target_id -> Nullable<Uuid>,
        detail -> Jsonb,
        client_addr -> Nullable<Text>,
        api_key_id -> Nullable<Uuid>,
        customer_id -> Uuid,
    }
}

diesel::table! {
    device_imports (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        user_id -> Nullable<Uuid>,
        state -> Text,
        csv -> Text,
        total -> Int4,
        processed -> Int4,
        created -> Int4,
        updated -> Int4,
        unchanged -> Int4,
        refused -> Int4,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        customer_id -> Uuid,
    }
}

diesel::table! {
    deleted_tenants (id) {
        id -> Uuid,
        name -> Text,
        traversal_ids -> Array<Uuid>,
        deleted_at -> Timestamptz,
    }
}

diesel::table! {
    device_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    reset_requests (id) {
        id -> Int8,
        email -> Text,
        requested_at -> Timestamptz,
    }
}

diesel::table! {
    invitation_sends (id) {
        id -> Int8,
        tenant_id -> Uuid,
        sender_id -> Nullable<Uuid>,
        at -> Timestamptz,
    }
}

diesel::table! {
    device_moves (id) {
        id -> Int8,
        device_id -> Uuid,
        from_tenant_id -> Nullable<Uuid>,
        to_tenant_id -> Uuid,
        moved_by -> Nullable<Uuid>,
        moved_at -> Timestamptz,
        customer_id -> Uuid,
    }
}

diesel::table! {
    devices (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        tenant_path -> Array<Uuid>,
        identifier -> Text,
        id_kind -> Text,
        name -> Text,
        model -> Text,
        kind -> Text,
        status -> Text,
        phone -> Nullable<Text>,
        notes -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        customer_id -> Uuid,
    }
}

diesel::table! {
    invitations (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        tenant_path -> Array<Uuid>,
        email -> Text,
        inviter_id -> Nullable<Uuid>,
        token_hash -> Text,
        state -> Text,
        expires_at -> Timestamptz,
        accepted_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        role_id -> Uuid,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> Uuid,
        code_hash -> Text,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    security_policies (tenant_id) {
        tenant_id -> Uuid,
        require_two_factor -> Bool,
        email_domains -> Nullable<Array<Text>>,
        idle_minutes -> Nullable<Int4>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    groups (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        description -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        schedule_id -> Nullable<Uuid>,
        customer_id -> Uuid,
    }
}

diesel::table! {
    group_devices (group_id, device_id) {
        group_id -> Uuid,
        tenant_id -> Uuid,
        device_id -> Uuid,
        customer_id -> Uuid,
    }
}

diesel::table! {
    group_members (group_id, user_id) {
        group_id -> Uuid,
        tenant_id -> Uuid,
        user_id -> Uuid,
        customer_id -> Uuid,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Int8,
        key -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    memberships (user_id, tenant_id) {
        user_id -> Uuid,
        tenant_id -> Uuid,
        tenant_path -> Array<Uuid>,
        created_at -> Timestamptz,
        role_id -> Uuid,
        limited_to_groups -> Bool,
    }
}

diesel::table! {
    roles (id) {
        id -> Uuid,
        tenant_id -> Nullable<Uuid>,
        preset -> Nullable<Text>,
        name -> Text,
        description -> Text,
        permissions -> Array<Text>,
        reach -> Text,
        shared -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        to_email -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        invitation_id -> Nullable<Uuid>,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        claimed_until -> Nullable<Timestamptz>,
        sent_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    password_resets (token_hash) {
        token_hash -> Text,
        user_id -> Uuid,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (key_hash) {
        key_hash -> Text,
        user_id -> Nullable<Uuid>,
        state -> Jsonb,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        parent_id -> Nullable<Uuid>,
        name -> Text,
        slug -> Text,
        traversal_ids -> Array<Uuid>,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        brand_name -> Nullable<Text>,
        brand_accent -> Nullable<Text>,
        brand_logo -> Nullable<Text>,
        time_zone -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        status -> Text,
        last_sign_in_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_tenant_id -> Nullable<Uuid>,
        time_zone -> Nullable<Text>,
        totp_secret -> Nullable<Text>,
        totp_last_step -> Nullable<Int8>,
        factor_generation -> Int4,
    }
}

diesel::table! {
    device_counts (tenant_id, status) {
        tenant_id -> Uuid,
        status -> Text,
        own -> Int8,
        total -> Int8,
        customer_id -> Uuid,
    }
}

diesel::table! {
    subtree_counts (tenant_id) {
        tenant_id -> Uuid,
        tenants -> Int8,
        members -> Int8,
    }
}

diesel::table! {
    logos (hash) {
        hash -> Text,
        content_type -> Text,
        bytes -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    membership_spans (id) {
        id -> Int8,
        user_id -> Uuid,
        tenant_id -> Uuid,
        started_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    clock (only_row) {
        only_row -> Bool,
        skew -> Interval,
    }
}

diesel::table! {
    contacts (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        notes -> Text,
        user_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        customer_id -> Uuid,
    }
}

diesel::table! {
    schedules (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        name -> Text,
        time_zone -> Text,
        interval_minutes -> Nullable<Int4>,
        times_of_day -> Nullable<Array<Int2>>,
        weekdays -> Int2,
        grace_minutes -> Int4,
        tier2_after_minutes -> Nullable<Int4>,
        repeat_minutes -> Nullable<Int4>,
        enabled -> Bool,
        shared_below -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        customer_id -> Uuid,
    }
}

diesel::table! {
    schedule_contacts (schedule_id, contact_id) {
        schedule_id -> Uuid,
        tenant_id -> Uuid,
        contact_id -> Uuid,
        tier -> Int2,
        customer_id -> Uuid,
    }
}

diesel::table! {
    checkin_states (device_id) {
        device_id -> Uuid,
        own_schedule_id -> Nullable<Uuid>,
        schedule_id -> Nullable<Uuid>,
        since -> Timestamptz,
        last_checkin_at -> Nullable<Timestamptz>,
        next_due_at -> Nullable<Timestamptz>,
        alert_at -> Nullable<Timestamptz>,
        token_hash -> Nullable<Text>,
        token_hint -> Nullable<Text>,
        customer_id -> Uuid,
    }
}

diesel::table! {
    checkins (id) {
        id -> Uuid,
        device_id -> Uuid,
        at -> Timestamptz,
        source -> Text,
        user_id -> Nullable<Uuid>,
        message -> Text,
        latitude -> Nullable<Float8>,
        longitude -> Nullable<Float8>,
        customer_id -> Uuid,
    }
}

diesel::table! {
    alerts (id) {
        id -> Uuid,
        device_id -> Uuid,
        tenant_id -> Uuid,
        tenant_path -> Array<Uuid>,
        schedule_id -> Nullable<Uuid>,
        due_at -> Timestamptz,
        opened_at -> Timestamptz,
        state -> Text,
        steps -> Int4,
        repeats -> Int4,
        next_step_at -> Nullable<Timestamptz>,
        acknowledged_at -> Nullable<Timestamptz>,
        acknowledged_by -> Nullable<Text>,
        ack_note -> Text,
        resolved_at -> Nullable<Timestamptz>,
        resolved_reason -> Nullable<Text>,
        customer_id -> Uuid,
    }
}

diesel::table! {
    alert_notifications (alert_id, step, email) {
        alert_id -> Uuid,
        step -> Int4,
        tier -> Int2,
        contact_id -> Nullable<Uuid>,
        name -> Text,
        email -> Text,
        at -> Timestamptz,
        customer_id -> Uuid,
    }
}

diesel::table! {
    webhooks (tenant_id) {
        tenant_id -> Uuid,
        url -> Text,
        secret -> Text,
        enabled -> Bool,
        updated_at -> Timestamptz,
        customer_id -> Uuid,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Int8,
        tenant_id -> Uuid,
        event -> Text,
        body -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        claimed_until -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        last_status -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        customer_id -> Uuid,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        user_id -> Uuid,
        tenant_id -> Uuid,
        role_id -> Uuid,
        name -> Text,
        prefix -> Text,
        secret_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    api_rate (key_id, window_start) {
        key_id -> Uuid,
        window_start -> Timestamptz,
        requests -> Int4,
    }
}

diesel::table! {
    api_idempotency (key_id, idem_key) {
        key_id -> Uuid,
        idem_key -> Text,
        request_hash -> Bytea,
        status -> Int2,
        location -> Nullable<Text>,
        body -> Text,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(api_keys -> tenants (tenant_id));
diesel::joinable!(api_keys -> roles (role_id));
diesel::joinable!(contacts -> tenants (tenant_id));
diesel::joinable!(schedules -> tenants (tenant_id));
diesel::joinable!(schedule_contacts -> contacts (contact_id));
diesel::joinable!(checkin_states -> devices (device_id));
diesel::joinable!(checkins -> devices (device_id));
diesel::joinable!(alerts -> devices (device_id));
diesel::joinable!(alerts -> tenants (tenant_id));
diesel::joinable!(alert_notifications -> alerts (alert_id));

diesel::joinable!(device_moves -> devices (device_id));
diesel::joinable!(devices -> tenants (tenant_id));
diesel::joinable!(invitations -> tenants (tenant_id));
diesel::joinable!(memberships -> tenants (tenant_id));
diesel::joinable!(outbox -> invitations (invitation_id));
diesel::joinable!(password_resets -> users (user_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(memberships -> roles (role_id));
diesel::joinable!(group_devices -> groups (group_id));
diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(group_devices -> devices (device_id));
diesel::joinable!(groups -> tenants (tenant_id));
diesel::joinable!(security_policies -> tenants (tenant_id));
diesel::joinable!(group_members -> users (user_id));
diesel::joinable!(invitations -> roles (role_id));
diesel::joinable!(roles -> tenants (tenant_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(device_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    api_rate,
    api_idempotency,
    webhook_deliveries,
    webhooks,
    alert_notifications,
    alerts,
    checkin_states,
    checkins,
    clock,
    contacts,
    schedule_contacts,
    schedules,
    audit_events,
    deleted_tenants,
    device_tokens,
    invitation_sends,
    reset_requests,
    checkin_tokens,
    device_counts,
    device_identifiers,
    device_imports,
    device_moves,
    devices,
    group_devices,
    group_members,
    groups,
    invitations,
    login_failures,
    logos,
    membership_spans,
    outbox,
    password_resets,
    memberships,
    recovery_codes,
    security_policies,
    roles,
    sessions,
    subtree_counts,
    tenants,
    users,
);

diesel::table! {
    device_identifiers (identifier) {
        identifier -> Text,
        customer_id -> Uuid,
        device_id -> Uuid,
    }
}

diesel::table! {
    checkin_tokens (token_hash) {
        token_hash -> Text,
        customer_id -> Uuid,
        device_id -> Uuid,
    }
}
