-- Presumed abort, recorded. A coordinator sends Prepare while its own begin (the hold and the
-- PREPARING row) is still on its way to the disk, so a participant may ask GetDecision about a
-- transaction the coordinator has no row for yet. Before answering "aborted" the coordinator
-- writes a tombstone: a tpc_coordinator row in 4 TRANSACTION_STATE_ABORTED with no transfer in it
-- (no tenant, request, account, amount or memo). A begin for that txid is then refused, so a leg a
-- participant aborted on that answer can never commit. See
-- ledger-server/src/main/java/fortress/ledger/twopc/README.md.
--
-- participant names the node that asked, or is empty when the caller's identity is not checked.
ALTER TABLE tpc_coordinator
  ALTER COLUMN tenant_id DROP NOT NULL,
  ALTER COLUMN request_id DROP NOT NULL,
  ALTER COLUMN request_hash DROP NOT NULL,
  ALTER COLUMN from_account_ref DROP NOT NULL,
  ALTER COLUMN to_account_id DROP NOT NULL,
  ALTER COLUMN amount DROP NOT NULL,
  ALTER COLUMN memo DROP NOT NULL;

-- A row is a whole transfer, or a tombstone: every transfer column empty, and aborted.
ALTER TABLE tpc_coordinator ADD CONSTRAINT tpc_coordinator_transfer_or_tombstone CHECK (
  num_nulls(tenant_id, request_id, request_hash, from_account_ref, to_account_id, amount, memo) = 0
  OR (num_nonnulls(tenant_id, request_id, request_hash, from_account_ref, to_account_id, amount, memo) = 0
      AND state = 4));
