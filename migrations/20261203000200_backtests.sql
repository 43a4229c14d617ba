-- migrate:up
-- Candles downloaded from outside exchanges, kept so a backtest over a range already fetched makes
-- no network call. Only closed candles are stored; a candle is never rewritten once stored.
-- open_time is the candle's opening time in milliseconds since the epoch (ccxt's and the
-- evaluator's unit).
CREATE TABLE candles (
    exchange  text    NOT NULL,
    symbol    text    NOT NULL,
    timeframe text    NOT NULL,
    open_time bigint  NOT NULL,
    open      numeric NOT NULL,
    high      numeric NOT NULL,
    low       numeric NOT NULL,
    close     numeric NOT NULL,
    volume    numeric NOT NULL,
    PRIMARY KEY (exchange, symbol, timeframe, open_time)
);

-- The open times [from, to) fetched completely per series: a range in here is answered from
-- `candles` alone, even where the exchange had no candle (a halt, a gap before a listing).
CREATE TABLE candle_ranges (
    exchange   text           NOT NULL,
    symbol     text           NOT NULL,
    timeframe  text           NOT NULL,
    fetched    int8multirange NOT NULL,
    updated_at timestamptz    NOT NULL DEFAULT now(),
    PRIMARY KEY (exchange, symbol, timeframe)
);

-- A backtest keeps the flow document it ran (settings overrides included), so it stays readable
-- and reproducible after the flow is edited or deleted: deleting a flow only unlinks its
-- backtests (SET NULL) instead of erasing the user's results.
CREATE TABLE backtests (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    flow_id       uuid        REFERENCES flows (id) ON DELETE SET NULL,
    exchange      text        NOT NULL,
    symbol        text        NOT NULL,
    timeframe     text        NOT NULL,
    start_date    timestamptz NOT NULL,
    end_date      timestamptz NOT NULL,
    status        text        NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    flow_snapshot jsonb       NOT NULL,
    metrics       jsonb       NOT NULL,
    equity_curve  jsonb       NOT NULL,
    bars          integer     NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (end_date > start_date)
);
CREATE INDEX backtests_user_idx ON backtests (user_id, created_at DESC);
-- The flowId filter, and the SET NULL when a flow is deleted.
CREATE INDEX backtests_flow_idx ON backtests (flow_id, created_at DESC);

CREATE TABLE backtest_trades (
    backtest_id uuid        NOT NULL REFERENCES backtests (id) ON DELETE CASCADE,
    seq         integer     NOT NULL,
    side        text        NOT NULL CHECK (side IN ('long', 'short')),
    entry_time  timestamptz NOT NULL,
    exit_time   timestamptz NOT NULL,
    entry_bar   integer     NOT NULL,
    exit_bar    integer     NOT NULL,
    quantity    numeric     NOT NULL,
    entry_price numeric     NOT NULL,
    exit_price  numeric     NOT NULL,
    pnl         numeric     NOT NULL,
    fees        numeric     NOT NULL,
    exit_reason text        NOT NULL,
    PRIMARY KEY (backtest_id, seq)
);

-- migrate:down
DROP TABLE backtest_trades;
DROP TABLE backtests;
DROP TABLE candle_ranges;
DROP TABLE candles;
