-- migrate:up
-- Perpetual funding: the mark worker's commands in the outbox, one settlement row per market and
-- interval (inserted with the outbox row that sends it, so it is sent once), and each account's
-- payment as the persister books the engine's `funding` event.

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('order.created', 'order.cancelled', 'engine.mark', 'engine.funding'));

-- status SENT: the funding command is in the outbox; SETTLED: the persister booked the engine's
-- `funding` event (settled_seq) in the transaction that advanced market_progress.
CREATE TABLE funding_settlements (
    market_id    text        NOT NULL REFERENCES markets (id),
    interval_end timestamptz NOT NULL,
    rate         numeric     NOT NULL,
    mark_price   numeric     NOT NULL,
    premium      numeric,
    samples      integer     NOT NULL DEFAULT 0,
    status       text        NOT NULL DEFAULT 'SENT' CHECK (status IN ('SENT', 'SETTLED')),
    outbox_id    bigint,
    settled_seq  bigint,
    house_amount numeric,
    created_at   timestamptz NOT NULL DEFAULT now(),
    settled_at   timestamptz,
    PRIMARY KEY (market_id, interval_end)
);

-- amount: what the account received (negative: paid), in the market's quote asset.
CREATE TABLE funding_payments (
    account_id   bigint      NOT NULL REFERENCES trading_accounts (id),
    market_id    text        NOT NULL REFERENCES markets (id),
    interval_end timestamptz NOT NULL,
    rate         numeric     NOT NULL,
    mark_price   numeric     NOT NULL,
    amount       numeric     NOT NULL,
    asset        text        NOT NULL,
    seq          bigint      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (market_id, interval_end, account_id)
);
CREATE INDEX funding_payments_account_idx ON funding_payments (account_id, interval_end DESC);

-- migrate:down
DROP TABLE funding_payments;
DROP TABLE funding_settlements;
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('order.created', 'order.cancelled'));
