-- Warden schema, version 3 (SQLite): why a credential check refused a login
-- (the verify reason wire name: wrong_password, app_password_required, ...),
-- NULL for attempts reported by the mail server itself. Diagnosis reads it.
ALTER TABLE login_events ADD COLUMN auth_reason TEXT;
