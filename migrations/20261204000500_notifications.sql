-- migrate:up
-- Notifications (`/api/notifications`, capandex contract): written by what happens (a session or
-- flow execution starting or stopping, a fill, a venue refusing an order), filtered by the user's
-- `notification_preferences` (a `user_settings` key), listed newest first.
--
-- `type` is the contract's category (engine, trade, system); `event` the preference key that
-- produced it (engine_start, engine_stop, trade_executed, engine_error), so silencing one event
-- never hides another of the same category.
CREATE TABLE notifications (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type       text        NOT NULL CHECK (length(type) BETWEEN 1 AND 32),
    event      text        NOT NULL CHECK (length(event) BETWEEN 1 AND 64),
    title      text        NOT NULL,
    message    text        NOT NULL,
    data       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    action_url text,
    read_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The list (newest first, by type), and the unread subset that "mark all read" touches.
CREATE INDEX notifications_user_created ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_user_type_created
    ON notifications (user_id, type, created_at DESC, id DESC);
CREATE INDEX notifications_user_unread
    ON notifications (user_id, created_at DESC) WHERE read_at IS NULL;

-- migrate:down
DROP TABLE notifications;
