-- migrate:up
-- Live flow executions: a trading session with a flow, run by the flow worker one closed candle at
-- a time (python/ordex/workers/flow_runner.py). The flow document and the candle range are frozen
-- when the execution starts, so a restarted worker replays the same candles through the same flow
-- and reaches the same state; every order it sends is recorded under a client order id derived
-- from (execution, bar, node) in the transaction that places it, so none is sent twice.

CREATE TABLE flow_executions (
    session_id     uuid        PRIMARY KEY REFERENCES trading_sessions (id) ON DELETE CASCADE,
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    flow_id        uuid        REFERENCES flows (id) ON DELETE SET NULL,
    document       jsonb       NOT NULL,
    timeframe      text        NOT NULL,
    -- open time (ms) of the first candle fed: the warm-up starts there
    from_ms        bigint      NOT NULL,
    -- candles that close at or after it send their orders (earlier ones only warm up)
    live_from_ms   bigint      NOT NULL,
    -- progress, as of the last candle stepped
    last_bar_ms    bigint,
    bars           integer     NOT NULL DEFAULT 0,
    equity         numeric,
    open_positions integer     NOT NULL DEFAULT 0,
    error_count    integer     NOT NULL DEFAULT 0,
    last_error     text,
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX flow_executions_flow_idx ON flow_executions (flow_id);

-- Every order an execution sent (or tried to: `error`), one per (execution, bar, node).
CREATE TABLE flow_execution_orders (
    client_order_id  text        PRIMARY KEY,
    session_id       uuid        NOT NULL REFERENCES trading_sessions (id) ON DELETE CASCADE,
    bar_ms           bigint      NOT NULL,
    node             text        NOT NULL,
    side             text        NOT NULL CHECK (side IN ('buy', 'sell')),
    kind             text        NOT NULL CHECK (kind IN ('entry', 'exit')),
    quantity         numeric     NOT NULL,
    limit_price      numeric,
    reason           text        NOT NULL,
    session_order_id uuid        REFERENCES session_orders (id) ON DELETE SET NULL,
    error            text,
    -- when the candle closed (ms) and when the order was sent: the latency figure
    candle_close_ms  bigint      NOT NULL,
    sent_at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX flow_execution_orders_session_idx ON flow_execution_orders (session_id, bar_ms);

-- The execution's closed positions as its evaluator closed them (the backtest's trades).
CREATE TABLE flow_execution_trades (
    session_id  uuid    NOT NULL REFERENCES trading_sessions (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    side        text    NOT NULL,
    entry_ms    bigint  NOT NULL,
    exit_ms     bigint  NOT NULL,
    quantity    numeric NOT NULL,
    entry_price numeric NOT NULL,
    exit_price  numeric NOT NULL,
    pnl         numeric NOT NULL,
    fees        numeric NOT NULL,
    exit_reason text    NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX flow_execution_trades_exit_idx ON flow_execution_trades (session_id, exit_ms);

-- migrate:down
DROP TABLE flow_execution_trades;
DROP TABLE flow_execution_orders;
DROP TABLE flow_executions;
