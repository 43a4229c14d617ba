"""`GET /api/exchanges`: the supported exchanges with their display names and ccxt ids."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from ordex.api.deps import DbConn
from ordex.db import exchanges as exchanges_repo

router = APIRouter(tags=["market data"])


@router.get("/api/exchanges")
async def list_exchanges(conn: DbConn) -> dict[str, Any]:
    rows = await exchanges_repo.list_active(conn)
    return {"exchanges": [asdict(row) for row in rows]}
