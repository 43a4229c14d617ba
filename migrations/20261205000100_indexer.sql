-- migrate:up
-- The EVM indexer (`/api/v1`, `/api/devbe`): blocks, transactions with their receipts' status and
-- gas, token transfers decoded from logs, token metadata and USD prices at the block.
--
-- Addresses are 20-byte and hashes 32-byte `bytea` (half the size of hex text, so smaller indexes and
-- faster COPY); the routes format them as checksummed / 0x-hex at the edge.
--
-- No foreign keys between these tables on purpose: the worker writes a batch with COPY in one
-- transaction and removes an orphaned range (a reorg) by `block_number >= fork` in one transaction,
-- so per-row FK triggers would only slow ingest down.
--
-- Totals never come from COUNT(*): `evm_address_counters` and the counters on `evm_indexer_state`
-- are kept in the same transaction as the rows they count, and rolled back with them on a reorg.
CREATE TABLE evm_blocks (
    number        bigint      PRIMARY KEY,
    hash          bytea       NOT NULL UNIQUE,
    parent_hash   bytea       NOT NULL,
    timestamp     timestamptz NOT NULL,
    tx_count      integer     NOT NULL,
    -- ETH/USD at this block from the configured WETH/stable pool; null when no price was found.
    eth_usd       numeric,
    indexed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evm_blocks_timestamp ON evm_blocks (timestamp);

CREATE TABLE evm_transactions (
    hash                bytea       PRIMARY KEY,
    block_number        bigint      NOT NULL,
    tx_index            integer     NOT NULL,
    block_timestamp     timestamptz NOT NULL,
    from_address        bytea       NOT NULL,
    -- null for a contract creation; the created contract is `contract_address`.
    to_address          bytea,
    contract_address    bytea,
    value               numeric(78, 0) NOT NULL,
    nonce               bigint      NOT NULL,
    gas_limit           bigint      NOT NULL,
    gas_used            bigint      NOT NULL,
    effective_gas_price numeric(78, 0) NOT NULL,
    -- receipt status: 1 success, 0 reverted (null only before Byzantium).
    status              smallint,
    -- first 4 bytes of the input (the called function), null when the input is shorter.
    input_selector      bytea,
    tx_type             smallint    NOT NULL DEFAULT 0,
    transfer_count      integer     NOT NULL DEFAULT 0,
    -- USD at the block (see evm_blocks.eth_usd); null when no ETH price was known.
    eth_usd             numeric,
    value_usd           numeric,
    gas_fee_usd         numeric,
    UNIQUE (block_number, tx_index)
);
-- `/transactions` without an address pages on the UNIQUE (block_number, tx_index) index.

-- One row per token moved: ERC-20 and ERC-721 `Transfer`, ERC-1155 `TransferSingle` and one row
-- per id of a `TransferBatch` (`batch_index` is the position in the batch, 0 otherwise).
CREATE TABLE evm_token_transfers (
    block_number     bigint         NOT NULL,
    log_index        integer        NOT NULL,
    batch_index      integer        NOT NULL DEFAULT 0,
    tx_hash          bytea          NOT NULL,
    tx_index         integer        NOT NULL,
    block_timestamp  timestamptz    NOT NULL,
    contract_address bytea          NOT NULL,
    token_standard   text           NOT NULL CHECK (token_standard IN ('ERC-20', 'ERC-721', 'ERC-1155')),
    from_address     bytea          NOT NULL,
    to_address       bytea          NOT NULL,
    -- raw units (ERC-721: 1); `amount / 10^decimals` is the display amount.
    amount           numeric(78, 0) NOT NULL,
    token_id         numeric(78, 0),
    -- USD price of one whole token at the block, and the transfer's value; null when unknown.
    token_usd        numeric,
    amount_usd       numeric,
    PRIMARY KEY (block_number, log_index, batch_index)
);
CREATE INDEX evm_token_transfers_tx ON evm_token_transfers (tx_hash);
CREATE INDEX evm_token_transfers_contract
    ON evm_token_transfers (contract_address, block_number DESC, log_index DESC);
CREATE INDEX evm_token_transfers_from ON evm_token_transfers (from_address, block_number DESC);
CREATE INDEX evm_token_transfers_to ON evm_token_transfers (to_address, block_number DESC);

-- Token metadata, fetched once per contract with eth_call and retried with back-off on failure
-- (`next_retry_at`); `decimals` is null when the contract has none (never 0 by default).
CREATE TABLE evm_tokens (
    address        bytea       PRIMARY KEY,
    token_standard text        CHECK (token_standard IN ('ERC-20', 'ERC-721', 'ERC-1155')),
    name           text,
    symbol         text,
    decimals       smallint,
    fetched_at     timestamptz,
    attempts       integer     NOT NULL DEFAULT 0,
    next_retry_at  timestamptz,
    last_error     text,
    first_seen_block bigint    NOT NULL
);
CREATE INDEX evm_tokens_retry ON evm_tokens (next_retry_at) WHERE fetched_at IS NULL;
CREATE INDEX evm_tokens_first_seen ON evm_tokens (first_seen_block);

-- USD price of a whole token at a block, as used for the transfers of that block.
CREATE TABLE evm_token_prices (
    block_number  bigint  NOT NULL,
    token_address bytea   NOT NULL,
    usd_price     numeric NOT NULL,
    -- the pool it came from (null for a pinned stablecoin).
    pool_address  bytea,
    PRIMARY KEY (token_address, block_number)
);
CREATE INDEX evm_token_prices_block ON evm_token_prices (block_number);

-- Address → transaction: one row per (address, transaction) where the address is the sender, the
-- recipient, the created contract or a token transfer's from/to. Keyset paging on
-- (block_number, tx_index) in either direction.
CREATE TABLE evm_address_transactions (
    address         bytea       NOT NULL,
    block_number    bigint      NOT NULL,
    tx_index        integer     NOT NULL,
    tx_hash         bytea       NOT NULL,
    block_timestamp timestamptz NOT NULL,
    PRIMARY KEY (address, block_number, tx_index)
);
CREATE INDEX evm_address_transactions_block ON evm_address_transactions (block_number);

-- Per-address totals of `evm_address_transactions` (what `total_results` reads).
CREATE TABLE evm_address_counters (
    address  bytea  PRIMARY KEY,
    tx_count bigint NOT NULL CHECK (tx_count >= 0)
);

-- One row: where ingest stands (every stage of `last_block` committed), chain tip, global totals.
CREATE TABLE evm_indexer_state (
    id                   smallint    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    chain_id             bigint      NOT NULL,
    last_block           bigint,
    last_block_hash      bytea,
    last_block_timestamp timestamptz,
    finalized_block      bigint,
    chain_tip_block      bigint,
    chain_tip_seen_at    timestamptz,
    reorg_count          bigint      NOT NULL DEFAULT 0,
    block_count          bigint      NOT NULL DEFAULT 0,
    tx_count             bigint      NOT NULL DEFAULT 0,
    transfer_count       bigint      NOT NULL DEFAULT 0,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Reorgs repaired (for health and audit).
CREATE TABLE evm_reorgs (
    id            bigserial   PRIMARY KEY,
    detected_at   timestamptz NOT NULL DEFAULT now(),
    fork_block    bigint      NOT NULL,
    depth         integer     NOT NULL,
    old_tip_hash  bytea       NOT NULL,
    new_tip_hash  bytea       NOT NULL
);

-- migrate:down
DROP TABLE evm_reorgs;
DROP TABLE evm_indexer_state;
DROP TABLE evm_address_counters;
DROP TABLE evm_address_transactions;
DROP TABLE evm_token_prices;
DROP TABLE evm_tokens;
DROP TABLE evm_token_transfers;
DROP TABLE evm_transactions;
DROP TABLE evm_blocks;
