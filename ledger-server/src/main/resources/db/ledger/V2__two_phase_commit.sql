-- Two-phase commit of transfers between nodes. See ledger-server/src/main/java/fortress/ledger/twopc/README.md.

-- The coordinator's prepare is a hold tagged with the transaction; it has no timer (expire_at null)
-- and only the decision resolves it.
ALTER TABLE hold ADD COLUMN txid text;

-- One row per transaction this node coordinates (it owns the debited account).
-- 1 PREPARING -> 2 COMMITTED -> 5 DONE, or 1 PREPARING -> 4 ABORTED (fortress.shard.v1.TransactionState).
CREATE TABLE tpc_coordinator (
  txid             text        PRIMARY KEY,
  state            smallint    NOT NULL CHECK (state IN (1, 3, 4, 5)),
  participant      text        NOT NULL,         -- node id owning the credited account
  tenant_id        text        NOT NULL,
  request_id       text        NOT NULL,         -- the client's request_id of the transfer
  request_hash     bytea       NOT NULL,         -- its idempotency fingerprint
  from_account_ref bigint      NOT NULL REFERENCES account (id),
  to_account_id    text        NOT NULL,
  amount           bigint      NOT NULL CHECK (amount > 0),
  memo             text        NOT NULL,
  created_at       timestamptz NOT NULL,
  decided_at       timestamptz,
  done_at          timestamptz,
  CONSTRAINT tpc_coordinator_decided CHECK ((state = 1) = (decided_at IS NULL)),
  CONSTRAINT tpc_coordinator_done CHECK ((state = 5) = (done_at IS NOT NULL))
);
-- At most one undecided transaction per client request: a retry joins it instead of starting another.
CREATE UNIQUE INDEX tpc_coordinator_undecided_request ON tpc_coordinator (tenant_id, request_id) WHERE state = 1;
CREATE INDEX tpc_coordinator_unfinished ON tpc_coordinator (created_at) WHERE state IN (1, 3);

-- One row per transaction leg this node received as participant (it owns the credited account).
-- 2 PREPARED -> 3 COMMITTED or 4 ABORTED. An Abort for an unknown txid leaves an ABORTED row with no
-- account, so a Prepare that arrives late votes no.
CREATE TABLE tpc_participant (
  txid           text        PRIMARY KEY,
  state          smallint    NOT NULL CHECK (state IN (2, 3, 4)),
  coordinator    text        NOT NULL,
  tenant_id      text,
  account_ref    bigint      REFERENCES account (id),
  amount         bigint      CHECK (amount > 0),
  request_id     text,
  memo           text,
  entry_sequence bigint,                          -- the credit entry, once committed
  created_at     timestamptz NOT NULL,
  resolved_at    timestamptz,
  CONSTRAINT tpc_participant_leg CHECK (state = 4 OR (account_ref IS NOT NULL AND amount IS NOT NULL)),
  CONSTRAINT tpc_participant_applied CHECK ((state = 3) = (entry_sequence IS NOT NULL))
);
CREATE INDEX tpc_participant_prepared ON tpc_participant (created_at) WHERE state = 2;
