-- The sandbox's first schema, for PostgreSQL: `migrations/` with PostgreSQL's types
-- (BIGINT for times and counters, BYTEA for sealed data). Keep the two in step.
-- Card numbers are never stored in clear: `pan_hash` is the
-- key service's keyed hash (for lookups) and `pan_sealed` an envelope-encrypted copy
-- (AES-256-GCM under a data key wrapped by the key service). Times are Unix milliseconds.

-- Authentications as the 3DS Server tracks them (requestor API, postauth).
CREATE TABLE server_transactions (
    three_ds_server_trans_id TEXT PRIMARY KEY NOT NULL,
    pan_hash TEXT NOT NULL,
    pan_sealed BYTEA NOT NULL,
    directory_server_id TEXT NOT NULL,
    -- Known at preauth when a version could be negotiated; channel and category at auth.
    message_version TEXT,
    device_channel TEXT,
    message_category TEXT,
    -- 'pending' until a final result (ARes or RReq) is known, then 'final'.
    status TEXT NOT NULL CHECK (status IN ('pending', 'final')),
    -- 'ARes' or 'RReq': where `result` came from.
    source TEXT CHECK (source IN ('ARes', 'RReq')),
    -- The ARes or RReq as received (JSON; these messages carry no card number).
    result TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX server_transactions_pan ON server_transactions (pan_hash);

-- Authentications a Directory Server routed (one row per AReq it forwarded).
CREATE TABLE ds_transactions (
    ds_trans_id TEXT PRIMARY KEY NOT NULL,
    directory_server_id TEXT NOT NULL,
    three_ds_server_trans_id TEXT NOT NULL,
    -- Where RReq messages for this transaction go (the AReq's threeDSServerURL).
    three_ds_server_url TEXT,
    acs_url TEXT NOT NULL,
    acs_trans_id TEXT,
    pan_hash TEXT NOT NULL,
    pan_sealed BYTEA NOT NULL,
    message_version TEXT NOT NULL,
    trans_status TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Authentications the ACS answered.
CREATE TABLE acs_transactions (
    acs_trans_id TEXT PRIMARY KEY NOT NULL,
    ds_trans_id TEXT,
    three_ds_server_trans_id TEXT NOT NULL,
    pan_hash TEXT NOT NULL,
    pan_sealed BYTEA NOT NULL,
    message_version TEXT NOT NULL,
    device_channel TEXT NOT NULL,
    message_category TEXT NOT NULL,
    trans_status TEXT NOT NULL,
    trans_status_reason TEXT,
    eci TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX acs_transactions_pan ON acs_transactions (pan_hash);

-- The 3DS Server's card-range cache, one row per Directory Server.
CREATE TABLE card_range_caches (
    directory_server_id TEXT PRIMARY KEY NOT NULL,
    serial_num TEXT,
    -- JSON: {"dsVersions": [...], "ranges": [...]}
    ranges TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The ACS's cards (seeded from the issuer configuration file at start).
CREATE TABLE issuer_cards (
    pan_hash TEXT PRIMARY KEY NOT NULL,
    pan_sealed BYTEA NOT NULL,
    -- First six and last four digits, for people reading the table.
    pan_masked TEXT NOT NULL,
    outcome TEXT NOT NULL,
    description TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
