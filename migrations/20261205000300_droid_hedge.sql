-- migrate:up
-- Delta hedging of a droid on ordex's own perpetual markets: an optional hedge that keeps the
-- droid's net exposure to its pool's volatile token within a threshold by trading the matching
-- PERP market (WETH -> ETH-PERP, WBTC -> BTC-PERP) from the owner's trading account.
--
-- hedge_threshold is in base units of the market (ETH for ETH-PERP): no order is sent while
-- |volatile tokens held + perp position| is at most this much.
ALTER TABLE droids
    ADD COLUMN hedge_enabled   boolean NOT NULL DEFAULT false,
    ADD COLUMN hedge_market    text    REFERENCES markets (id),
    ADD COLUMN hedge_threshold numeric NOT NULL DEFAULT 0.01 CHECK (hedge_threshold >= 0),
    ADD CONSTRAINT droids_hedge_market_set CHECK (NOT hedge_enabled OR hedge_market IS NOT NULL);

-- One row per hedge order, written in the same transaction as the order itself: its client order
-- id is derived from (session, cycle), so a cycle run again after a crash finds its row and sends
-- nothing. order_id is NULL when the exchange refused the order (error says why).
CREATE TABLE droid_hedge_orders (
    client_order_id text        PRIMARY KEY,
    droid_id        bigint      NOT NULL REFERENCES droids (id) ON DELETE CASCADE,
    session_id      bigint      NOT NULL REFERENCES droid_sessions (id) ON DELETE CASCADE,
    cycle           bigint      NOT NULL,
    account_id      bigint      NOT NULL REFERENCES trading_accounts (id),
    market_id       text        NOT NULL REFERENCES markets (id),
    side            text        NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity        numeric     NOT NULL CHECK (quantity > 0),
    limit_price     numeric     NOT NULL,
    exposure        numeric     NOT NULL,
    position        numeric     NOT NULL,
    order_id        bigint,
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX droid_hedge_orders_droid ON droid_hedge_orders (droid_id, created_at DESC);

-- migrate:down
DROP TABLE droid_hedge_orders;
ALTER TABLE droids
    DROP CONSTRAINT droids_hedge_market_set,
    DROP COLUMN hedge_threshold,
    DROP COLUMN hedge_market,
    DROP COLUMN hedge_enabled;
