-- migrate:up
-- Trading sessions (cryptofunk `/api/v1/trade/*`), their orders on every venue and the fills those
-- orders got. Positions and statistics are derived from the fills; nothing here is supplied by
-- the client. (The table `sessions` holds sign-in sessions: these are `trading_sessions`.)

CREATE TABLE trading_sessions (
    id                     uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mode                   text        NOT NULL CHECK (mode IN ('PAPER', 'LIVE')),
    venue                  text        NOT NULL CHECK (venue IN ('internal', 'paper', 'live')),
    exchange               text        NOT NULL,
    market_type            text        NOT NULL DEFAULT 'spot',
    symbol                 text        NOT NULL,
    base_asset             text        NOT NULL,
    quote_asset            text        NOT NULL,
    -- live: the stored keys the session trades with (the newest of the exchange when started)
    exchange_account_id    uuid        REFERENCES exchange_accounts (id) ON DELETE SET NULL,
    initial_capital        numeric     NOT NULL CHECK (initial_capital > 0),
    status                 text        NOT NULL DEFAULT 'RUNNING'
                                       CHECK (status IN ('RUNNING', 'PAUSED', 'STOPPED')),
    flow_id                uuid        REFERENCES flows (id) ON DELETE SET NULL,
    agent                  text,
    -- The statistics as of the stop (a running session's are computed when read).
    final_capital          numeric,
    reported_final_capital numeric     CHECK (reported_final_capital >= 0),
    total_pnl              numeric,
    total_trades           integer,
    winning_trades         integer,
    losing_trades          integer,
    max_drawdown           numeric,
    max_drawdown_percent   numeric,
    sharpe_ratio           numeric,
    started_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    paused_at              timestamptz,
    stopped_at             timestamptz,
    created_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((status = 'STOPPED') = (stopped_at IS NOT NULL))
);
CREATE INDEX trading_sessions_user_idx ON trading_sessions (user_id, created_at DESC);

-- The simulated account of a paper session: `total` owned, `held` reserved by its resting orders.
CREATE TABLE session_balances (
    session_id uuid    NOT NULL REFERENCES trading_sessions (id) ON DELETE CASCADE,
    asset      text    NOT NULL,
    total      numeric NOT NULL DEFAULT 0 CHECK (total >= 0),
    held       numeric NOT NULL DEFAULT 0 CHECK (held >= 0 AND held <= total),
    PRIMARY KEY (session_id, asset)
);

-- Every order placed through `/api/v1/orders`, whatever its venue (see services/session_orders.py
-- for why these are not rows of `orders`). An `internal` order is a row of the exchange's `orders`
-- as well (`order_id`): its status and fills are the exchange's, read through session_order_view.
CREATE TABLE session_orders (
    id                      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                 uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id              uuid        REFERENCES trading_sessions (id) ON DELETE CASCADE,
    venue                   text        NOT NULL CHECK (venue IN ('internal', 'paper', 'live')),
    exchange                text        NOT NULL,
    symbol                  text        NOT NULL,
    order_id                bigint      UNIQUE REFERENCES orders (id),
    exchange_order_id       text,
    side                    text        NOT NULL CHECK (side IN ('BUY', 'SELL')),
    type                    text        NOT NULL CHECK (type IN ('MARKET', 'LIMIT', 'STOP_LOSS',
                                        'STOP_LOSS_LIMIT', 'TAKE_PROFIT', 'TAKE_PROFIT_LIMIT')),
    time_in_force           text        NOT NULL CHECK (time_in_force IN ('GTC', 'IOC', 'FOK')),
    price                   numeric     CHECK (price > 0),
    stop_price              numeric     CHECK (stop_price > 0),
    quantity                numeric     NOT NULL CHECK (quantity > 0),
    status                  text        NOT NULL DEFAULT 'NEW'
                                        CHECK (status IN ('NEW', 'PARTIALLY_FILLED', 'FILLED',
                                                          'CANCELED', 'REJECTED', 'EXPIRED')),
    triggered               boolean     NOT NULL DEFAULT false,
    executed_quantity       numeric     NOT NULL DEFAULT 0 CHECK (executed_quantity >= 0),
    executed_quote_quantity numeric     NOT NULL DEFAULT 0 CHECK (executed_quote_quantity >= 0),
    fees                    numeric     NOT NULL DEFAULT 0,
    -- paper: what the order still holds of the session's balance, and in which asset
    hold_asset              text,
    hold_amount             numeric     NOT NULL DEFAULT 0 CHECK (hold_amount >= 0),
    reason                  text,
    error_message           text,
    placed_at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    filled_at               timestamptz,
    canceled_at             timestamptz,
    expired_at              timestamptz,
    created_at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((venue = 'internal') = (order_id IS NOT NULL))
);
CREATE INDEX session_orders_user_idx ON session_orders (user_id, placed_at DESC);
CREATE INDEX session_orders_session_idx ON session_orders (session_id, placed_at DESC);
-- What the session watcher polls: paper and live orders still working on their venue.
CREATE INDEX session_orders_working_idx ON session_orders (venue, exchange, symbol, placed_at)
    WHERE venue <> 'internal' AND status IN ('NEW', 'PARTIALLY_FILLED');

-- Fills of paper and live orders (internal orders' fills are the exchange's `fills` rows).
CREATE TABLE session_fills (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_order_id  uuid        NOT NULL REFERENCES session_orders (id) ON DELETE CASCADE,
    exchange_trade_id text        NOT NULL,
    liquidity         text        NOT NULL CHECK (liquidity IN ('MAKER', 'TAKER')),
    price             numeric     NOT NULL CHECK (price > 0),
    quantity          numeric     NOT NULL CHECK (quantity > 0),
    fee               numeric     NOT NULL DEFAULT 0,
    fee_asset         text,
    executed_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- A fill reported twice by an exchange (a poll that overlaps the last one) is stored once.
    UNIQUE (session_order_id, exchange_trade_id)
);

-- A session order as the cryptofunk Order model shows it: internal orders take status, executed
-- quantities and times from the exchange's order row.
CREATE VIEW session_order_view AS
SELECT so.id, so.user_id, so.session_id, so.venue, so.exchange, so.symbol, so.order_id,
       COALESCE(so.exchange_order_id, so.order_id::text) AS exchange_order_id,
       so.side, so.type, so.time_in_force, so.price, so.stop_price, so.quantity,
       CASE WHEN so.order_id IS NULL THEN so.status
            ELSE CASE o.status WHEN 'PENDING' THEN 'NEW' WHEN 'OPEN' THEN 'NEW'
                               WHEN 'UNTRIGGERED' THEN 'NEW' WHEN 'CANCELLED' THEN 'CANCELED'
                               ELSE o.status END
       END AS status,
       so.triggered,
       CASE WHEN so.order_id IS NULL THEN so.executed_quantity ELSE o.filled_quantity END
           AS executed_quantity,
       CASE WHEN so.order_id IS NULL THEN so.executed_quote_quantity
            ELSE COALESCE(o.filled_quantity * o.average_price, 0) END AS executed_quote_quantity,
       CASE WHEN so.order_id IS NULL THEN so.fees
            ELSE (SELECT COALESCE(sum(f.fee), 0) FROM fills f WHERE f.order_id = so.order_id)
       END AS fees,
       so.hold_asset, so.hold_amount, so.reason,
       CASE WHEN so.order_id IS NULL THEN so.error_message
            ELSE COALESCE(o.reject_reason, so.error_message) END AS error_message,
       so.placed_at,
       CASE WHEN so.order_id IS NULL THEN so.filled_at
            WHEN o.status = 'FILLED' THEN o.updated_at END AS filled_at,
       CASE WHEN so.order_id IS NULL THEN so.canceled_at
            WHEN o.status = 'CANCELLED' THEN o.updated_at END AS canceled_at,
       CASE WHEN so.order_id IS NULL THEN so.expired_at
            WHEN o.status = 'EXPIRED' THEN o.updated_at END AS expired_at,
       so.created_at,
       GREATEST(so.updated_at, o.updated_at) AS updated_at
FROM session_orders so
LEFT JOIN orders o ON o.id = so.order_id;

-- Every fill of a session order, on every venue, in one shape: what positions and statistics
-- are derived from.
CREATE VIEW session_trades AS
SELECT so.user_id, so.session_id, so.id AS session_order_id, so.venue, so.exchange, so.symbol,
       so.side, so.reason, f.liquidity, f.price, f.quantity, f.fee,
       f.exchange_trade_id AS trade_key, f.executed_at, f.id AS fill_id
FROM session_fills f
JOIN session_orders so ON so.id = f.session_order_id
UNION ALL
SELECT so.user_id, so.session_id, so.id, so.venue, so.exchange, so.symbol,
       so.side, so.reason, f.liquidity, f.price, f.quantity, f.fee, f.market_id || ':' || f.seq,
       f.created_at, f.id
FROM fills f
JOIN session_orders so ON so.order_id = f.order_id;

-- migrate:down
DROP VIEW session_trades;
DROP VIEW session_order_view;
DROP TABLE session_fills;
DROP TABLE session_orders;
DROP TABLE session_balances;
DROP TABLE trading_sessions;
