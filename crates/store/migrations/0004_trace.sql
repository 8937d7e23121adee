-- The trace: every event every component recorded, already redacted (no card numbers
-- in clear: trace::redact runs before an event exists, and the store checks again).
CREATE TABLE trace_events (
    seq INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    -- The threeDSServerTransID the event belongs to (filled later for a request whose
    -- answer named it).
    transaction_id TEXT,
    event TEXT NOT NULL
);
CREATE INDEX trace_events_by_transaction ON trace_events (transaction_id, seq);
