-- Warden schema, version 7 (SQLite): the notification fan-out mark.
--
-- Every alert with an id up to `alert_id` has its rows in `deliveries`.
-- The fan-out reads the alerts after the mark and, in one transaction,
-- writes their deliveries and moves the mark (only if it is still where it
-- read it), so an alert is fanned out exactly once, even across a crash.
CREATE TABLE delivery_mark (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    alert_id        INTEGER NOT NULL
);

INSERT INTO delivery_mark (id, alert_id) VALUES (1, 0);

-- Failed deliveries, newest first (the API's list of failures).
CREATE INDEX deliveries_state ON deliveries (state, id);
