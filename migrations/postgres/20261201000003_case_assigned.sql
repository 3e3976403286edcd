-- Cases are assigned (`Assign to me` on the case page), and each assignment is audited.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check CHECK (action IN (
    'login', 'login_failed', 'login_throttled', 'logout',
    'install_base_refreshed', 'case_created', 'case_state_changed', 'case_work_note', 'case_comment',
    'user_added', 'user_role_changed', 'user_password_reset', 'user_disabled', 'user_enabled',
    'token_created', 'token_revoked', 'incident_created', 'alert_rule_changed', 'case_assigned'));
