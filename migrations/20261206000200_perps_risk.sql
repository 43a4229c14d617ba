-- migrate:up
-- Liquidation, the insurance fund and auto-deleveraging of perpetual positions (docs/exchange.md,
-- "Liquidation, insurance fund and ADL").
--
-- The insurance fund is trading account 2, an account of the house like account 1: it receives
-- the liquidation fees and covers what a liquidated account still owes, so every asset's ledger
-- keeps summing to the deposits.
ALTER TABLE trading_accounts
    DROP CONSTRAINT trading_accounts_kind_check,
    DROP CONSTRAINT trading_accounts_check,
    ADD CONSTRAINT trading_accounts_kind_check CHECK (kind IN ('USER', 'HOUSE', 'INSURANCE')),
    ADD CONSTRAINT trading_accounts_check CHECK ((kind IN ('HOUSE', 'INSURANCE')) = (user_id IS NULL));

INSERT INTO trading_accounts (id, kind) VALUES (2, 'INSURANCE') ON CONFLICT (id) DO NOTHING;
DO $$
BEGIN
    IF (SELECT kind FROM trading_accounts WHERE id = 2) <> 'INSURANCE' THEN
        RAISE EXCEPTION 'trading account 2 is taken: the insurance fund needs it';
    END IF;
END
$$;
SELECT setval(pg_get_serial_sequence('trading_accounts', 'id'),
              greatest(2, (SELECT max(id) FROM trading_accounts)));

-- LIQUIDATION_FEE: from a liquidated account to the fund; INSURANCE: from the fund to an account
-- left below zero; ADL: realized PnL of a deleveraged position (against the house, as a fill's).
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN (
    'DEPOSIT', 'WITHDRAWAL', 'TRADE', 'FEE', 'REALIZED_PNL', 'FUNDING', 'LIQUIDATION_FEE',
    'INSURANCE', 'ADL'));

ALTER TABLE markets
    ADD COLUMN liquidation_fee_rate numeric NOT NULL DEFAULT 0.005
        CHECK (liquidation_fee_rate >= 0 AND liquidation_fee_rate < 1);

-- A liquidation order is an order of the liquidated account sent by the risk worker.
ALTER TABLE orders ADD COLUMN liquidation boolean NOT NULL DEFAULT false;

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN (
    'order.created', 'order.cancelled', 'engine.mark', 'engine.funding', 'order.liquidation',
    'engine.deleverage'));

-- One row per liquidation of a position: written by the risk worker with the liquidation order
-- (same transaction), `seq` set by the persister when the engine's `liquidation` event is
-- applied. ACTIVE until the worker has seen the order finished; DELEVERAGING while the
-- deleveraging of a remainder (`deleveraged`, the position then `remaining`) is in flight; DONE.
-- At most one not DONE per account and market, so a restarted worker never liquidates a
-- position twice while one is in flight.
CREATE TABLE liquidations (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id          bigint      NOT NULL UNIQUE REFERENCES orders (id),
    account_id        bigint      NOT NULL REFERENCES trading_accounts (id),
    market_id         text        NOT NULL REFERENCES markets (id),
    side              text        NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity          numeric     NOT NULL CHECK (quantity > 0),
    mark_price        numeric     NOT NULL,
    limit_price       numeric     NOT NULL,
    bankruptcy_price  numeric     NOT NULL,
    equity            numeric     NOT NULL,
    maintenance       numeric     NOT NULL,
    status            text        NOT NULL DEFAULT 'ACTIVE'
                                  CHECK (status IN ('ACTIVE', 'DELEVERAGING', 'DONE')),
    deleveraged       numeric     NOT NULL DEFAULT 0,
    remaining         numeric,
    seq               bigint,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX liquidations_active_key ON liquidations (account_id, market_id)
    WHERE status <> 'DONE';
CREATE INDEX liquidations_account_idx ON liquidations (account_id, id DESC);

-- One row per applied `adl` event: `account`'s position reduced on `side`, the counterparty's
-- opposite one by the same quantity, at the bankruptcy price.
CREATE TABLE adl_events (
    market_id             text        NOT NULL REFERENCES markets (id),
    seq                   bigint      NOT NULL,
    account_id            bigint      NOT NULL REFERENCES trading_accounts (id),
    counterparty_id       bigint      NOT NULL REFERENCES trading_accounts (id),
    side                  text        NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity              numeric     NOT NULL,
    price                 numeric     NOT NULL,
    realized_pnl          numeric     NOT NULL,
    counterparty_realized numeric     NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (market_id, seq)
);
CREATE INDEX adl_events_account_idx ON adl_events (account_id);
CREATE INDEX adl_events_counterparty_idx ON adl_events (counterparty_id);

-- migrate:down
DROP TABLE adl_events;
DROP TABLE liquidations;
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN (
    'order.created', 'order.cancelled', 'engine.mark', 'engine.funding'));
ALTER TABLE orders DROP COLUMN liquidation;
ALTER TABLE markets DROP COLUMN liquidation_fee_rate;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN (
    'DEPOSIT', 'WITHDRAWAL', 'TRADE', 'FEE', 'REALIZED_PNL', 'FUNDING'));
DELETE FROM balances WHERE account_id = 2;
DELETE FROM trading_accounts WHERE id = 2 AND kind = 'INSURANCE';
ALTER TABLE trading_accounts
    DROP CONSTRAINT trading_accounts_kind_check,
    DROP CONSTRAINT trading_accounts_check,
    ADD CONSTRAINT trading_accounts_kind_check CHECK (kind IN ('USER', 'HOUSE')),
    ADD CONSTRAINT trading_accounts_check CHECK ((kind = 'HOUSE') = (user_id IS NULL));
