-- The signed-in user of a session in its own column, so a user's sessions can be ended together on SQLite and
-- PostgreSQL alike (rather than by reading the session's JSON).
ALTER TABLE sessions ADD COLUMN user_id INTEGER REFERENCES users (id) ON DELETE CASCADE;
UPDATE sessions SET user_id = json_extract(data, '$.user_id');
CREATE INDEX sessions_user ON sessions (user_id) WHERE user_id IS NOT NULL;
