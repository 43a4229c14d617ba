"""Deterministic deployment of the dev chain's tokens and Uniswap v3, with seeded pools.

Every contract comes from the deployer (account 0) in a fixed order, so its address (nonce-based
CREATE, and CREATE2 for the pools) is the same on every start.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from eth_typing import HexStr
from web3 import Web3
from web3.contract import Contract

MAX_UINT256 = 2**256 - 1
ETH_USD = 3000
BTC_USD = 60_000
MKR_USD = 1500
# Full-range ticks for each fee tier's tick spacing.
TICK_SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}
MIN_TICK = -887272
MAX_TICK = 887272
# Accounts 1..TRADER_COUNT are funded with every token for the simulated traffic.
TRADER_COUNT = 4
# A fixed gas limit for set-up transactions skips an estimate (a second execution) per call.
DEPLOY_GAS = 12_000_000


@dataclass(frozen=True)
class TokenSpec:
    key: str
    name: str
    symbol: str
    decimals: int | None  # None: no decimals() at all
    kind: str  # "mock" (ERC20MockDecimals), "bytes32", "nodecimals"
    usd: float  # reference price used to seed the pools


TOKENS: tuple[TokenSpec, ...] = (
    TokenSpec("usdc", "USD Coin", "USDC", 6, "mock", 1.0),
    TokenSpec("usdt", "Tether USD", "USDT", 6, "mock", 1.0),
    TokenSpec("dai", "Dai Stablecoin", "DAI", 18, "mock", 1.0),
    TokenSpec("wbtc", "Wrapped BTC", "WBTC", 8, "mock", BTC_USD),
    TokenSpec("mkr", "Maker", "MKR", 18, "bytes32", MKR_USD),
    TokenSpec("nodecimals", "No Decimals Token", "NODEC", None, "nodecimals", 0.0),
)
STABLECOINS = ("usdc", "usdt", "dai")


@dataclass(frozen=True)
class PoolSpec:
    key: str
    token_a: str
    token_b: str
    fee: int
    # Human amount of token_a put in; token_b follows from the reference prices.
    amount_a: int


POOLS: tuple[PoolSpec, ...] = (
    PoolSpec("weth_usdc_3000", "weth", "usdc", 3000, 2_000),
    PoolSpec("weth_dai_3000", "weth", "dai", 3000, 500),
    PoolSpec("usdc_dai_500", "usdc", "dai", 500, 1_000_000),
    PoolSpec("wbtc_weth_3000", "wbtc", "weth", 3000, 50),
    PoolSpec("mkr_weth_3000", "mkr", "weth", 3000, 1_000),
)


@dataclass
class PoolInfo:
    key: str
    address: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "token0": self.token0,
            "token1": self.token1,
            "fee": self.fee,
            "tick_spacing": self.tick_spacing,
        }


@dataclass
class Deployment:
    contracts: dict[str, str] = field(default_factory=dict)
    pools: dict[str, PoolInfo] = field(default_factory=dict)
    decimals: dict[str, int | None] = field(default_factory=dict)


@cache
def load_artifact(name: str) -> dict[str, Any]:
    """An artifact by name: ours under `artifacts/`, else eth_defi's shipped `abi/` files."""
    own = resources.files("ordex.devchain") / "artifacts" / f"{name}.json"
    if own.is_file():
        data: dict[str, Any] = json.loads(own.read_text())
        return data
    import eth_defi

    path = Path(eth_defi.__file__).parent / "abi" / f"{name}.json"
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def contract_at(w3: Web3, artifact: str, address: str) -> Contract:
    return w3.eth.contract(
        address=Web3.to_checksum_address(address), abi=load_artifact(artifact)["abi"]
    )


def _deploy(w3: Web3, deployer: str, artifact: str, *args: Any, bytecode: str | None = None) -> str:
    data = load_artifact(artifact)
    code = bytecode or data["bytecode"]
    if isinstance(code, dict):
        code = code["object"]
    factory = w3.eth.contract(abi=data["abi"], bytecode=code)
    tx_hash = factory.constructor(*args).transact({"from": deployer, "gas": DEPLOY_GAS})
    receipt = w3.eth.get_transaction_receipt(tx_hash)
    if receipt["status"] != 1:
        raise RuntimeError(f"deploying {artifact} failed")
    return str(receipt["contractAddress"])


def _send(w3: Web3, fn: Any, sender: str, value: int = 0) -> Any:
    tx_hash = fn.transact({"from": sender, "value": value, "gas": DEPLOY_GAS})
    receipt = w3.eth.get_transaction_receipt(tx_hash)
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction {tx_hash.hex()} reverted")
    return receipt


def sqrt_price_x96(raw_price: float | tuple[int, int]) -> int:
    """sqrt(token1 raw units per token0 raw unit) in Q64.96; a tuple is an exact (num, den)."""
    if isinstance(raw_price, tuple):
        num, den = raw_price
        return math.isqrt(num * 2**192 // den)
    return int(math.sqrt(raw_price) * 2**96)


def _raw(amount: float, decimals: int) -> int:
    return int(Decimal(str(amount)) * (Decimal(10) ** decimals))


def deploy_all(w3: Web3, accounts: list[str]) -> Deployment:
    from eth_defi.uniswap_v3.constants import UNISWAP_V3_FACTORY_DEPLOYMENT_DATA

    deployer = accounts[0]
    out = Deployment()
    c = out.contracts

    c["weth"] = _deploy(w3, deployer, "sushi/WETH9Mock")
    out.decimals["weth"] = 18
    supply_human = 10**12
    for spec in TOKENS:
        if spec.kind == "mock":
            assert spec.decimals is not None
            c[spec.key] = _deploy(
                w3,
                deployer,
                "ERC20MockDecimals",
                spec.name,
                spec.symbol,
                supply_human * 10**spec.decimals,
                spec.decimals,
            )
        elif spec.kind == "bytes32":
            c[spec.key] = _deploy(
                w3,
                deployer,
                "Bytes32Token",
                spec.name.encode().ljust(32, b"\0"),
                spec.symbol.encode().ljust(32, b"\0"),
                supply_human * 10**18,
            )
        else:
            c[spec.key] = _deploy(
                w3, deployer, "NoDecimalsToken", spec.name, spec.symbol, supply_human * 10**18
            )
        out.decimals[spec.key] = spec.decimals
    c["nft"] = _deploy(w3, deployer, "DevNFT", "Ordex Dev Punks", "ODP")
    c["multi"] = _deploy(w3, deployer, "DevMultiToken")

    # Uniswap v3: the factory from mainnet's deployment data, the periphery from its artifacts.
    tx_hash = w3.eth.send_transaction(
        {"from": deployer, "data": HexStr(UNISWAP_V3_FACTORY_DEPLOYMENT_DATA), "gas": DEPLOY_GAS}
    )
    c["uniswap_v3_factory"] = str(w3.eth.get_transaction_receipt(tx_hash)["contractAddress"])
    c["nft_descriptor_library"] = _deploy(w3, deployer, "uniswap_v3/NFTDescriptor")
    descriptor = load_artifact("uniswap_v3/NonfungibleTokenPositionDescriptor")
    linked = descriptor["bytecode"].replace(
        "__$cea9be979eee3d87fb124d6cbb244bb0b5$__", c["nft_descriptor_library"][2:].lower()
    )
    c["nft_position_descriptor"] = _deploy(
        w3,
        deployer,
        "uniswap_v3/NonfungibleTokenPositionDescriptor",
        c["weth"],
        b"ETH".ljust(32, b"\0"),
        bytecode=linked,
    )
    c["nonfungible_position_manager"] = _deploy(
        w3,
        deployer,
        "uniswap_v3/NonfungiblePositionManager",
        c["uniswap_v3_factory"],
        c["weth"],
        c["nft_position_descriptor"],
    )
    c["swap_router"] = _deploy(
        w3, deployer, "uniswap_v3/SwapRouter", c["uniswap_v3_factory"], c["weth"]
    )
    c["quoter"] = _deploy(w3, deployer, "uniswap_v3/Quoter", c["uniswap_v3_factory"], c["weth"])

    # Wrap ETH for the deployer's liquidity, approve the position manager once per token.
    weth = contract_at(w3, "sushi/WETH9Mock", c["weth"])
    _send(w3, weth.functions.deposit(), deployer, value=20_000 * 10**18)
    npm = contract_at(
        w3, "uniswap_v3/NonfungiblePositionManager", c["nonfungible_position_manager"]
    )
    for key in ("weth", "usdc", "dai", "wbtc", "mkr"):
        token = contract_at(w3, "ERC20MockDecimals", c[key])
        _send(w3, token.functions.approve(npm.address, MAX_UINT256), deployer)

    usd = {spec.key: spec.usd for spec in TOKENS}
    usd["weth"] = ETH_USD
    for pool in POOLS:
        out.pools[pool.key] = _seed_pool(w3, deployer, npm, out, pool, usd)

    _fund_traders(w3, deployer, accounts, out)
    return out


def _seed_pool(
    w3: Web3,
    deployer: str,
    npm: Contract,
    out: Deployment,
    pool: PoolSpec,
    usd: dict[str, float],
) -> PoolInfo:
    c = out.contracts
    dec_a = out.decimals[pool.token_a]
    dec_b = out.decimals[pool.token_b]
    assert dec_a is not None and dec_b is not None
    amount_a = _raw(pool.amount_a, dec_a)
    amount_b = _raw(pool.amount_a * usd[pool.token_a] / usd[pool.token_b], dec_b)
    addr_a, addr_b = (
        Web3.to_checksum_address(c[pool.token_a]),
        Web3.to_checksum_address(c[pool.token_b]),
    )
    if int(addr_a, 16) < int(addr_b, 16):
        token0, token1, amount0, amount1 = addr_a, addr_b, amount_a, amount_b
    else:
        token0, token1, amount0, amount1 = addr_b, addr_a, amount_b, amount_a
    # Exact integer price from the seeded amounts: token1 raw per token0 raw.
    sqrt_price = sqrt_price_x96((amount1, amount0))
    _send(
        w3,
        npm.functions.createAndInitializePoolIfNecessary(token0, token1, pool.fee, sqrt_price),
        deployer,
    )
    spacing = TICK_SPACING[pool.fee]
    lower = -(MAX_TICK // spacing) * spacing
    upper = (MAX_TICK // spacing) * spacing
    _send(
        w3,
        npm.functions.mint(
            (token0, token1, pool.fee, lower, upper, amount0, amount1, 0, 0, deployer, 2**32)
        ),
        deployer,
    )
    factory = contract_at(w3, "uniswap_v3/UniswapV3Factory", c["uniswap_v3_factory"])
    address = factory.functions.getPool(token0, token1, pool.fee).call()
    return PoolInfo(
        key=pool.key,
        address=str(address),
        token0=token0,
        token1=token1,
        fee=pool.fee,
        tick_spacing=spacing,
    )


def _fund_traders(w3: Web3, deployer: str, accounts: list[str], out: Deployment) -> None:
    c = out.contracts
    grants = {"usdc": 1_000_000, "usdt": 1_000_000, "dai": 1_000_000, "wbtc": 20, "mkr": 500}
    for trader in accounts[1 : TRADER_COUNT + 1]:
        for key, human in grants.items():
            decimals = out.decimals[key]
            assert decimals is not None
            token = contract_at(w3, "ERC20MockDecimals", c[key])
            _send(w3, token.functions.transfer(trader, human * 10**decimals), deployer)
        nodec = contract_at(w3, "NoDecimalsToken", c["nodecimals"])
        _send(w3, nodec.functions.transfer(trader, 10**24), deployer)
