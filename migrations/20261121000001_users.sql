-- migrate:up
-- One user model shared by every API family. Roles: ADMIN, OPERATOR, PENDING.
CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text        NOT NULL,
    name          text        NOT NULL DEFAULT '',
    password_hash text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('ADMIN', 'OPERATOR', 'PENDING')),
    status        text        NOT NULL CHECK (status IN ('ACTIVE', 'PENDING', 'DISABLED')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
-- Emails are stored lower-cased by the service; the index also guards against mixed-case rows.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_role_status_idx ON users (role, status);

-- migrate:down
DROP TABLE users;
