-- The trace: every event every component recorded, already redacted (no card numbers
-- in clear: trace::redact runs before an event exists, and the store checks again).
CREATE TABLE trace_events (
    seq INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    -- The threeDSServerTransID the event belongs to, when its observer knew it.
    transaction_id TEXT,
    -- For an answer, the seq of its request: a request that named no transaction
    -- (a requestor API call, say) belongs to its answer's.
    reply_to INTEGER,
    event TEXT NOT NULL
);
CREATE INDEX trace_events_by_transaction ON trace_events (transaction_id, seq);
