-- A request_id is scoped to its tenant and the account its mutation acts on (the debited account
-- of a transfer, the hold's account for CaptureHold and ReleaseHold): the same id on two accounts is
-- two operations, on whichever nodes they live. See fortress/ledger/v1/ledger.proto.
--
-- States and kinds named in comments are the proto constants: TransactionState (tpc_*.state),
-- HoldState (hold.state), EntryKind (journal.kind).

ALTER TABLE idempotency ADD COLUMN account_id text;

-- Each existing record takes the account of the first journal entry its request made on this node,
-- leaving out the credit legs this node applied as participant (kind 5 ENTRY_KIND_TRANSFER_CREDIT
-- with a tx- transfer id), which belong to another node's request.
UPDATE idempotency i SET account_id = f.account_id
FROM (
  SELECT DISTINCT ON (a.tenant_id, j.request_id) a.tenant_id, j.request_id, a.account_id
  FROM journal j JOIN account a ON a.id = j.account_ref
  WHERE j.request_id IS NOT NULL AND NOT (j.kind = 5 AND j.transfer_id LIKE 'tx-%')
  ORDER BY a.tenant_id, j.request_id, j.sequence
) f
WHERE f.tenant_id = i.tenant_id AND f.request_id = i.request_id;
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
