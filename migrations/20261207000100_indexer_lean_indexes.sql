-- migrate:up
-- Fewer indexes for the indexer to keep up to date on every ingested row (each costs PostgreSQL
-- about as much as the row itself). What they served is reached by indexes that stay:
-- - a transaction's token transfers by (block_number, tx_index) on the transfers' primary key,
--   not by tx_hash;
-- - transfers by contract: no query reads them that way;
-- - an address's transfers (balances, recent transfers) along its transactions in
--   `evm_address_transactions`, which names both parties of every transfer, not by sender and
--   recipient indexes of their own;
-- - a reorg's rollback deletes address rows by the addresses the orphaned transactions and
--   transfers name, and token prices by the priced tokens, both on their primary keys, instead of
--   scanning an index on block_number.
DROP INDEX evm_token_transfers_tx;
DROP INDEX evm_token_transfers_contract;
DROP INDEX evm_address_transactions_block;
DROP INDEX evm_token_prices_block;
DROP INDEX evm_token_transfers_from;
DROP INDEX evm_token_transfers_to;

-- migrate:down
CREATE INDEX evm_token_transfers_to ON evm_token_transfers (to_address, block_number DESC);
CREATE INDEX evm_token_transfers_from ON evm_token_transfers (from_address, block_number DESC);
CREATE INDEX evm_token_prices_block ON evm_token_prices (block_number);
CREATE INDEX evm_address_transactions_block ON evm_address_transactions (block_number);
CREATE INDEX evm_token_transfers_contract
    ON evm_token_transfers (contract_address, block_number DESC, log_index DESC);
CREATE INDEX evm_token_transfers_tx ON evm_token_transfers (tx_hash);
