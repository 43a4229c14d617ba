"""Answers of the EVM index routes `/api/v1/health`, `/transactions`, `/blocks`, `/tokens`
(trading-app contract, "V1")."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ordex.api.schemas import API_ERRORS, ApiErrorOut

V1_ERRORS: dict[int | str, dict[str, Any]] = {
    **API_ERRORS,
    404: {"model": ApiErrorOut, "description": "Not indexed (unknown, or reorged out)"},
}


class IndexerHealthOut(BaseModel):
    status: str = Field(description="ok, starting (nothing indexed yet) or degraded (no node)")
    last_indexed_block: int | None
    last_indexed_timestamp: str | None
    chain_tip_block: int | None = Field(description="eth_blockNumber of the configured node")
    ingestion_lag_seconds: float | None
    finalized_block: int | None
    reorg_count: int
    chain_id: int | None


class TokenTransferOut(BaseModel):
    contract_address: str | None
    token_symbol: str | None
    token_name: str | None
    token_standard: str = Field(description="ERC-20, ERC-721 or ERC-1155")
    from_address: str | None
    to_address: str | None
    amount_display: str = Field(
        description="amount in whole tokens with the symbol; raw units when decimals are unknown"
    )
    amount_usd: float | None
    token_id: str | None = Field(description="ERC-721/1155 id as a decimal string")


class TransactionOut(BaseModel):
    hash: str
    block_number: int
    block_timestamp: str | None
    from_address: str | None
    to_address: str | None
    value_native: str
    value_usd: float | None
    gas_used: int
    gas_price_gwei: float
    gas_fee_eth: float
    gas_fee_usd: float | None
    status: str | None = Field(description="success or failed")
    token_transfers: list[TokenTransferOut]
    price_source: str | None
    price_timestamp: str | None


class TransactionPage(BaseModel):
    data: list[TransactionOut]
    page: int
    page_size: int
    total_results: int
    total_pages: int
    next_page_url: str | None = Field(description="carries a keyset cursor: same cost at any depth")
    prev_page_url: str | None


class BlockOut(BaseModel):
    block_number: int
    block_timestamp: str | None
    transaction_count: int
    transaction_hashes: list[str]
    block_hash: str
    parent_hash: str


class TokenOut(BaseModel):
    contract_address: str
    symbol: str | None
    name: str | None
    decimals: int | None = Field(description="null when the contract has none (never guessed)")
    token_standard: str | None
    price_usd: float | None = Field(description="latest indexed USD price of one whole token")
    price_source: str | None
    price_timestamp: str | None
