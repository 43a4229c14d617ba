-- migrate:up
-- Exchange API credentials, the one table behind /api/accounts and /api/exchange-keys.
-- The *_enc columns hold AES-256-GCM blobs (version byte, random nonce, ciphertext and tag) sealed
-- with the owner's id as associated data, so a blob copied to another user's row cannot be opened.
CREATE TABLE exchange_accounts (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    exchange       text        NOT NULL,
    label          text,
    uid            text,
    api_key_enc    bytea       NOT NULL,
    secret_enc     bytea       NOT NULL,
    passphrase_enc bytea,
    is_valid       boolean,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX exchange_accounts_user_id_idx ON exchange_accounts (user_id, created_at);

-- migrate:down
DROP TABLE exchange_accounts;
