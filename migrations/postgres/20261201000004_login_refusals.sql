-- Sign-ins refused without a password check (throttled, or every check busy), one row per scope: a user name, an
-- address, or "busy". The audit log gets one line when such refusals start and one that sums them up once they
-- stop, rather than a line per refused request, so a flood of refused attempts cannot grow it without bound.
CREATE TABLE login_refusals (
    scope    TEXT   PRIMARY KEY CHECK (length(scope) BETWEEN 1 AND 120),
    actor    TEXT   NOT NULL CHECK (length(actor) BETWEEN 1 AND 160),
    address  TEXT   NOT NULL CHECK (length(address) <= 100),
    first_at BIGINT NOT NULL,
    last_at  BIGINT NOT NULL,
    refused  BIGINT NOT NULL CHECK (refused >= 1)
);
CREATE INDEX login_refusals_last ON login_refusals (last_at);

-- Forestall folds the user name it counts failures by (ASCII letters to lower case, as user names are ASCII), the
-- same way it looks users up; PostgreSQL's lower() folds more, so it no longer checks the key.
ALTER TABLE login_failures DROP CONSTRAINT login_failures_user_name_check;
ALTER TABLE login_failures ADD CONSTRAINT login_failures_user_name_check CHECK (length(user_name) <= 64);
