-- Sign-ins refused without a password check (throttled, or every check busy), one row per scope: a user name, an
-- address, or "busy". The audit log gets one line when such refusals start and one that sums them up once they
-- stop, rather than a line per refused request, so a flood of refused attempts cannot grow it without bound.
CREATE TABLE login_refusals (
    scope    TEXT    PRIMARY KEY CHECK (length(scope) BETWEEN 1 AND 120),
    actor    TEXT    NOT NULL CHECK (length(actor) BETWEEN 1 AND 160),
    address  TEXT    NOT NULL CHECK (length(address) <= 100),
    first_at INTEGER NOT NULL,
    last_at  INTEGER NOT NULL,
    refused  INTEGER NOT NULL CHECK (refused >= 1)
);
CREATE INDEX login_refusals_last ON login_refusals (last_at);
