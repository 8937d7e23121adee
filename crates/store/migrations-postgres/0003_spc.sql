-- Secure Payment Confirmation (2.3.1).

-- Credentials the ACS registered (it is the WebAuthn relying party), per card.
-- `public_key` is the SubjectPublicKeyInfo (DER), `algorithm` ES256 or RS256.
CREATE TABLE spc_credentials (
    credential_id TEXT PRIMARY KEY NOT NULL,
    pan_hash TEXT NOT NULL,
    rp_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    public_key BYTEA NOT NULL,
    sign_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX spc_credentials_card ON spc_credentials (pan_hash);

-- Confirmations the ACS issued with an ARes S (requestor-initiated SPC), by the
-- acsTransID of that ARes. `issued` is what the assertion must match (JSON: challenge,
-- amount, payee, credentials offered); `used_at` makes the challenge single-use;
-- `result` is what the check of the one assertion it accepted found.
CREATE TABLE spc_offers (
    acs_trans_id TEXT PRIMARY KEY NOT NULL,
    pan_hash TEXT NOT NULL,
    issued TEXT NOT NULL,
    result TEXT,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);

-- The 3DS Server links a second authentication (SPC assertion, or SPC not completed)
-- to the first (ARes S), and keeps the first AReq (sealed: it holds the card) to build
-- the second from it.
ALTER TABLE server_transactions ADD COLUMN prior_trans_id TEXT;
ALTER TABLE server_transactions ADD COLUMN request_sealed BYTEA;
-- One continuation per SPC authentication, even when two requests race.
CREATE UNIQUE INDEX server_transactions_one_continuation ON server_transactions (prior_trans_id)
    WHERE prior_trans_id IS NOT NULL;
