"""`/api/v1/positions`: positions of trading sessions (cryptofunk), derived from their fills.

- `GET /api/v1/positions` -> `{positions, count}`: the caller's open positions, or with
  `session_id` every position of that session (open and closed);
- `GET /api/v1/positions/{symbol}` -> `{position}`: the latest position in the symbol, written as
  it is (`BTC/USDT`: the path takes the slash), optionally of one `session_id`; 404
  POSITION_NOT_FOUND when there is none.

A `session_id` that is not a UUID is a 400 naming it; another user's session is a 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordex.api.routes.trade import Context
from ordex.api.schemas_trade import TRADE_ERRORS, PositionEnvelope, PositionList, UuidText
from ordex.services import session_positions
from ordex.services.session_order_requests import uuid_field

router = APIRouter(prefix="/api/v1/positions", tags=["session positions"], responses=TRADE_ERRORS)


@router.get("", response_model=PositionList)
async def list_positions(ctx: Context, session_id: UuidText | None = None) -> dict[str, Any]:
    session = uuid_field({"session_id": session_id}, "session_id", required=False)
    positions = await session_positions.list_positions(ctx, session)
    return {"positions": positions, "count": len(positions)}


@router.get("/{symbol:path}", response_model=PositionEnvelope)
async def get_position(
    symbol: str, ctx: Context, session_id: UuidText | None = None
) -> dict[str, Any]:
    session = uuid_field({"session_id": session_id}, "session_id", required=False)
    return {"position": await session_positions.latest_position(ctx, symbol, session)}
