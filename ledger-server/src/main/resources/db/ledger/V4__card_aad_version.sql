-- The format of the associated data a card was sealed with (see CardVault): 1 bound only the key
-- id and the journal sequence; 2 also binds the node, tenant and account, each part
-- length-prefixed. Cards stored before this migration are version 1 and keep opening. The
-- default is dropped once they are filled, so every new row must say which format it uses.
ALTER TABLE card_payment ADD COLUMN aad_version smallint NOT NULL DEFAULT 1 CHECK (aad_version IN (1, 2));
ALTER TABLE card_payment ALTER COLUMN aad_version DROP DEFAULT;
