-- migrate:up
-- The trading workspace: dashboards, widgets, instrument-linking groups, settings, data providers.
-- Children carry their owner's id and reference (id, user_id) of their parent, so a widget can only
-- sit on its owner's dashboard and link its owner's group: ownership holds in the schema itself.
-- created_at is clock_timestamp() so rows made in one transaction (a new user's default widgets)
-- keep their creation order.

CREATE TABLE dashboards (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       text        NOT NULL,
    description text,
    layout      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    is_default  boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, user_id)
);
CREATE INDEX dashboards_user_id_idx ON dashboards (user_id, created_at);
CREATE UNIQUE INDEX dashboards_one_default_per_user ON dashboards (user_id) WHERE is_default;

CREATE TABLE groups (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    color        text        NOT NULL DEFAULT 'transparent' CHECK (color IN (
                     'transparent', '#00BCD4', '#F44336', '#9C27B0',
                     '#2196F3', '#4CAF50', '#FF9800', '#E91E63')),
    trading_pair text,
    account      text,
    exchange     text,
    market       text,
    description  text,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, user_id)
);
CREATE INDEX groups_user_id_idx ON groups (user_id, created_at);

CREATE TABLE widgets (
    id                    uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    dashboard_id          uuid        NOT NULL,
    user_id               uuid        NOT NULL,
    type                  text        NOT NULL CHECK (type IN (
                              'chart', 'orderbook', 'trades', 'orderForm', 'portfolio',
                              'userBalances', 'userTradingData', 'deals', 'transactionHistory',
                              'dataProviderSettings', 'dataProviderDebug', 'exchanges',
                              'markets', 'pairs')),
    default_title         text        NOT NULL,
    user_title            text,
    position              jsonb       NOT NULL,
    pre_collapse_position jsonb,
    config                jsonb       NOT NULL DEFAULT '{}'::jsonb,
    group_id              uuid,
    show_group_selector   boolean     NOT NULL DEFAULT true,
    is_visible            boolean     NOT NULL DEFAULT true,
    is_minimized          boolean     NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, user_id),
    FOREIGN KEY (dashboard_id, user_id) REFERENCES dashboards (id, user_id) ON DELETE CASCADE,
    -- Deleting a group unlinks its widgets and keeps them.
    FOREIGN KEY (group_id, user_id) REFERENCES groups (id, user_id) ON DELETE SET NULL (group_id)
);
CREATE INDEX widgets_dashboard_idx ON widgets (dashboard_id, user_id);
CREATE INDEX widgets_group_idx ON widgets (group_id, user_id) WHERE group_id IS NOT NULL;

CREATE TABLE user_settings (
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key        text        NOT NULL,
    value      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

CREATE TABLE widget_settings (
    widget_id  uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    settings   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (widget_id, user_id),
    FOREIGN KEY (widget_id, user_id) REFERENCES widgets (id, user_id) ON DELETE CASCADE
);

CREATE TABLE data_providers (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    type       text        NOT NULL CHECK (type IN (
                   'ccxt-browser', 'ccxt-server', 'marketmaker.cc', 'custom-server-with-adapter')),
    status     text        NOT NULL DEFAULT 'connected'
                   CHECK (status IN ('connected', 'connecting', 'disconnected', 'error')),
    exchanges  jsonb       NOT NULL DEFAULT '["*"]'::jsonb,
    priority   integer     NOT NULL DEFAULT 100,
    config     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX data_providers_user_priority_idx ON data_providers (user_id, priority, created_at);

-- One counter per user, bumped inside every transaction that changes the user's state. Its row lock
-- also serialises a user's changes, so revisions follow commit order across API processes.
CREATE TABLE user_state_revisions (
    user_id    uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    rev        bigint      NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE user_state_revisions;
DROP TABLE data_providers;
DROP TABLE widget_settings;
DROP TABLE user_settings;
DROP TABLE widgets;
DROP TABLE groups;
DROP TABLE dashboards;
