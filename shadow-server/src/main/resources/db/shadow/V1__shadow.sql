-- Fortress shadow server. Enum columns hold the proto enum numbers; messages the server only
-- reads back whole (settings, results, attributes) are stored as serialized protobuf.

-- Idempotency: the response of every mutation, by request_id (AIP-155).
CREATE TABLE operations (
  request_id  text PRIMARY KEY,
  method      text NOT NULL,
  fingerprint bytea NOT NULL,
  response    bytea NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rules (
  rule_id     text NOT NULL,
  version     text NOT NULL,
  expression  text NOT NULL,
  action      smallint NOT NULL,
  description text NOT NULL,
  cost        bigint NOT NULL,
  create_time timestamptz NOT NULL,
  PRIMARY KEY (rule_id, version)
);

-- The deployed version of each rule.
CREATE TABLE champions (
  rule_id text PRIMARY KEY,
  version text NOT NULL,
  FOREIGN KEY (rule_id, version) REFERENCES rules (rule_id, version)
);

CREATE TABLE datasets (
  dataset      text PRIMARY KEY,
  sample_count bigint NOT NULL
);

CREATE TABLE samples (
  dataset    text NOT NULL REFERENCES datasets,
  sample_id  bigint GENERATED ALWAYS AS IDENTITY,
  label      smallint NOT NULL,
  attributes bytea NOT NULL,
  PRIMARY KEY (dataset, sample_id)
);

CREATE TABLE evaluations (
  evaluation_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  state              smallint NOT NULL,
  -- The Evaluation message without progress or result: dataset, rules, prior, seed, settings.
  spec               bytea NOT NULL,
  challenger_rule_id text NOT NULL,
  challenger_version text NOT NULL,
  samples_total      bigint NOT NULL DEFAULT 0,
  samples_done       bigint NOT NULL DEFAULT 0,
  verdict            smallint NOT NULL DEFAULT 0,
  result             bytea,
  error              text,
  create_time        timestamptz NOT NULL DEFAULT now(),
  complete_time      timestamptz
);
CREATE INDEX evaluations_by_challenger ON evaluations (challenger_rule_id, challenger_version, verdict);

-- The deployment audit log. hash = SHA-256 over previous_hash and the entry's fields.
CREATE TABLE deployments (
  sequence         bigint PRIMARY KEY,
  kind             smallint NOT NULL,
  rule_id          text NOT NULL,
  version          text NOT NULL,
  previous_version text NOT NULL,
  evaluation_id    text NOT NULL,
  rollout_id       text NOT NULL,
  reason           text NOT NULL,
  create_time      timestamptz NOT NULL,
  previous_hash    bytea NOT NULL,
  hash             bytea NOT NULL
);

CREATE TABLE rollouts (
  rollout_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rule_id          text NOT NULL,
  version          text NOT NULL,
  champion_version text NOT NULL,
  evaluation_id    text NOT NULL,
  stages           int[] NOT NULL,
  thresholds       bytea NOT NULL,
  state            smallint NOT NULL,
  create_time      timestamptz NOT NULL DEFAULT now(),
  update_time      timestamptz NOT NULL DEFAULT now()
);
-- One rollout at a time: concurrent canaries would confound each other's numbers.
CREATE UNIQUE INDEX one_active_rollout ON rollouts ((true)) WHERE state IN (1, 2);

-- Each stage of a rollout, and each resumed attempt at one, is a segment: decisions and outcomes
-- are counted per segment.
CREATE TABLE rollout_segments (
  rollout_id            bigint NOT NULL REFERENCES rollouts,
  segment               int NOT NULL,
  stage_index           int NOT NULL,
  percent               int NOT NULL,
  decisions_champion    bigint NOT NULL DEFAULT 0,
  decisions_challenger  bigint NOT NULL DEFAULT 0,
  disagreements         bigint NOT NULL DEFAULT 0,
  outcome               smallint NOT NULL DEFAULT 0,
  reasons               text[] NOT NULL DEFAULT '{}',
  start_time            timestamptz NOT NULL DEFAULT now(),
  end_time              timestamptz,
  PRIMARY KEY (rollout_id, segment)
);

CREATE TABLE outcomes (
  decision_id        text PRIMARY KEY,
  rollout_id         bigint NOT NULL,
  segment            int NOT NULL,
  arm                smallint NOT NULL,
  champion_flagged   boolean NOT NULL,
  challenger_flagged boolean NOT NULL,
  label              smallint NOT NULL,
  error              boolean NOT NULL,
  latency_ms         bigint NOT NULL,
  create_time        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outcomes_by_segment ON outcomes (rollout_id, segment);

-- Requests on which the champion and challenger versions disagreed during a rollout.
CREATE TABLE disagreements (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rollout_id        bigint NOT NULL,
  segment           int NOT NULL,
  decision_id       text NOT NULL,
  request_key       text NOT NULL,
  attributes        bytea NOT NULL,
  champion_action   smallint NOT NULL,
  challenger_action smallint NOT NULL,
  arm               smallint NOT NULL,
  create_time       timestamptz NOT NULL DEFAULT now()
);

-- The key that signs decision ids, made on first start.
CREATE TABLE server_keys (
  name text PRIMARY KEY,
  key  bytea NOT NULL
);
