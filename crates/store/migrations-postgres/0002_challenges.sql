-- Challenges and decoupled authentications the ACS has open, and 3DS Method runs.

-- One row per ARes C or D. `state` is the ACS's challenge state as JSON (no card data:
-- the card is in acs_transactions under the same acsTransID). `revision` grows with
-- every change and a change names the revision it read, so the cardholder's page and
-- the timeout sweep cannot overwrite each other. `due_at` is when the ACS must act
-- without being asked (a timeout, a retry of an undelivered RReq); NULL when nothing is
-- pending.
CREATE TABLE acs_challenges (
    acs_trans_id TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    revision BIGINT NOT NULL,
    due_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX acs_challenges_due ON acs_challenges (due_at) WHERE due_at IS NOT NULL;

-- What the ACS's 3DS Method page learnt about the browser, by threeDSServerTransID.
CREATE TABLE acs_method_runs (
    three_ds_server_trans_id TEXT PRIMARY KEY NOT NULL,
    facts TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
