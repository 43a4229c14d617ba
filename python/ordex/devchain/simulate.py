"""Realistic traffic on the dev chain, and reorgs on demand.

`simulate_traffic` talks JSON-RPC like any client (over HTTP for a URL): ETH and ERC-20 transfers,
WETH wraps, Uniswap v3 swaps that move prices, LP mints and burns, ERC-721 and ERC-1155 mints and
transfers, several transactions per block. A seed makes the sequence of actions repeatable.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from web3 import Web3
from web3.contract import Contract
from web3.types import Wei

from ordex.devchain.chain import DevChainNode
from ordex.devchain.deploy import MAX_UINT256, TRADER_COUNT, contract_at

if TYPE_CHECKING:
    from ordex.devchain import DevChain

TX_GAS = 1_500_000
DEADLINE = 2**32
SWAPPABLE_POOLS = (
    "weth_usdc_3000",
    "weth_dai_3000",
    "usdc_dai_500",
    "wbtc_weth_3000",
    "mkr_weth_3000",
)
# Swap sizes, in the input token's whole units, by token: big enough to move the price.
SWAP_SIZES: dict[str, tuple[float, float]] = {
    "weth": (0.5, 25.0),
    "usdc": (1_000.0, 60_000.0),
    "dai": (1_000.0, 60_000.0),
    "wbtc": (0.05, 1.0),
    "mkr": (1.0, 40.0),
}


def _client(url_or_chain: str | DevChain) -> Web3:
    if isinstance(url_or_chain, str):
        return Web3(Web3.HTTPProvider(url_or_chain, request_kwargs={"timeout": 60}))
    return url_or_chain.web3()


@dataclass
class _Env:
    w3: Web3
    accounts: list[str]
    contracts: dict[str, str]
    pools: dict[str, dict[str, Any]]
    decimals: dict[str, int | None]

    def token(self, key: str) -> Contract:
        return contract_at(self.w3, "ERC20MockDecimals", self.contracts[key])


def _load_env(w3: Web3) -> _Env:
    info = w3.provider.make_request("devchain_info", [])  # type: ignore[arg-type]
    if "result" not in info:
        raise RuntimeError("not an ordex dev chain (no devchain_info)")
    data = info["result"]
    return _Env(
        w3=w3,
        accounts=[Web3.to_checksum_address(a) for a in data["accounts"]],
        contracts=data["contracts"],
        pools=data["pools"],
        decimals=data["decimals"],
    )


def simulate_traffic(
    url_or_chain: str | DevChain, blocks: int = 20, seed: int = 0
) -> dict[str, int]:
    """Mine `blocks` blocks of mixed traffic; returns counts of actions by kind."""
    w3 = _client(url_or_chain)
    env = _load_env(w3)
    rng = random.Random(seed)
    traders = env.accounts[1 : TRADER_COUNT + 1]
    counts: dict[str, int] = {"blocks": 0, "transactions": 0}
    automine = bool(w3.provider.make_request("eth_mining", [])["result"])  # type: ignore[arg-type]
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        if _ensure_approvals(env, traders, counts):
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            counts["blocks"] += 1
        for _ in range(blocks):
            # One transaction per sender per block: nonces stay simple with automine off.
            senders = rng.sample(traders, rng.randint(1, len(traders)))
            for sender in senders:
                kind, action = _pick_action(env, rng, sender)
                action()
                counts[kind] = counts.get(kind, 0) + 1
                counts["transactions"] += 1
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            counts["blocks"] += 1
    finally:
        w3.provider.make_request("evm_setAutomine", [automine])  # type: ignore[arg-type]
    return counts


def _send(env: _Env, fn: Any, sender: str, value: int = 0) -> None:
    fn.transact({"from": sender, "value": value, "gas": TX_GAS})


def _ensure_approvals(env: _Env, traders: list[str], counts: dict[str, int]) -> bool:
    """Wrap ETH and approve the router and position manager once per trader; True if sent."""
    spenders = (env.contracts["swap_router"], env.contracts["nonfungible_position_manager"])
    weth = contract_at(env.w3, "sushi/WETH9Mock", env.contracts["weth"])
    # Set up in one go by an earlier run: the last approval of the last trader is there.
    if env.token("mkr").functions.allowance(traders[-1], spenders[-1]).call() >= 2**200:
        return False
    sent = 0
    for trader in traders:
        if weth.functions.balanceOf(trader).call() < 100 * 10**18:
            _send(env, weth.functions.deposit(), trader, 5_000 * 10**18)
            sent += 1
        for key in ("weth", "usdc", "dai", "wbtc", "mkr"):
            token = env.token(key)
            for spender in spenders:
                if token.functions.allowance(trader, spender).call() < 2**200:
                    _send(env, token.functions.approve(spender, MAX_UINT256), trader)
                    sent += 1
    counts["transactions"] += sent
    return sent > 0


def _human(env: _Env, key: str, amount: float) -> int:
    decimals = env.decimals.get(key)
    return int(amount * 10 ** (decimals if decimals is not None else 18))


def _key_of(env: _Env, address: str) -> str:
    for key, value in env.contracts.items():
        if value.lower() == address.lower():
            return key
    raise KeyError(address)


def _pick_action(env: _Env, rng: random.Random, sender: str) -> tuple[str, Callable[[], None]]:
    others = [a for a in env.accounts if a != sender]
    roll = rng.random()
    if roll < 0.40:
        return "swaps", lambda: _swap(env, rng, sender)
    if roll < 0.50:
        receiver = rng.choice(others)
        amount = rng.randint(1, 50) * 10**16
        return "eth_transfers", lambda: _send_eth(env, sender, receiver, amount)
    if roll < 0.65:
        key = rng.choice(("usdc", "usdt", "dai", "mkr", "nodecimals", "wbtc"))
        receiver = rng.choice(others)
        amount = _human(
            env, key, rng.uniform(1, 500) if key != "wbtc" else rng.uniform(0.001, 0.05)
        )
        token = env.token(key)
        return "erc20_transfers", lambda: _send(
            env, token.functions.transfer(receiver, amount), sender
        )
    if roll < 0.72:
        return "lp_mints", lambda: _lp_mint(env, rng, sender)
    if roll < 0.78:
        return "lp_burns", lambda: _lp_burn(env, rng, sender)
    if roll < 0.86:
        return "nft", lambda: _nft(env, rng, sender, others)
    return "erc1155", lambda: _multi(env, rng, sender, others)


def _send_eth(env: _Env, sender: str, receiver: str, amount: int) -> None:
    env.w3.eth.send_transaction(
        {"from": sender, "to": receiver, "value": Wei(amount), "gas": 21_000}
    )


def _swap(env: _Env, rng: random.Random, sender: str) -> None:
    pool = env.pools[rng.choice(SWAPPABLE_POOLS)]
    token_in, token_out = pool["token0"], pool["token1"]
    if rng.random() < 0.5:
        token_in, token_out = token_out, token_in
    key_in = _key_of(env, token_in)
    low, high = SWAP_SIZES[key_in]
    amount_in = _human(env, key_in, rng.uniform(low, high))
    router = contract_at(env.w3, "uniswap_v3/SwapRouter", env.contracts["swap_router"])
    params = (token_in, token_out, pool["fee"], sender, DEADLINE, amount_in, 0, 0)
    _send(env, router.functions.exactInputSingle(params), sender)


def _lp_mint(env: _Env, rng: random.Random, sender: str) -> None:
    key = rng.choice(("weth_usdc_3000", "weth_dai_3000", "wbtc_weth_3000"))
    pool_info = env.pools[key]
    pool = contract_at(env.w3, "uniswap_v3/UniswapV3Pool", pool_info["address"])
    tick = int(pool.functions.slot0().call()[1])
    spacing = int(pool_info["tick_spacing"])
    centre = (tick // spacing) * spacing
    width = rng.randint(2, 40) * spacing
    lower, upper = centre - width, centre + width + spacing
    k0, k1 = _key_of(env, pool_info["token0"]), _key_of(env, pool_info["token1"])
    amount0 = _human(env, k0, SWAP_SIZES[k0][1] * rng.uniform(0.1, 1.0))
    amount1 = _human(env, k1, SWAP_SIZES[k1][1] * rng.uniform(0.1, 1.0))
    npm = contract_at(
        env.w3,
        "uniswap_v3/NonfungiblePositionManager",
        env.contracts["nonfungible_position_manager"],
    )
    params = (
        pool_info["token0"],
        pool_info["token1"],
        pool_info["fee"],
        lower,
        upper,
        amount0,
        amount1,
        0,
        0,
        sender,
        DEADLINE,
    )
    _send(env, npm.functions.mint(params), sender)


def _lp_burn(env: _Env, rng: random.Random, sender: str) -> None:
    npm = contract_at(
        env.w3,
        "uniswap_v3/NonfungiblePositionManager",
        env.contracts["nonfungible_position_manager"],
    )
    count = int(npm.functions.balanceOf(sender).call())
    if count == 0:
        _lp_mint(env, rng, sender)
        return
    token_id = int(npm.functions.tokenOfOwnerByIndex(sender, rng.randrange(count)).call())
    liquidity = int(npm.functions.positions(token_id).call()[7])
    calls: list[Any] = []
    if liquidity > 0:
        calls.append(
            npm.encode_abi("decreaseLiquidity", args=[(token_id, liquidity, 0, 0, DEADLINE)])
        )
    calls.append(npm.encode_abi("collect", args=[(token_id, sender, 2**128 - 1, 2**128 - 1)]))
    calls.append(npm.encode_abi("burn", args=[token_id]))
    _send(env, npm.functions.multicall(calls), sender)


def _nft(env: _Env, rng: random.Random, sender: str, others: list[str]) -> None:
    nft = contract_at(env.w3, "DevNFT", env.contracts["nft"])
    newest = int(nft.functions.nextTokenId().call())
    owned = [
        i for i in range(max(1, newest - 24), newest) if nft.functions.ownerOf(i).call() == sender
    ]
    if not owned or rng.random() < 0.3:
        _send(env, nft.functions.mint(sender), sender)
        return
    _send(env, nft.functions.transferFrom(sender, rng.choice(others), rng.choice(owned)), sender)


def _multi(env: _Env, rng: random.Random, sender: str, others: list[str]) -> None:
    multi = contract_at(env.w3, "DevMultiToken", env.contracts["multi"])
    ids = [1, 2, 3]
    balances = [int(multi.functions.balanceOf(sender, i).call()) for i in ids]
    roll = rng.random()
    if sum(balances) == 0 or roll < 0.25:
        _send(
            env, multi.functions.mintBatch(sender, ids, [rng.randint(10, 100) for _ in ids]), sender
        )
    elif roll < 0.7:
        token_id = rng.choice([i for i, b in zip(ids, balances, strict=True) if b > 0])
        amount = rng.randint(1, balances[token_id - 1])
        _send(
            env,
            multi.functions.safeTransferFrom(sender, rng.choice(others), token_id, amount, b""),
            sender,
        )
    else:
        held = [(i, b) for i, b in zip(ids, balances, strict=True) if b > 0]
        _send(
            env,
            multi.functions.safeBatchTransferFrom(
                sender,
                rng.choice(others),
                [i for i, _ in held],
                [max(1, b // 2) for _, b in held],
                b"",
            ),
            sender,
        )


# --- reorgs ---------------------------------------------------------------------------------------


def reorg_node(node: DevChainNode, depth: int) -> dict[str, Any]:
    """Replace the last `depth` blocks by `depth + 1` new ones (a longer fork wins).

    The new branch starts with a small transfer from the last dev account, so even its first
    block differs from the orphaned one; the orphaned blocks' transactions are gone.
    """
    with node.lock:
        automine = node.automine
        node.set_automine(True)  # mines what was pending: it is part of the old branch
        head = node.head_number()
        if depth < 1 or depth > head:
            node.set_automine(automine)
            raise ValueError(f"reorg depth must be between 1 and {head}")
        ancestor = head - depth
        orphaned = [
            node.tester.get_block_by_number(n)["hash"] for n in range(ancestor + 1, head + 1)
        ]
        node.revert_to_number(ancestor)
        last = node.accounts[-1]
        node.send_transaction(
            {
                "from": last,
                "to": node.accounts[-2],
                "value": 1 + node.reorg_count,
                "gas": 21_000,
                "max_fee_per_gas": 10**11,
                "max_priority_fee_per_gas": 10**9,
            }
        )
        node.mine(depth)  # the transfer mined one block, these bring the fork to head + 1
        node.set_automine(automine)
        node.reorg_count += 1
        new_head = node.head_number()
        return {
            "common_ancestor": ancestor,
            "old_head": head,
            "new_head": new_head,
            "orphaned_block_hashes": orphaned,
            "new_block_hashes": [
                node.tester.get_block_by_number(n)["hash"]
                for n in range(ancestor + 1, new_head + 1)
            ],
        }


def reorg_chain(url_or_chain: str | DevChain, depth: int) -> dict[str, Any]:
    if not isinstance(url_or_chain, str):
        return reorg_node(url_or_chain.node, depth)
    w3 = _client(url_or_chain)
    answer = w3.provider.make_request("devchain_reorg", [hex(depth)])  # type: ignore[arg-type]
    if "error" in answer:
        raise RuntimeError(str(answer["error"]))
    result: dict[str, Any] = answer["result"]
    return result
