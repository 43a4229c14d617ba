-- migrate:up
-- Personal API tokens (hc_live_...). Only the SHA-256 of the token is stored; one live token per user.
CREATE TABLE api_tokens (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);
CREATE UNIQUE INDEX api_tokens_one_live_per_user ON api_tokens (user_id) WHERE revoked_at IS NULL;

-- migrate:down
DROP TABLE api_tokens;
