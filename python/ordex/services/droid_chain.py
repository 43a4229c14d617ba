"""The droid's view of the chain: pool state, the LP positions a wallet owns, and signed
transactions to the NonfungiblePositionManager.

Transactions are signed locally (eth-account, EIP-1559) and sent raw, so this works against any
node. `prepare` signs without sending: the controller records the signed transaction (hash, nonce,
raw bytes) before `broadcast` sends it, so after a crash it can look the transaction up or send the
very same bytes again (the nonce makes a second inclusion impossible).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.contract import AsyncContract
from web3.exceptions import TransactionNotFound

MAX_UINT128 = (1 << 128) - 1
MAX_UINT256 = (1 << 256) - 1
GWEI = 10**9
# Percentiles of recent priority fees for txPriority 0 (low), 1 (normal), 2 (high).
PRIORITY_PERCENTILES = (10.0, 50.0, 90.0)
# Gas limits by kind, generous for the position manager's worst cases (a mint that initialises
# both ticks); unused gas is not paid. A dry run (eth_call) catches a revert before signing.
GAS_LIMITS = {
    "approve": 100_000,
    "mint": 700_000,
    "decrease": 350_000,
    "collect": 250_000,
    "burn": 150_000,
    "wrap": 80_000,
    "swap": 300_000,
}
DEADLINE_SECONDS = 3600


@cache
def load_abi(name: str) -> list[dict[str, Any]]:
    """A contract ABI from the compiled artifacts web3-ethereum-defi ships (without importing
    the dev chain, which pulls in the EVM)."""
    import eth_defi

    path = Path(eth_defi.__file__).parent / "abi" / f"{name}.json"
    abi: list[dict[str, Any]] = json.loads(path.read_text())["abi"]
    return abi


_NPM = "uniswap_v3/NonfungiblePositionManager"
_POOL = "uniswap_v3/UniswapV3Pool"
_ERC20 = "ERC20MockDecimals"
_WETH = "sushi/WETH9Mock"
_ROUTER = "uniswap_v3/SwapRouter"


class TxFailed(RuntimeError):
    """A transaction could not be sent, or was mined and reverted."""


@dataclass(frozen=True, slots=True)
class PoolState:
    sqrt_price_x96: int
    tick: int
    liquidity: int


@dataclass(frozen=True, slots=True)
class Position:
    token_id: int
    token0: str
    token1: str
    fee: int
    tick_lower: int
    tick_upper: int
    liquidity: int
    owed0: int
    owed1: int


@dataclass(frozen=True, slots=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    base_fee: int

    @property
    def price(self) -> int:
        """The gas price the transaction pays at most in the next block (base + tip)."""
        return self.base_fee + self.max_priority_fee_per_gas


@dataclass(frozen=True, slots=True)
class SignedTx:
    kind: str
    nonce: int
    gas: int
    tx_hash: str
    raw: bytes
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Receipt:
    tx_hash: str
    status: int
    block_number: int
    gas_used: int
    effective_gas_price: int
    logs: list[Any]

    @property
    def fee_wei(self) -> int:
        return self.gas_used * self.effective_gas_price


class DroidChain:
    """One wallet acting on one NonfungiblePositionManager over JSON-RPC."""

    def __init__(self, rpc_url: str, npm_address: str, private_key: str) -> None:
        # No middleware: the default validation asks the node for its chain id on every call.
        self.w3 = AsyncWeb3(
            AsyncHTTPProvider(rpc_url, request_kwargs={"timeout": 30}), middleware=[]
        )
        self.account: LocalAccount = Account.from_key(private_key)
        self.wallet = self.account.address
        self._contracts: dict[tuple[str, str], AsyncContract] = {}
        self.npm: AsyncContract = self._contract(_NPM, npm_address)
        self._chain_id: int | None = None

    def _contract(self, artifact: str, address: str) -> AsyncContract:
        key = (artifact, address.lower())
        contract = self._contracts.get(key)
        if contract is None:
            contract = self.w3.eth.contract(
                address=AsyncWeb3.to_checksum_address(address), abi=load_abi(artifact)
            )
            self._contracts[key] = contract
        return contract

    async def close(self) -> None:
        provider = self.w3.provider
        if isinstance(provider, AsyncHTTPProvider):
            await provider.disconnect()

    # -- reads --------------------------------------------------------------------------------

    async def pool_state(self, pool_address: str) -> PoolState:
        pool = self._contract(_POOL, pool_address)
        slot0 = await pool.functions.slot0().call()
        liquidity = await pool.functions.liquidity().call()
        return PoolState(int(slot0[0]), int(slot0[1]), int(liquidity))

    async def positions(self, token0: str, token1: str, fee: int) -> list[Position]:
        """Every LP NFT the wallet owns in the pool (token0, token1, fee), by token id."""
        count = int(await self.npm.functions.balanceOf(self.wallet).call())
        out: list[Position] = []
        for index in range(count):
            token_id = int(await self.npm.functions.tokenOfOwnerByIndex(self.wallet, index).call())
            position = await self.position(token_id)
            if (position.token0.lower(), position.token1.lower(), position.fee) == (
                token0.lower(),
                token1.lower(),
                fee,
            ):
                out.append(position)
        return sorted(out, key=lambda p: p.token_id)

    async def position(self, token_id: int) -> Position:
        p = await self.npm.functions.positions(token_id).call()
        return Position(
            token_id=token_id,
            token0=str(p[2]),
            token1=str(p[3]),
            fee=int(p[4]),
            tick_lower=int(p[5]),
            tick_upper=int(p[6]),
            liquidity=int(p[7]),
            owed0=int(p[10]),
            owed1=int(p[11]),
        )

    async def owner_of(self, token_id: int) -> str | None:
        """The NFT's owner, None once burned."""
        try:
            return str(await self.npm.functions.ownerOf(token_id).call())
        except Exception:
            return None

    async def collectable(self, token_id: int) -> tuple[int, int]:
        """Fees (and withdrawn amounts) a collect would pay now: a static call as the owner."""
        result = await self.npm.functions.collect(
            (token_id, self.wallet, MAX_UINT128, MAX_UINT128)
        ).call({"from": self.wallet})
        return int(result[0]), int(result[1])

    async def token_balance(self, token: str) -> int:
        return int(await self._contract(_ERC20, token).functions.balanceOf(self.wallet).call())

    async def allowance(self, token: str, spender: str | None = None) -> int:
        contract = self._contract(_ERC20, token)
        owner_spender = (self.wallet, spender or self.npm.address)
        return int(await contract.functions.allowance(*owner_spender).call())

    async def token_symbol(self, token: str) -> str:
        try:
            return str(await self._contract(_ERC20, token).functions.symbol().call())
        except Exception:
            return ""

    async def eth_balance(self) -> int:
        return int(await self.w3.eth.get_balance(self.wallet))

    async def nonce(self, block: str = "pending") -> int:
        return int(await self.w3.eth.get_transaction_count(self.wallet, block))  # type: ignore[arg-type]

    async def fees(self, priority: int) -> Fees:
        """EIP-1559 fees: the pending base fee and the priority fee at txPriority's percentile."""
        index = max(0, min(priority, len(PRIORITY_PERCENTILES) - 1))
        history = await self.w3.eth.fee_history(5, "latest", list(PRIORITY_PERCENTILES))
        base_fee = int(history["baseFeePerGas"][-1])
        rewards = [int(r[index]) for r in history.get("reward", []) if r]
        tip = sorted(rewards)[len(rewards) // 2] if rewards else GWEI
        return Fees(
            max_fee_per_gas=2 * base_fee + tip, max_priority_fee_per_gas=tip, base_fee=base_fee
        )

    # -- transactions --------------------------------------------------------------------------

    async def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(await self.w3.eth.chain_id)
        return self._chain_id

    async def prepare(
        self,
        kind: str,
        to: str,
        data: str,
        fees: Fees,
        nonce: int,
        params: dict[str, Any],
        value: int = 0,
    ) -> SignedTx:
        """Dry-runs and signs; nothing is sent."""
        gas = GAS_LIMITS[kind]
        call = {
            "from": self.wallet,
            "to": AsyncWeb3.to_checksum_address(to),
            "data": data,
            "gas": gas,
            "value": value,
        }
        try:
            await self.w3.eth.call(call)  # type: ignore[arg-type]
        except Exception as exc:
            raise TxFailed(f"{kind}: the dry run reverted: {exc}") from exc
        tx = {
            "type": 2,
            "chainId": await self.chain_id(),
            "nonce": nonce,
            "to": call["to"],
            "data": data,
            "value": value,
            "gas": gas,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
        }
        signed = self.account.sign_transaction(tx)
        return SignedTx(
            kind=kind,
            nonce=nonce,
            gas=int(tx["gas"]),
            tx_hash="0x" + bytes(signed.hash).hex(),
            raw=bytes(signed.raw_transaction),
            params=params,
        )

    async def broadcast(self, raw: bytes) -> None:
        """Sends signed bytes; a node that already has them is not an error."""
        try:
            await self.w3.eth.send_raw_transaction(raw)
        except Exception as exc:
            text = str(exc).lower()
            if "already known" in text or "known transaction" in text or "already" in text:
                return
            raise TxFailed(f"send failed: {exc}") from exc

    async def receipt(self, tx_hash: str) -> Receipt | None:
        try:
            r = await self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None
        if r is None:
            return None
        return Receipt(
            tx_hash=tx_hash,
            status=int(r["status"]),
            block_number=int(r["blockNumber"]),
            gas_used=int(r["gasUsed"]),
            effective_gas_price=int(r.get("effectiveGasPrice") or 0),
            logs=list(r["logs"]),
        )

    async def wait_receipt(self, tx_hash: str, within_seconds: float = 60.0) -> Receipt | None:
        deadline = time.monotonic() + within_seconds
        delay = 0.05
        while True:
            receipt = await self.receipt(tx_hash)
            if receipt is not None or time.monotonic() > deadline:
                return receipt
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    # -- calldata ------------------------------------------------------------------------------

    def approve_data(self, token: str, spender: str | None = None) -> str:
        contract = self._contract(_ERC20, token)
        return str(contract.encode_abi("approve", args=[spender or self.npm.address, MAX_UINT256]))

    def wrap_data(self, weth: str) -> str:
        return str(self._contract(_WETH, weth).encode_abi("deposit", args=[]))

    def swap_data(
        self, router: str, token_in: str, token_out: str, fee: int, amount_out: int, max_in: int
    ) -> str:
        """SwapRouter.exactOutputSingle: exactly `amount_out` for at most `max_in`."""
        deadline = int(time.time()) + DEADLINE_SECONDS
        params = (
            AsyncWeb3.to_checksum_address(token_in),
            AsyncWeb3.to_checksum_address(token_out),
            fee,
            self.wallet,
            deadline,
            amount_out,
            max_in,
            0,
        )
        return str(self._contract(_ROUTER, router).encode_abi("exactOutputSingle", args=[params]))

    def mint_data(
        self,
        token0: str,
        token1: str,
        fee: int,
        tick_lower: int,
        tick_upper: int,
        amount0: int,
        amount1: int,
    ) -> str:
        deadline = int(time.time()) + DEADLINE_SECONDS
        params = (
            AsyncWeb3.to_checksum_address(token0),
            AsyncWeb3.to_checksum_address(token1),
            fee,
            tick_lower,
            tick_upper,
            amount0,
            amount1,
            0,
            0,
            self.wallet,
            deadline,
        )
        return str(self.npm.encode_abi("mint", args=[params]))

    def decrease_data(self, token_id: int, liquidity: int) -> str:
        deadline = int(time.time()) + DEADLINE_SECONDS
        return str(
            self.npm.encode_abi("decreaseLiquidity", args=[(token_id, liquidity, 0, 0, deadline)])
        )

    def collect_data(self, token_id: int) -> str:
        return str(
            self.npm.encode_abi("collect", args=[(token_id, self.wallet, MAX_UINT128, MAX_UINT128)])
        )

    def burn_data(self, token_id: int) -> str:
        return str(self.npm.encode_abi("burn", args=[token_id]))

    def minted(self, receipt: Receipt) -> tuple[int, int, int, int] | None:
        """(token id, liquidity, amount0, amount1) from a mint's IncreaseLiquidity event."""
        for log in receipt.logs:
            if AsyncWeb3.to_checksum_address(log["address"]) != self.npm.address:
                continue
            try:
                event = self.npm.events.IncreaseLiquidity().process_log(log)
            except Exception:
                continue
            args = event["args"]
            return (
                int(args["tokenId"]),
                int(args["liquidity"]),
                int(args["amount0"]),
                int(args["amount1"]),
            )
        return None
