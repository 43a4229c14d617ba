-- migrate:up
-- Isolated margin of perpetual positions (docs/exchange.md, "Isolated margin").
--
-- The margin mode is per account and market: CROSS (the default) or ISOLATED, kept on the
-- position's row (a flat row when set before any position). An isolated position's collateral
-- `isolated_margin` is an earmark of the account's quote balance: it stays in `balances.total`
-- (no ledger entry moves it), so the ledger still sums to the deposits; the account's cross
-- collateral is its total less the isolated margins of its positions.
ALTER TABLE positions
    ADD COLUMN margin_mode text NOT NULL DEFAULT 'CROSS'
        CHECK (margin_mode IN ('CROSS', 'ISOLATED')),
    ADD COLUMN isolated_margin numeric NOT NULL DEFAULT 0 CHECK (isolated_margin >= 0);
CREATE INDEX positions_isolated_idx ON positions (account_id) WHERE margin_mode = 'ISOLATED';

-- migrate:down
DROP INDEX positions_isolated_idx;
ALTER TABLE positions DROP COLUMN isolated_margin, DROP COLUMN margin_mode;
