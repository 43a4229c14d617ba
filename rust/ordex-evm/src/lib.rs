//! The EVM indexer's decode, off the Python interpreter: the raw answer of one JSON-RPC batch
//! (`eth_getBlockByNumber` with transactions, then `eth_getBlockReceipts`, for a range of blocks)
//! becomes the rows the ingest writes, as PostgreSQL binary COPY payloads.
//!
//! It mirrors the Python decode (`ordex.services.indexer`, `indexer_decode`) exactly and accepts
//! only canonical answers: anything else (an error answer, a missing block, a field that is not
//! `0x`-prefixed hex of the expected size, a range that does not link up) is `Decoded::Fallback`,
//! and the caller runs the Python decode, which is the reference and raises what it raises.

pub mod bigint;
mod copy;
mod decode;
mod hex;
mod pgcopy;
pub mod prices;
pub mod usd;

pub use copy::{encode_rows, price_and_encode, BlockPrices, EncodeError, Encoded};
pub use decode::{decode_range, Block, DecodedRange, PoolEvent, PoolEventKind, Transfer, Tx};

/// Why an answer was left to the Python decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback(pub String);

pub type Address = [u8; 20];
pub type Hash = [u8; 32];
