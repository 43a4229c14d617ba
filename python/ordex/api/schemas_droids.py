"""Bodies and answers of `/api/droids` (trading-app contract, "Droids"), and the JSON of a droid,
pool, session, bot and history row. Numbers are written exactly from the stored NUMERIC values;
raw on-chain quantities (NFT token ids, liquidity, wei) are decimal strings."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

import orjson
from fastapi.responses import Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from ordex.api.schemas import ApiErrorOut
from ordex.api.schemas_workspace import WORKSPACE_ERRORS, check_storable
from ordex.db.droid_hedge import HedgeConfig
from ordex.db.droids import BotRow, DroidRow, HistoryRow, PoolRow, SessionRow
from ordex.services import droid_hedge
from ordex.services.droid_hedge import HEDGE_FIELDS
from ordex.services.droids import CONFIG_FIELDS, hex_address, invalid
from ordex.services.markets import plain
from ordex.timestamps import iso_millis

DROID_ERRORS: dict[int | str, dict[str, Any]] = {
    **WORKSPACE_ERRORS,
    409: {"model": ApiErrorOut, "description": "Already registered, or still used by a droid"},
    503: {"model": ApiErrorOut, "description": "No Ethereum node configured, or it did not answer"},
}

INT64_MAX = 2**63 - 1
Id = Annotated[StrictInt, Field(ge=1, le=INT64_MAX)]


@dataclass(frozen=True)
class DecimalText:
    """The decimal strings a Decimal field takes, as the pattern of its string form in OpenAPI:
    pydantic writes only `type: string`, so a client could not tell "1.5" from "abc"."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        for branch in schema.get("anyOf", [schema]):
            if branch.get("type") == "string":
                branch["pattern"] = self.pattern
        return schema


# Plain decimal text within 40 digits, 18 of them after the point (zeros past the 18th are
# insignificant, as the validation counts them), leading zeros allowed.
_NON_NEGATIVE = r"^(0*[0-9]{1,22}(\.[0-9]{0,18}0*)?|0*\.[0-9]{1,18}0*)$"
_POSITIVE = r"^(0*[1-9][0-9]{0,21}(\.[0-9]{0,18}0*)?|0*\.[0-9]{0,17}[1-9]0*)$"
_FRACTION = r"^0*\.[0-9]{0,17}[1-9]0*$"
_BELOW_ONE = r"^(0+(\.[0-9]{0,18}0*)?|0*\.[0-9]{1,18}0*)$"
# Exact decimals NUMERIC can store (no exponent beyond what 40 digits and 18 places hold).
_EXACT = Field(allow_inf_nan=False, max_digits=40, decimal_places=18)
NonNegativeAmount = Annotated[Decimal, _EXACT, Field(ge=0), DecimalText(_NON_NEGATIVE)]
PositiveAmount = Annotated[Decimal, _EXACT, Field(gt=0), DecimalText(_POSITIVE)]
Fraction = Annotated[Decimal, _EXACT, Field(gt=0, lt=1), DecimalText(_FRACTION)]
BelowOne = Annotated[Decimal, _EXACT, Field(ge=0, lt=1), DecimalText(_BELOW_ONE)]
Count = Annotated[StrictInt, Field(ge=1, le=1_000_000)]
TriggerType = Literal["EMA", "PRICE"]
FundingCurve = Literal["LINEAR", "DECAY", "GAUSSIAN"]
# Strict ints in a range, not Literal[0, 1, 2]: a Literal of ints takes true for 1 and "1".
TxPriority = Annotated[StrictInt, Field(ge=0, le=2)]
AddressText = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^0[xX][0-9a-fA-F]{40}$")
]


class Body(BaseModel):
    """A JSON object body: unknown fields refused; integers strict (no "5", 5.0 or true), so a
    400 names the field; money and prices as JSON numbers or decimal strings, read exactly."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        check_storable(value)
        return value


class DroidConfigFields(Body):
    """Every configuration field, optional (the PATCH body; POST fills in defaults)."""

    fundingUSD: PositiveAmount | None = None
    triggerType: TriggerType | None = Field(None, description="EMA of the price, or the spot price")
    emaLength: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = Field(
        None, description="EMA length in controller cycles: a = 2 / (length + 1)"
    )
    tickBuckets: Count | None = Field(None, description="width of every position, in tick spacings")
    bucketOffset: Annotated[StrictInt, Field(ge=0, le=1_000_000)] | None = Field(
        None, description="step between rungs, in tick spacings (0: rungs share the centre range)"
    )
    fundingCurveType: FundingCurve | None = None
    maxBots: Annotated[StrictInt, Field(ge=1, le=1000)] | None = Field(
        None, description="positions including the centre"
    )
    minPrice: NonNegativeAmount | None = Field(
        None, description="below it no on-chain action (base token in quote token); < maxPrice"
    )
    maxPrice: PositiveAmount | None = None
    fallingRebalanceTrigger: Fraction | None = None
    risingRebalanceTrigger: Fraction | None = None
    maxGasPrice: PositiveAmount | None = Field(None, description="gwei")
    txPriority: TxPriority | None = Field(None, description="0 low, 1 medium, 2 high")
    derivativeThreshold: NonNegativeAmount | None = None
    ladderPercMargin: BelowOne | None = None
    gasBudgetLimit: PositiveAmount | None = Field(
        None, description="ETH of gas per session (null: no budget)"
    )

    def given(self) -> dict[str, Any]:
        """The configuration fields present in the body; only gasBudgetLimit may be null."""
        fields = {
            k: v for k, v in self.model_dump(exclude_unset=True).items() if k in CONFIG_FIELDS
        }
        for name, value in fields.items():
            if value is None and name != "gasBudgetLimit":
                raise invalid(f"{name} must not be null", name)
        return fields


class DroidConfigPatch(DroidConfigFields):
    """The PATCH body: the configuration fields and the delta hedge's (services.droid_hedge)."""

    hedgeEnabled: StrictBool | None = Field(
        None, description="delta hedge on the exchange's perpetual market"
    )
    hedgeMarket: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        None, description="PERP market of the pool's volatile token (WETH: ETH-PERP)"
    )
    hedgeThreshold: NonNegativeAmount | None = Field(
        None, description="net exposure tolerated, in the market's base units"
    )

    def hedge_given(self) -> dict[str, Any]:
        """The hedge fields present in the body; only hedgeMarket may be null (no market)."""
        fields = {k: v for k, v in self.model_dump(exclude_unset=True).items() if k in HEDGE_FIELDS}
        for name, value in fields.items():
            if value is None and name != "hedgeMarket":
                raise invalid(f"{name} must not be null", name)
        return fields


# What a droid is created with when the body leaves a field out (the contract's example).
CONFIG_DEFAULTS: dict[str, Any] = {
    "triggerType": "EMA",
    "emaLength": 20,
    "tickBuckets": 10,
    "bucketOffset": 0,
    "fundingCurveType": "LINEAR",
    "maxBots": 5,
    "fallingRebalanceTrigger": Decimal("0.03"),
    "risingRebalanceTrigger": Decimal("0.05"),
    "maxGasPrice": Decimal(50),
    "txPriority": 1,
    "derivativeThreshold": Decimal("0.01"),
    "ladderPercMargin": Decimal("0.02"),
    "gasBudgetLimit": None,
}


class DroidCreateBody(DroidConfigFields):
    poolId: Id
    fundingUSD: PositiveAmount
    minPrice: NonNegativeAmount
    maxPrice: PositiveAmount
    accountId: Id | None = Field(
        None, description="the wallet to trade from (default: the caller's first on the chain)"
    )
    blockChain: Annotated[str, StringConstraints(max_length=32)] | None = None
    active: Annotated[StrictInt, Field(ge=0, le=1, description="0 paused, 1 running")] = 0

    def config(self) -> dict[str, Any]:
        """The whole configuration, API-named, defaults filled in."""
        given = self.given()
        return {name: given.get(name, CONFIG_DEFAULTS.get(name)) for name in CONFIG_FIELDS}


class ActiveBody(Body):
    active: Annotated[StrictInt, Field(ge=0, le=3)] = Field(
        description="0 pause, 1 run (OPERATOR); 2 reset, 3 close all and stop (ADMIN)"
    )


class AccountBody(Body):
    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    privateKey: (
        Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^(0x)?[0-9a-fA-F]{64}$")]
        | None
    ) = Field(None, description="64 hex digits; stored sealed (AES-256-GCM), never shown again")
    devchainIndex: Annotated[StrictInt, Field(ge=0, le=1000)] | None = Field(
        None, description="one of the embedded dev chain's accounts instead of a key"
    )


class PoolBody(Body):
    poolAddress: AddressText
    quoteToken: AddressText | None = Field(
        None, description="the token prices are counted in (default: a stablecoin, else WETH)"
    )


# --- answers (documentation models; the routes write the JSON themselves) ---------------------


class DroidOut(BaseModel):
    id: int
    blockChain: str
    active: int
    poolId: int
    accountId: int
    fundingUSD: float
    triggerType: str
    emaLength: int
    tickBuckets: int
    bucketOffset: int
    fundingCurveType: str
    maxBots: int
    maxPrice: float
    minPrice: float
    fallingRebalanceTrigger: float
    risingRebalanceTrigger: float
    maxGasPrice: float
    txPriority: int
    derivativeThreshold: float
    ladderPercMargin: float
    gasBudgetLimit: float | None
    createdAt: str
    updatedAt: str


class DroidList(BaseModel):
    droids: list[DroidOut]


class CreatedId(BaseModel):
    id: int


class SessionOut(BaseModel):
    id: int
    startedAt: str
    stoppedAt: str | None
    status: str
    cycles: int
    lastAction: str | None
    lastActionAt: str | None
    lastResult: str | None
    breakerTripped: str | None
    gasSpentWei: str


class BotOut(BaseModel):
    id: int
    positionId: str = Field(description="the position NFT's token id, hex")
    tokenId: str
    tickLower: int
    tickUpper: int
    liquidity: str
    rungIndex: int
    status: str
    sessionId: int | None
    createdAt: str
    closedAt: str | None


class DroidDetail(BaseModel):
    droid: DroidOut
    sessions: list[SessionOut]
    bots: list[BotOut]


class ActiveOut(BaseModel):
    id: int
    active: int


class DroidConfigOut(BaseModel):
    id: int
    fundingUSD: float
    triggerType: str
    emaLength: int
    tickBuckets: int
    bucketOffset: int
    fundingCurveType: str
    maxBots: int
    minPrice: float
    maxPrice: float
    fallingRebalanceTrigger: float
    risingRebalanceTrigger: float
    maxGasPrice: float
    txPriority: int
    derivativeThreshold: float
    ladderPercMargin: float
    gasBudgetLimit: float | None
    hedgeEnabled: bool
    hedgeMarket: str | None
    hedgeThreshold: float


class HistoryOut(BaseModel):
    id: int
    timeStamp: str
    aum: float
    price: float
    token0Positions: float
    token1Positions: float
    token0Fees: float
    token1Fees: float
    token0Wallet: float
    token1Wallet: float
    ethWallet: float
    hodlValueUSD: float | None
    impermanentLossUSD: float | None
    sessionId: int | None


class HistoryPage(BaseModel):
    history: list[HistoryOut]
    nextBefore: int | None = Field(description="pass as `before` for the next (older) page")


class AccountOut(BaseModel):
    id: int
    label: str
    kind: str
    address: str
    chainId: int
    devchainIndex: int | None
    shared: bool
    createdAt: str


class AccountList(BaseModel):
    accounts: list[AccountOut]


class TokenOut(BaseModel):
    address: str
    symbol: str | None
    decimals: int


class PoolOut(BaseModel):
    id: int
    poolAddress: str
    feeTier: int
    tickSpacing: int
    blockChain: str
    chainId: int
    token0: TokenOut
    token1: TokenOut
    baseToken: str | None
    quoteToken: str | None
    priceInverted: bool
    createdAt: str


class PoolList(BaseModel):
    pools: list[PoolOut]


# --- JSON ------------------------------------------------------------------------------------


def number(value: Decimal | None) -> orjson.Fragment | None:
    return None if value is None else orjson.Fragment(plain(value).encode())


def _json_value(value: Any) -> Any:
    return number(value) if isinstance(value, Decimal) else value


def droid_json(row: DroidRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "blockChain": row.blockchain,
        "active": row.active,
        "poolId": row.pool_id,
        "accountId": row.wallet_id,
    }
    out.update(config_json(row))
    out["createdAt"] = iso_millis(row.created_at)
    out["updatedAt"] = iso_millis(row.updated_at)
    return out


def config_json(row: DroidRow) -> dict[str, Any]:
    return {name: _json_value(getattr(row, column)) for name, column in CONFIG_FIELDS.items()}


def hedge_json(config: HedgeConfig) -> dict[str, Any]:
    return {name: _json_value(value) for name, value in droid_hedge.config_json(config).items()}


def session_json(row: SessionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "startedAt": iso_millis(row.started_at),
        "stoppedAt": None if row.stopped_at is None else iso_millis(row.stopped_at),
        "status": row.status,
        "cycles": row.cycles,
        "lastAction": row.last_action,
        "lastActionAt": None if row.last_action_at is None else iso_millis(row.last_action_at),
        "lastResult": row.last_result,
        "breakerTripped": row.breaker_tripped,
        "gasSpentWei": str(int(row.gas_spent_wei)),
    }


def bot_json(row: BotRow) -> dict[str, Any]:
    token_id = int(row.token_id)
    return {
        "id": row.id,
        "positionId": hex(token_id),
        "tokenId": str(token_id),
        "tickLower": row.tick_lower,
        "tickUpper": row.tick_upper,
        "liquidity": str(int(row.liquidity)),
        "rungIndex": row.rung_index,
        "status": row.status,
        "sessionId": row.session_id,
        "createdAt": iso_millis(row.created_at),
        "closedAt": None if row.closed_at is None else iso_millis(row.closed_at),
    }


def history_json(row: HistoryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "timeStamp": iso_millis(row.taken_at),
        "aum": number(row.aum_usd),
        "price": number(row.price),
        "token0Positions": number(row.token0_positions),
        "token1Positions": number(row.token1_positions),
        "ethWallet": number(row.eth_wallet),
        "token0Fees": number(row.token0_fees),
        "token1Fees": number(row.token1_fees),
        "token0Wallet": number(row.token0_wallet),
        "token1Wallet": number(row.token1_wallet),
        "hodlValueUSD": number(row.hodl_value_usd),
        "impermanentLossUSD": number(row.impermanent_loss_usd),
        "sessionId": row.session_id,
    }


def pool_json(row: PoolRow) -> dict[str, Any]:
    symbols = (row.token0_symbol, row.token1_symbol)
    base, quote = (symbols[1], symbols[0]) if row.price_inverted else symbols
    return {
        "id": row.id,
        "poolAddress": hex_address(row.address),
        "feeTier": row.fee_tier,
        "tickSpacing": row.tick_spacing,
        "blockChain": row.blockchain,
        "chainId": row.chain_id,
        "token0": {
            "address": hex_address(row.token0),
            "symbol": row.token0_symbol,
            "decimals": row.token0_decimals,
        },
        "token1": {
            "address": hex_address(row.token1),
            "symbol": row.token1_symbol,
            "decimals": row.token1_decimals,
        },
        "baseToken": base,
        "quoteToken": quote,
        "priceInverted": row.price_inverted,
        "createdAt": iso_millis(row.created_at),
    }


def json_response(content: dict[str, Any], status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code, media_type="application/json")
