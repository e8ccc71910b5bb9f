-- Warden schema, version 9 (SQLite): the sources users disowned ("no, it
-- wasn't me"), refused for their account at every later login.
--
-- Same portable subset as before: INTEGER (unix seconds), TEXT (canonical
-- networks in CIDR notation).

CREATE TABLE source_blocks (
    user_name       TEXT    NOT NULL,
    network         TEXT    NOT NULL,   -- the /24 or /64 of the login
    alert_id        INTEGER REFERENCES alerts (id),
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (user_name, network)
);
