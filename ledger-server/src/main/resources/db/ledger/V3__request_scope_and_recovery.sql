-- A request_id is scoped to its tenant and the account its mutation acts on (the debited account
-- of a transfer, the hold's account for CaptureHold and ReleaseHold): the same id on two accounts is
-- two operations, on whichever nodes they live. See fortress/ledger/v1/ledger.proto.
--
-- States and kinds named in comments are the proto constants: TransactionState (tpc_*.state),
-- HoldState (hold.state), EntryKind (journal.kind).

ALTER TABLE idempotency ADD COLUMN account_id text;

-- Each existing record takes the account of the journal entry its own operation wrote, found by
-- the entry kind that operation writes first (EntryKind: 1 ACCOUNT_CREATED, 2 DEPOSIT, 3 CONSUME,
-- 4 TRANSFER_DEBIT, 6 HOLD_CREATED, 7 HOLD_CAPTURED, 8 HOLD_RELEASED) for the record's kind (the
-- BatchOperation field: 1 create_account, 2 deposit, 3 consume, 4 transfer, 5 create_hold,
-- 6 capture_hold, 7 release_hold), on an account of the record's tenant. Entries other requests
-- left under the same id do not match: the holds and releases of a cross-node transfer (their
-- transfer id starts with tx-), a credit (kind 5), or a refused request's (it wrote nothing). Under
-- the old scope (one record per tenant and request_id on a node) exactly one operation per record
-- wrote such an entry; the earliest is taken should there be more.
UPDATE idempotency i SET account_id = f.account_id
FROM (
  SELECT DISTINCT ON (a.tenant_id, j.request_id, j.kind) a.tenant_id, j.request_id, j.kind, a.account_id
  FROM journal j JOIN account a ON a.id = j.account_ref
  WHERE j.request_id IS NOT NULL AND j.kind IN (1, 2, 3, 4, 6, 7, 8)
    AND (j.kind = 4 OR j.transfer_id IS NULL OR j.transfer_id NOT LIKE 'tx-%')
  ORDER BY a.tenant_id, j.request_id, j.kind, j.sequence
) f
WHERE f.tenant_id = i.tenant_id AND f.request_id = i.request_id
  AND f.kind = CASE i.kind WHEN 1 THEN 1 WHEN 2 THEN 2 WHEN 3 THEN 3 WHEN 4 THEN 4 WHEN 5 THEN 6 WHEN 6 THEN 7
                           WHEN 7 THEN 8 END;
-- A record with no entry cannot be scoped to an account; no account id is empty, so it stays
-- readable as history but never matches a request again.
UPDATE idempotency SET account_id = '' WHERE account_id IS NULL;

ALTER TABLE idempotency ALTER COLUMN account_id SET NOT NULL;
ALTER TABLE idempotency DROP CONSTRAINT idempotency_pkey;
ALTER TABLE idempotency ADD PRIMARY KEY (tenant_id, request_id, account_id);

-- At most one undecided transfer (1 TRANSACTION_STATE_PREPARING) per request_id and debited account.
DROP INDEX tpc_coordinator_undecided_request;
CREATE UNIQUE INDEX tpc_coordinator_undecided_request
  ON tpc_coordinator (tenant_id, request_id, from_account_ref) WHERE state = 1;

-- Recovery pages through each kind of unfinished transaction on its own, in (clock, txid) order:
-- coordinator 1 TRANSACTION_STATE_PREPARING by creation, 3 TRANSACTION_STATE_COMMITTED by decision,
-- participant 2 TRANSACTION_STATE_PREPARED by creation.
DROP INDEX tpc_coordinator_unfinished;
CREATE INDEX tpc_coordinator_preparing ON tpc_coordinator (created_at, txid) WHERE state = 1;
CREATE INDEX tpc_coordinator_committed ON tpc_coordinator (decided_at, txid) WHERE state = 3;
DROP INDEX tpc_participant_prepared;
CREATE INDEX tpc_participant_prepared ON tpc_participant (created_at, txid) WHERE state = 2;
