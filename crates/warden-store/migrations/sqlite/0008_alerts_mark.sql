-- Warden schema, version 8 (SQLite): the alerts mark.
--
-- Alerts are raised from the committed login history: a worker reads the
-- events after the 'alerts' mark in id order and, in one transaction,
-- inserts or folds the alert rows and moves the mark. An upgraded database
-- starts at its newest event (the history before the upgrade raised no
-- alert then and raises none now).
INSERT INTO replay_marks (name, event_id)
    SELECT 'alerts', COALESCE(MAX(id), 0) FROM login_events;
