-- migrate:up
-- Manual orders (`/api/orders`, trading-app contract).

-- A GTD order's expiry as the trading-app orders show it (`expiresAt`). The engine gets the same
-- instant in milliseconds (`expire_at` of the place command); the row keeps it so that reading the
-- order back does not need the command. Written in the transaction that inserts the order; NULL
-- for every order that is not GTD.
ALTER TABLE orders ADD COLUMN expires_at timestamptz;

-- The persister's progress, announced as it commits: `pg_notify('market_progress',
-- '{market}:{last_seq}')` once per applied batch (delivered at commit, so a listener learns
-- exactly when a batch's effects are visible). An API process waiting for the engine's answer to
-- a manual order listens while it waits, instead of polling the database.
-- Only while someone listens: a notifying transaction holds PostgreSQL's notify lock through its
-- commit, and the persister's commits must not queue behind the intake's when nobody waits. A
-- listening process keeps a row here (a lease it renews, deleted when it stops listening).
CREATE TABLE market_progress_listeners (
    id         uuid        PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

CREATE FUNCTION notify_market_progress() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM market_progress_listeners WHERE expires_at > now()) THEN
        PERFORM pg_notify('market_progress', NEW.market_id || ':' || NEW.last_seq);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER market_progress_notify
    AFTER UPDATE OF last_seq ON market_progress
    FOR EACH ROW WHEN (NEW.last_seq > OLD.last_seq)
    EXECUTE FUNCTION notify_market_progress();

-- migrate:down
DROP TRIGGER market_progress_notify ON market_progress;
DROP FUNCTION notify_market_progress();
DROP TABLE market_progress_listeners;
ALTER TABLE orders DROP COLUMN expires_at;
