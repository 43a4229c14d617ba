-- migrate:up
-- The assistant: one Anthropic API key per user, sealed like exchange credentials (AES-256-GCM,
-- the owner's id as associated data) and shown only as a hint; the chat messages of each flow.
CREATE TABLE ai_keys (
    user_id    uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    provider   text        NOT NULL DEFAULT 'anthropic',
    key_enc    bytea       NOT NULL,
    hint       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE chat_messages (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    seq        bigint      GENERATED ALWAYS AS IDENTITY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    flow_id    uuid        NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    role       text        NOT NULL CHECK (role IN ('user', 'assistant')),
    content    text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- A flow's conversation in the order it was written.
CREATE INDEX chat_messages_flow_idx ON chat_messages (flow_id, seq);

-- migrate:down
DROP TABLE chat_messages;
DROP TABLE ai_keys;
