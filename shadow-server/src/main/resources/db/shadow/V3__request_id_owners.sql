-- Request ids belong to their caller: an idempotency record is found by (caller, request_id), so
-- one caller's id neither replays another's response nor counts as its reuse. caller is the token's
-- subject and tenant as Operations.caller encodes them, or 'anonymous' with tokens off. Records
-- made before this migration had no caller; they become the anonymous caller's, which is who made
-- them on a server without tokens. On a server with tokens, a retry across the upgrade of a request
-- made before it runs again.
ALTER TABLE operations ADD COLUMN caller text NOT NULL DEFAULT 'anonymous';
ALTER TABLE operations ALTER COLUMN caller DROP DEFAULT;
ALTER TABLE operations DROP CONSTRAINT operations_pkey;
ALTER TABLE operations ADD PRIMARY KEY (caller, request_id);
