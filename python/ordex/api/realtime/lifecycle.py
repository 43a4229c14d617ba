"""Shutting down what the market-data routes and live streams opened in an app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


async def close_market_data(app: FastAPI) -> None:
    """Closes the ccxt instances and the proxy's connections, when they were ever opened."""
    for name in ("market_data", "cors_proxy"):
        service: Any = getattr(app.state, name, None)
        if service is not None:
            setattr(app.state, name, None)
            await service.close()
