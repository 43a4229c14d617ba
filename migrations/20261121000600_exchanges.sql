-- migrate:up
-- The exchanges the platform offers for market data and keys (`GET /api/exchanges`): display name,
-- ccxt class id, whether it is offered, and its place in lists. `ordex` is the platform's own
-- markets, served through the same market-data routes.
CREATE TABLE exchanges (
    id         text        PRIMARY KEY CHECK (id ~ '^[a-z0-9_]{1,50}$'),
    name       text        NOT NULL,
    ccxt_id    text        NOT NULL,
    is_active  boolean     NOT NULL DEFAULT true,
    sort_order integer     NOT NULL DEFAULT 100,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX exchanges_active_order_idx ON exchanges (sort_order, id) WHERE is_active;

INSERT INTO exchanges (id, name, ccxt_id, is_active, sort_order) VALUES
    ('binance',  'Binance',  'binance',  true, 1),
    ('okx',      'OKX',      'okx',      true, 2),
    ('bybit',    'Bybit',    'bybit',    true, 3),
    ('mexc',     'MEXC',     'mexc',     true, 4),
    ('coinbase', 'Coinbase', 'coinbase', true, 5),
    ('kraken',   'Kraken',   'kraken',   true, 6),
    ('ordex',    'ordex',    'ordex',    true, 0);

-- migrate:down
DROP TABLE exchanges;
