-- Who may touch what: datasets that hold samples from a decoy, and the tenant each decision was
-- made for.

-- Set (and never cleared) when a caller with the decoy role appends samples: an attacker chose
-- them, so evaluations use the dataset only when asked to.
ALTER TABLE datasets ADD COLUMN attacker_supplied boolean NOT NULL DEFAULT false;

-- The tenant of the caller the decision was issued to; empty with tokens off.
ALTER TABLE outcomes ADD COLUMN tenant text NOT NULL DEFAULT '';
ALTER TABLE disagreements ADD COLUMN tenant text NOT NULL DEFAULT '';
