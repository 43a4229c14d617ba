-- migrate:up
-- The write path of every order: one outbox row and one order row at intake, the outbox row's
-- publication, the order's status change and two fill rows at settlement.

-- Outbox and fill rows are derived from an order row that the writing transaction has just
-- inserted (intake) or holds locked (settlement: the fills' order, account and market are that
-- order's own), so their foreign keys could never fail; each was a look-up and a row lock on the
-- referenced row per inserted row, on the two tables written most.
ALTER TABLE outbox DROP CONSTRAINT outbox_market_id_fkey;
ALTER TABLE fills
    DROP CONSTRAINT fills_market_id_fkey,
    DROP CONSTRAINT fills_order_id_fkey,
    DROP CONSTRAINT fills_account_id_fkey;

-- Every ledger entry is written in the transaction that changes the same account's balance row
-- (which keeps its own foreign key), for a market of the registry: the persister wrote one
-- entry per account, asset and kind of each batch, each with two look-ups and row locks.
-- Nothing reads the ledger by market.
ALTER TABLE ledger_entries
    DROP CONSTRAINT ledger_entries_account_id_fkey,
    DROP CONSTRAINT ledger_entries_market_id_fkey;
DROP INDEX ledger_entries_market_idx;

-- No query looks outbox rows up by market; the index only cost an entry per row and another at
-- publication (published_at is in a partial index's predicate, so that update is never HOT).
DROP INDEX outbox_market_idx;

-- The market's resting orders (the book read from the database) are all this index serves: as a
-- partial index of live orders, an order's final status change adds no entry to it.
DROP INDEX orders_market_idx;
CREATE INDEX orders_market_live_idx ON orders (market_id)
    WHERE status IN ('PENDING', 'OPEN', 'PARTIALLY_FILLED', 'UNTRIGGERED');

-- A matcher writes a snapshot of its engine every few thousand events while it matches; pglz
-- compressing the state and its window of command ids (this build has no lz4) took 1.4 s of
-- PostgreSQL's CPU while a busy matcher ran for 2 s. Out of line, uncompressed.
ALTER TABLE engine_snapshots
    ALTER COLUMN state SET STORAGE EXTERNAL,
    ALTER COLUMN recent_cmd_ids SET STORAGE EXTERNAL;

-- migrate:down
CREATE INDEX ledger_entries_market_idx ON ledger_entries (market_id);
ALTER TABLE ledger_entries
    ADD CONSTRAINT ledger_entries_account_id_fkey
        FOREIGN KEY (account_id) REFERENCES trading_accounts (id),
    ADD CONSTRAINT ledger_entries_market_id_fkey FOREIGN KEY (market_id) REFERENCES markets (id);
ALTER TABLE engine_snapshots
    ALTER COLUMN state SET STORAGE EXTENDED,
    ALTER COLUMN recent_cmd_ids SET STORAGE EXTENDED;
DROP INDEX orders_market_live_idx;
CREATE INDEX orders_market_idx ON orders (market_id);
CREATE INDEX outbox_market_idx ON outbox (market_id);
ALTER TABLE fills
    ADD CONSTRAINT fills_market_id_fkey FOREIGN KEY (market_id) REFERENCES markets (id),
    ADD CONSTRAINT fills_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id),
    ADD CONSTRAINT fills_account_id_fkey FOREIGN KEY (account_id) REFERENCES trading_accounts (id);
ALTER TABLE outbox
    ADD CONSTRAINT outbox_market_id_fkey FOREIGN KEY (market_id) REFERENCES markets (id);
