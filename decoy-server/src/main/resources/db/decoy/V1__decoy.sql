-- The decoy server's schema.

-- Idempotent mutations (AIP-155): the response of every request_id, with a fingerprint of its body.
CREATE TABLE operations (
  request_id  text PRIMARY KEY,
  method      text NOT NULL,
  fingerprint bytea NOT NULL,
  response    bytea NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now()
);

-- Decoy endpoints; the Template message without create_time.
CREATE TABLE templates (
  template_id text PRIMARY KEY,
  template    bytea NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now()
);

-- Trained text models, kept as their corpus and trained again at start.
CREATE TABLE text_models (
  model       text PRIMARY KEY,
  corpus      text NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now()
);

-- Every request the decoy endpoints received; the Interaction message without id and time.
CREATE TABLE interactions (
  interaction_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time           timestamptz NOT NULL,
  client_ip      text NOT NULL,
  interaction    bytea NOT NULL
);
CREATE INDEX interactions_by_client ON interactions (client_ip, interaction_id);

-- ExportInteractions progress, so a retried export resumes where it stopped and sends each
-- interaction once. upper_id bounds the export at its first attempt, which keeps every page the
-- same on retries.
CREATE TABLE exports (
  request_id  text PRIMARY KEY,
  fingerprint bytea NOT NULL,
  upper_id    bigint NOT NULL,
  after_id    bigint NOT NULL,
  exported    bigint NOT NULL DEFAULT 0,
  response    bytea,
  create_time timestamptz NOT NULL DEFAULT now()
);
