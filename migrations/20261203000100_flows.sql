-- migrate:up
-- Strategy flows: the document (settings, nodes, edges) validated by the Rust evaluator on every
-- write, and up to 50 saved versions per flow (the oldest goes in the transaction that adds one).
-- A version is numbered max + 1 under the flow's row lock, so numbers only ever increase.
CREATE TABLE flows (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name           text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description    text,
    status         text        NOT NULL DEFAULT 'draft',
    schema_version integer     NOT NULL DEFAULT 1,
    settings       jsonb       NOT NULL CHECK (jsonb_typeof(settings) = 'object'),
    nodes          jsonb       NOT NULL CHECK (jsonb_typeof(nodes) = 'array'),
    edges          jsonb       NOT NULL CHECK (jsonb_typeof(edges) = 'array'),
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- The list is newest updated first.
CREATE INDEX flows_user_id_idx ON flows (user_id, updated_at DESC);

CREATE TABLE flow_versions (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    flow_id            uuid        NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    version            integer     NOT NULL CHECK (version >= 1),
    change_description text,
    schema_version     integer     NOT NULL,
    settings           jsonb       NOT NULL,
    nodes              jsonb       NOT NULL,
    edges              jsonb       NOT NULL,
    node_count         integer     NOT NULL,
    edge_count         integer     NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (flow_id, version)
);

-- migrate:down
DROP TABLE flow_versions;
DROP TABLE flows;
