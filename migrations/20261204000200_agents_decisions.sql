-- migrate:up
-- Agents, the decision journal and each user's automation config (cryptofunk-api.txt; the model is
-- design/automation.md). pgvector gives the decision journal its similarity search.
CREATE EXTENSION IF NOT EXISTS vector;

-- An agent is any process that trades through ordex (an external bot or a session's runner), named
-- per user. Its health is derived from the age of `last_seen_at` against `heartbeat_seconds`; the
-- published_* columns hold what was last broadcast as `agent_status`, so a change is published
-- once, by whichever writer (a heartbeat, the periodic check) makes it.
CREATE TABLE agents (
    user_id           uuid             NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name              text             NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    kind              text             NOT NULL DEFAULT 'external'
                                       CHECK (kind IN ('external', 'runner')),
    status            text             NOT NULL CHECK (status IN ('active', 'inactive', 'error')),
    metadata          jsonb            NOT NULL DEFAULT '{}'
                                       CHECK (jsonb_typeof(metadata) = 'object'),
    heartbeat_seconds double precision NOT NULL CHECK (heartbeat_seconds > 0),
    last_seen_at      timestamptz      NOT NULL,
    published_status  text,
    published_healthy boolean,
    created_at        timestamptz      NOT NULL DEFAULT clock_timestamp(),
    updated_at        timestamptz      NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (user_id, name)
);

-- The decision journal. `context_vector` is ordex's feature-hashed, normalised vector of the
-- numeric context (its length is CONTEXT_DIMENSIONS in services/decisions.py);
-- `prompt_embedding` is the agent's own, of any length, compared only with embeddings of the
-- same length. session_id has no foreign key: a decision outlives the session it came from.
CREATE TABLE decisions (
    id                uuid             PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           uuid             NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    agent_name        text             NOT NULL,
    session_id        uuid,
    symbol            text             NOT NULL,
    decision_type     text             NOT NULL,
    decision          text             NOT NULL,
    confidence        double precision CHECK (confidence BETWEEN 0 AND 1),
    reasoning         text,
    context           jsonb            NOT NULL DEFAULT '{}'
                                       CHECK (jsonb_typeof(context) = 'object'),
    context_vector    vector(256),
    prompt            text,
    response          text,
    prompt_embedding  vector,
    model             text,
    prompt_tokens     integer          CHECK (prompt_tokens >= 0),
    completion_tokens integer          CHECK (completion_tokens >= 0),
    latency_ms        integer          CHECK (latency_ms >= 0),
    cost              numeric,
    outcome           text             NOT NULL DEFAULT 'PENDING'
                                       CHECK (outcome IN ('SUCCESS', 'FAILURE', 'PENDING')),
    actual_pnl        numeric,
    outcome_at        timestamptz,
    created_at        timestamptz      NOT NULL DEFAULT clock_timestamp(),
    updated_at        timestamptz      NOT NULL DEFAULT clock_timestamp()
);
-- Lists and stats are the user's decisions, newest first.
CREATE INDEX decisions_user_created_idx ON decisions (user_id, created_at DESC, id DESC);
-- /similar: nearest contexts by cosine distance.
CREATE INDEX decisions_context_hnsw_idx ON decisions
    USING hnsw (context_vector vector_cosine_ops);
-- /similar?by=prompt for embeddings of the default length (1536, ORDEX_PROMPT_EMBEDDING_DIMENSIONS);
-- another configured length is answered by an exact scan unless a matching index is added.
CREATE INDEX decisions_prompt_hnsw_1536_idx ON decisions
    USING hnsw ((prompt_embedding::vector(1536)) vector_cosine_ops)
    WHERE vector_dims(prompt_embedding) = 1536;

-- The runtime settings of /api/v1/config a user has changed; the rest are the defaults in
-- services/automation_config.py. One row per user, so every API process reads the same.
CREATE TABLE automation_config (
    user_id    uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    settings   jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- migrate:down
DROP TABLE automation_config;
DROP TABLE decisions;
DROP TABLE agents;
DROP EXTENSION IF EXISTS vector;
