-- Fortress ledger node schema. One node is the only writer of this database.
-- Amounts are int64 credits. Timestamps are microsecond precision.

CREATE FUNCTION to_micros(t timestamptz) RETURNS bigint
  LANGUAGE sql STABLE AS $$ SELECT (extract(epoch FROM t) * 1000000)::bigint $$;
CREATE FUNCTION from_micros(us bigint) RETURNS timestamptz
  LANGUAGE sql STABLE AS $$ SELECT timestamptz 'epoch' + us * interval '1 microsecond' $$;

-- Balances are a projection of the journal; VerifyJournal checks the two agree.
CREATE TABLE account (
  id            bigint      PRIMARY KEY,       -- node-local surrogate key, used by the journal
  tenant_id     text        NOT NULL,
  account_id    text        NOT NULL,
  balance       bigint      NOT NULL CHECK (balance >= 0),
  held          bigint      NOT NULL CHECK (held >= 0),
  last_sequence bigint      NOT NULL,          -- journal sequence of the last change
  created_at    timestamptz NOT NULL,
  CONSTRAINT account_available_not_negative CHECK (held <= balance),
  CONSTRAINT account_key UNIQUE (tenant_id, account_id)
);

-- Append-only and hash-chained: hash = SHA-256(prev hash || canonical bytes), hmac = HMAC(node key, hash).
-- Each entry also records the account's balance and held credits after it, so every entry is a
-- per-account snapshot: an as-of read is one index probe on (account_ref, sequence).
-- account_ref has no foreign key on purpose: the per-row RI check (an index probe plus a row lock
-- on an account the same transaction then updates) cost more than the insert itself. The single
-- writer inserts an account before its first entry, and VerifyJournal reports any entry whose
-- account is missing.
CREATE TABLE journal (
  sequence      bigint      PRIMARY KEY,
  account_ref   bigint      NOT NULL,
  kind          smallint    NOT NULL,          -- fortress.ledger.v1.EntryKind
  amount        bigint      NOT NULL CHECK (amount >= 0),
  balance_after bigint      NOT NULL CHECK (balance_after >= 0),
  held_after    bigint      NOT NULL CHECK (held_after >= 0 AND held_after <= balance_after),
  request_id    text,
  hold_id       text,
  transfer_id   text,
  memo          text        NOT NULL,
  created_at    timestamptz NOT NULL,
  hash          bytea       NOT NULL,
  hmac          bytea       NOT NULL
);
CREATE INDEX journal_account_sequence ON journal (account_ref, sequence);

CREATE FUNCTION journal_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal
  FOR EACH ROW EXECUTE FUNCTION journal_refuse_change();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
  FOR EACH STATEMENT EXECUTE FUNCTION journal_refuse_change();

-- A hold leaves ACTIVE (1) exactly once: CAPTURED (2), RELEASED (3) or EXPIRED (4).
CREATE TABLE hold (
  hold_id     text        PRIMARY KEY,
  account_ref bigint      NOT NULL REFERENCES account (id),
  amount      bigint      NOT NULL CHECK (amount > 0),
  captured    bigint      NOT NULL CHECK (captured >= 0 AND captured <= amount),
  state       smallint    NOT NULL CHECK (state BETWEEN 1 AND 4),
  expire_at   timestamptz,                       -- null: resolved only by an explicit decision
  request_id  text        NOT NULL,
  created_at  timestamptz NOT NULL,
  resolved_at timestamptz,
  CONSTRAINT hold_resolved_iff_not_active CHECK ((state = 1) = (resolved_at IS NULL))
);
CREATE INDEX hold_active_expiry ON hold (expire_at) WHERE state = 1;

-- AIP-155: the request hash and the response, written in the same transaction as the effect.
CREATE TABLE idempotency (
  tenant_id    text        NOT NULL,
  request_id   text        NOT NULL,
  kind         smallint    NOT NULL,
  request_hash bytea       NOT NULL,             -- HMAC, so card numbers cannot be guessed from it
  response     bytea       NOT NULL,             -- the serialized response message
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, request_id)
);

-- Card details of a deposit, AES-256-GCM encrypted; only brand and last four are in clear.
CREATE TABLE card_payment (
  journal_sequence bigint PRIMARY KEY REFERENCES journal (sequence),
  brand            smallint NOT NULL,
  last4            text     NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
  key_id           text     NOT NULL,
  nonce            bytea    NOT NULL,
  ciphertext       bytea    NOT NULL
);
