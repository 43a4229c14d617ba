"""USD prices at a block from Uniswap v3 pools, with exact integer/Decimal math.

- Stablecoins are pinned at 1.
- ETH (and WETH) from the configured WETH/stable pool: its `slot0.sqrtPriceX96` at the block.
- Any other token through its deepest whitelisted pool against a priced token (a stablecoin or
  WETH), the depth being the USD value of the quote side of the pool's in-range virtual reserves,
  ignored below `liquidity_floor_usd`; otherwise no price.

A pool's state at the end of a block is exact without an `eth_call` per block, from its events as
the pool itself moves: `Initialize` sets its sqrtPriceX96 and tick, `Swap` its sqrtPriceX96,
in-range liquidity and tick (all three in the event), and a `Mint` or `Burn` adds or removes its
liquidity from the in-range total when the current tick is within the position's range
(tickLower <= tick < tickUpper). The state is seeded once with `eth_call` (slot0, liquidity) at
the block before the first batch, or again after a reorg.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ordex.services.evm_rpc import EvmRpc, hex_bytes

if TYPE_CHECKING:
    from ordex._engine import EvmPricing

# keccak256 of the Uniswap v3 pool events read here.
TOPIC_SWAP = "0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67"
TOPIC_INITIALIZE = "0x98636036cb66a9c19a37435efc1e90142190214e8abeb821bdba3f2990dd4c95"
TOPIC_MINT = "0x7a53080ba414158be7ec69b987b5fb7d07dee101fe85488f0853ae16239d0bde"
TOPIC_BURN = "0x0c396cd989a39f4459b5fa1aed6a9a8dcdbc45908acfd67e028cd568da98982c"

# A pool event: (kind, pool, a, b, tick, tick_upper). A Swap: a = sqrtPriceX96, b = in-range
# liquidity and tick after it; an Initialize: a = sqrtPriceX96 and tick; a Mint or Burn: b =
# the liquidity added or removed between tick (tickLower) and tick_upper.
PoolEvent = tuple[int, bytes, int, int, int, int]
EVENT_SWAP = 0
EVENT_INITIALIZE = 1
EVENT_MINT = 2
EVENT_BURN = 3
INT24 = range(-(2**23), 2**23)
POOL_TOPICS = {
    TOPIC_SWAP: EVENT_SWAP,
    TOPIC_INITIALIZE: EVENT_INITIALIZE,
    TOPIC_MINT: EVENT_MINT,
    TOPIC_BURN: EVENT_BURN,
}


def _uint(word: bytes) -> int:
    return int.from_bytes(word, "big")


def _int24(word: bytes) -> int | None:
    """An ABI int24 word (sign-extended to 32 bytes), or None."""
    value = int.from_bytes(word, "big", signed=True)
    return value if len(word) == 32 and value in INT24 else None


Q192 = 2**192
Q96 = 2**96
# Significant digits of a price: far beyond any token's decimals, so rounding never shows.
PRICE_CONTEXT = Context(prec=50)
USD_QUANTUM = Decimal("1e-18")
USD_CONTEXT = Context(prec=80)
# What the general path gives for a zero amount, whatever the price: 0 at 18 decimal places.
ZERO_USD = Decimal(0).quantize(USD_QUANTUM)


@dataclass(frozen=True, slots=True)
class PriceConfig:
    """Addresses as 20 bytes. `price_pools` are the whitelisted pools for tokens other than ETH
    and stablecoins (the ETH pool may be listed too)."""

    weth: bytes | None = None
    eth_usd_pool: bytes | None = None
    stablecoins: frozenset[bytes] = frozenset()
    price_pools: tuple[bytes, ...] = ()
    liquidity_floor_usd: Decimal = Decimal(0)

    @property
    def pools(self) -> tuple[bytes, ...]:
        pools = list(self.price_pools)
        if self.eth_usd_pool is not None and self.eth_usd_pool not in pools:
            pools.insert(0, self.eth_usd_pool)
        return tuple(pools)


@dataclass(frozen=True, slots=True)
class PoolInfo:
    address: bytes
    token0: bytes
    token1: bytes
    decimals0: int
    decimals1: int


@dataclass(slots=True)
class PoolState:
    sqrt_price_x96: int = 0
    liquidity: int = 0
    tick: int = 0


def price_token0_in_token1(sqrt_price_x96: int, decimals0: int, decimals1: int) -> Fraction:
    """Whole token1 per whole token0: sqrtPriceX96² / 2¹⁹² scaled by 10^(decimals0 - decimals1)."""
    return Fraction(sqrt_price_x96 * sqrt_price_x96, Q192) * Fraction(10) ** (decimals0 - decimals1)


def to_decimal(value: Fraction) -> Decimal:
    return PRICE_CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))


def usd_amount(raw_amount: int, decimals: int, usd_price: Decimal | None) -> Decimal | None:
    """USD value of `raw_amount` base units, rounded to 18 decimal places."""
    if usd_price is None:
        return None
    if raw_amount == 0:
        return ZERO_USD
    value = USD_CONTEXT.multiply(Decimal(raw_amount), usd_price).scaleb(-decimals, USD_CONTEXT)
    return value.quantize(USD_QUANTUM, context=USD_CONTEXT)


@dataclass(slots=True)
class BlockPrices:
    """Prices at the end of one block: ETH/USD and whole-token USD prices (with their pool)."""

    eth_usd: Decimal | None
    tokens: dict[bytes, tuple[Decimal, bytes | None]] = field(default_factory=dict)


class PriceTracker:
    def __init__(self, config: PriceConfig) -> None:
        self.config = config
        self.pools: dict[bytes, PoolInfo] = {}
        self.state: dict[bytes, PoolState] = {}
        self.decimals: dict[bytes, int] = {}
        self._pool_hex: dict[bytes, str] = {}
        self._seeded_at: int | None = None
        # Prices by the state they come from: most blocks move no pool a token is priced by.
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._token_pools: dict[bytes, tuple[bytes, ...]] = {}
        # The same pricing handed to the Rust encode (services.indexer_fast), once prepared.
        self._pricing: EvmPricing | None = None
        self._pricing_of: PriceConfig | None = None  # the configuration it was made from

    @property
    def enabled(self) -> bool:
        return bool(self.config.pools) or bool(self.config.stablecoins)

    async def prepare(self, rpc: EvmRpc) -> None:
        """Reads each configured pool's tokens and their decimals (once)."""
        if self.pools or not self.config.pools:
            return
        tokens: set[bytes] = set(self.config.stablecoins)
        if self.config.weth is not None:
            tokens.add(self.config.weth)
        pools = list(self.config.pools)
        pool_tokens = await rpc.pool_tokens(["0x" + pool.hex() for pool in pools])
        for pool, (t0, t1) in zip(pools, pool_tokens, strict=True):
            token0, token1 = hex_bytes(t0), hex_bytes(t1)
            tokens.update((token0, token1))
            self._pool_hex[pool] = "0x" + pool.hex()
            self.pools[pool] = PoolInfo(pool, token0, token1, 0, 0)
        meta = await rpc.token_metadata(["0x" + t.hex() for t in sorted(tokens)])
        for address, found in meta.items():
            decimals = getattr(found, "decimals", None)
            if decimals is not None:
                self.decimals[hex_bytes(address)] = decimals
        for pool, info in list(self.pools.items()):
            d0, d1 = self.decimals.get(info.token0), self.decimals.get(info.token1)
            if d0 is None or d1 is None:
                # A pool whose token has no decimals cannot price anything.
                del self.pools[pool]
                continue
            self.pools[pool] = PoolInfo(pool, info.token0, info.token1, d0, d1)
        self._memo.clear()
        self._pricing = None
        self._token_pools.clear()

    def pricing(self) -> EvmPricing:
        """This tracker's configuration and pools as `ordex._engine.EvmPricing` (the Rust walk
        prices exactly as `walk_events` does), made once prepared."""
        if self._pricing is None or self._pricing_of is not self.config:
            from ordex._engine import EvmPricing

            self._pricing_of = self.config
            floor = self.config.liquidity_floor_usd.as_integer_ratio()
            self._pricing = EvmPricing(
                self.config.weth,
                self.config.eth_usd_pool,
                sorted(self.config.stablecoins),
                list(self.config.price_pools),
                [(p, i.token0, i.token1, i.decimals0, i.decimals1) for p, i in self.pools.items()],
                (str(floor[0]), str(floor[1])),
                self.decimals,
            )
        return self._pricing

    def state_words(self) -> list[tuple[bytes, bytes, bytes, int]]:
        """The tracked state as (pool, sqrtPriceX96, liquidity, tick), the first two as 32-byte
        big-endian words."""
        return [
            (pool, s.sqrt_price_x96.to_bytes(32, "big"), s.liquidity.to_bytes(32, "big"), s.tick)
            for pool, s in self.state.items()
        ]

    def adopt(self, states: list[tuple[bytes, bytes, bytes, int]], last_block: int | None) -> None:
        """Takes the state a walk elsewhere ended in, at the end of `last_block` (None: the
        walk met no block that moves anything)."""
        self.state = {
            pool: PoolState(int.from_bytes(sqrt, "big"), int.from_bytes(liquidity, "big"), tick)
            for pool, sqrt, liquidity, tick in states
        }
        if last_block is not None:
            self._seeded_at = last_block

    def advance_to(self, block: int) -> None:
        """The tracked state is the one at the end of `block` (no pool event since the last)."""
        self._seeded_at = block

    def invalidate(self) -> None:
        """Forget the tracked state (after a reorg); the next batch seeds it again."""
        self._seeded_at = None

    async def seed(self, rpc: EvmRpc, block: int) -> None:
        """Pool state at the end of `block` (-1: before the chain, all empty)."""
        pools = list(self.pools)
        if self._seeded_at == block:
            return
        if block < 0 or not pools:
            self.state = {p: PoolState() for p in pools}
        else:
            hexes = [self._pool_hex[p] for p in pools]
            slots = await rpc.pool_slot0(hexes, block)
            liquidity = await rpc.pool_liquidity(hexes, block)
            self.state = {
                p: PoolState(s.sqrt_price_x96, lq or 0, s.tick) if s else PoolState(0, lq or 0)
                for p, s, lq in zip(pools, slots, liquidity, strict=True)
            }
        self._seeded_at = block

    def walk(
        self,
        blocks: Sequence[tuple[int, list[dict[str, Any]]]],
        wanted: dict[int, set[bytes]],
    ) -> dict[int, BlockPrices]:
        """Prices at the end of each block of `blocks` ((number, its logs in order)), continuing
        from the seeded state; `wanted` lists the tokens whose price each block needs."""
        return self.walk_events([(n, self.pool_events(logs)) for n, logs in blocks], wanted)

    def pool_events(self, logs: Iterable[dict[str, Any]]) -> list[PoolEvent]:
        """The pool events among `logs`, in order (see `PoolEvent`); anything not shaped as a
        Uniswap v3 pool emits it is left out."""
        events: list[PoolEvent] = []
        for log in logs:
            topics = log["topics"]
            if not topics or topics[0] not in POOL_TOPICS:
                continue
            data = hex_bytes(log["data"])
            emitter = hex_bytes(log["address"])
            kind = POOL_TOPICS[topics[0]]
            if kind == EVENT_SWAP and len(data) >= 160:
                tick = _int24(data[128:160])
                if tick is not None:
                    events.append((kind, emitter, _uint(data[64:96]), _uint(data[96:128]), tick, 0))
            elif kind == EVENT_INITIALIZE and len(data) >= 64:
                tick = _int24(data[32:64])
                if tick is not None:
                    events.append((kind, emitter, _uint(data[:32]), 0, tick, 0))
            elif kind in (EVENT_MINT, EVENT_BURN) and len(topics) == 4:
                amount = (
                    data[32:64]
                    if kind == EVENT_MINT and len(data) >= 128
                    else data[:32]
                    if kind == EVENT_BURN and len(data) >= 96
                    else None
                )
                lower, upper = _int24(hex_bytes(topics[2])), _int24(hex_bytes(topics[3]))
                if amount is not None and lower is not None and upper is not None:
                    events.append((kind, emitter, 0, _uint(amount), lower, upper))
        return events

    def walk_events(
        self,
        blocks: Sequence[tuple[int, list[PoolEvent]]],
        wanted: dict[int, set[bytes]],
    ) -> dict[int, BlockPrices]:
        """`walk` over the blocks' pool events rather than their logs."""
        out: dict[int, BlockPrices] = {}
        state = self.state
        # Prices are a function of the tracked state: a block that moves no pool reuses those
        # already found since the last move.
        eth: Decimal | None = None
        found_at_state: dict[bytes, tuple[Decimal, bytes | None] | None] | None = None
        for number, events in blocks:
            for kind, emitter, a, b, tick, tick_upper in events:
                pool = state.get(emitter)
                if pool is None:
                    continue
                found_at_state = None
                if kind == EVENT_SWAP:
                    pool.sqrt_price_x96, pool.liquidity, pool.tick = a, b, tick
                elif kind == EVENT_INITIALIZE:
                    pool.sqrt_price_x96, pool.tick = a, tick
                elif tick <= pool.tick < tick_upper:
                    # The position is in range: its liquidity counts in the pool's total.
                    delta = b if kind == EVENT_MINT else -b
                    pool.liquidity = max(pool.liquidity + delta, 0)
            if found_at_state is None:
                eth, found_at_state = self.eth_usd(), {}
            prices = BlockPrices(eth_usd=eth)
            for token in wanted.get(number, ()):
                if token in found_at_state:
                    found = found_at_state[token]
                else:
                    found = found_at_state[token] = self.token_usd(token, eth)
                if found is not None:
                    prices.tokens[token] = found
            out[number] = prices
            self._seeded_at = number
        return out

    def eth_usd(self) -> Decimal | None:
        pool = self.config.eth_usd_pool
        weth = self.config.weth
        if pool is None or weth is None or pool not in self.pools:
            return None
        key = (pool, self.state.get(pool, PoolState()).sqrt_price_x96)
        if key in self._memo:
            found: Decimal | None = self._memo[key]
            return found
        price = self._price_in_other(pool, weth)
        found = (
            None if price is None else PRICE_CONTEXT.divide(Decimal(price[0]), Decimal(price[1]))
        )
        self._remember(key, found)
        return found

    def _remember(self, key: tuple[Any, ...], value: Any) -> None:
        if len(self._memo) >= 4096:
            self._memo.clear()
        self._memo[key] = value

    def _price_in_other(self, pool: bytes, token: bytes) -> tuple[int, int] | None:
        """Whole units of the pool's other token per whole `token`, from the tracked state, as
        (numerator, positive denominator): plain integers, as Fraction's reductions of such
        large numbers cost more than the rest of the pricing."""
        info = self.pools[pool]
        sqrt_price = self.state.get(pool, PoolState()).sqrt_price_x96
        if sqrt_price == 0:
            return None
        shift = info.decimals0 - info.decimals1
        num = sqrt_price * sqrt_price * 10 ** max(shift, 0)
        den = Q192 * 10 ** max(-shift, 0)
        return (num, den) if token == info.token0 else (den, num)

    def _prices(self, tokens: Iterable[bytes]) -> BlockPrices:
        eth = self.eth_usd()
        prices = BlockPrices(eth_usd=eth)
        for token in tokens:
            found = self.token_usd(token, eth)
            if found is not None:
                prices.tokens[token] = found
        return prices

    def _quote_usd(self, token: bytes, eth: Decimal | None) -> Decimal | None:
        if token in self.config.stablecoins:
            return Decimal(1)
        if token == self.config.weth:
            return eth
        return None

    def token_usd(self, token: bytes, eth: Decimal | None) -> tuple[Decimal, bytes | None] | None:
        """(USD per whole token, pool it came from) at the tracked state, or None."""
        if token in self.config.stablecoins:
            return Decimal(1), None
        if token == self.config.weth:
            return (eth, self.config.eth_usd_pool) if eth is not None else None
        pools = self._token_pools.get(token)
        if pools is None:
            pools = self._token_pools[token] = tuple(
                pool
                for pool, info in self.pools.items()
                if pool in self.config.price_pools and token in (info.token0, info.token1)
            )
        if not pools:
            return None
        states = self.state
        key = (
            token,
            eth,
            tuple(
                (s.sqrt_price_x96, s.liquidity) if (s := states.get(p)) is not None else None
                for p in pools
            ),
        )
        if key in self._memo:
            found: tuple[Decimal, bytes | None] | None = self._memo[key]
            return found
        found = self._token_usd(token, eth, pools)
        self._remember(key, found)
        return found

    def _token_usd(
        self, token: bytes, eth: Decimal | None, pools: Sequence[bytes]
    ) -> tuple[Decimal, bytes | None] | None:
        # (depth, price, pool), each number as (numerator, positive denominator).
        best: tuple[tuple[int, int], tuple[int, int], bytes] | None = None
        floor_num, floor_den = self.config.liquidity_floor_usd.as_integer_ratio()
        for pool in pools:
            info = self.pools[pool]
            quote = info.token1 if token == info.token0 else info.token0
            quote_usd = self._quote_usd(quote, eth)
            state = self.state.get(pool)
            if quote_usd is None or state is None or state.sqrt_price_x96 == 0:
                continue
            price = self._price_in_other(pool, token)
            if price is None:
                continue
            # In-range virtual reserves: x = L·2⁹⁶/√P (token0), y = L·√P/2⁹⁶ (token1).
            if quote == info.token1:
                reserve = (state.liquidity * state.sqrt_price_x96, Q96)
                quote_decimals = info.decimals1
            else:
                reserve = (state.liquidity * Q96, state.sqrt_price_x96)
                quote_decimals = info.decimals0
            usd_num, usd_den = quote_usd.as_integer_ratio()
            depth = (reserve[0] * usd_num, reserve[1] * 10**quote_decimals * usd_den)
            if depth[0] * floor_den < floor_num * depth[1]:
                continue
            if best is None or depth[0] * best[0][1] > best[0][0] * depth[1]:
                best = (depth, (price[0] * usd_num, price[1] * usd_den), pool)
        if best is None:
            return None
        (num, den), pool_address = best[1], best[2]
        return PRICE_CONTEXT.divide(Decimal(num), Decimal(den)), pool_address
