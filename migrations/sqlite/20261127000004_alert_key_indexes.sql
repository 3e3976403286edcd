-- Alerts by message key: open ones through alerts_one_open_per_key, closed ones (to reopen the latest) through the
-- partial index below. The index over every alert's key goes: each event's update of an open alert maintained it
-- for no query.
DROP INDEX alerts_message_key;
CREATE INDEX alerts_closed_key ON alerts (message_key, id) WHERE state = 'Closed';
