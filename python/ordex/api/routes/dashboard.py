"""`/api/dashboard/*`: the capandex dashboard summaries.

- `GET /api/dashboard/balance` -> `{totalUsd, exchanges: [{id, exchange, label, balanceUsd,
  status, error?, code?}], failed}`: the stablecoin balances of every stored exchange key (ccxt
  `fetchBalance`, concurrently, each under a timeout) and ordex's own (exchange `ordex`, id null).
  An account that fails has `status: "error"`, its `error` and `code`, counts 0, and is counted in
  `failed`; the answer is still a 200.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.routes.market_data import MarketData
from ordex.api.schemas_notifications import EXCHANGE_ERRORS, DashboardBalance
from ordex.api.workspace_deps import SecretBoxDep
from ordex.services import exchange_balances

router = APIRouter(prefix="/api/dashboard", tags=["dashboard"], responses=EXCHANGE_ERRORS)


@router.get("/balance", response_model=DashboardBalance)
async def balance(
    user: CurrentUser, conn: DbConn, box: SecretBoxDep, market_data: MarketData
) -> dict[str, Any]:
    return await exchange_balances.dashboard_balance(conn, box, market_data.exchanges, user.id)
