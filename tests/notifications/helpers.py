"""Helpers of the notification tests."""

from __future__ import annotations

from typing import Any

from tests.marketdata.fake_binance import API_KEY, SECRET
from tests.sessions.helpers import SessionsApi
from tests.workspace.helpers import User


async def notifications(
    api: SessionsApi, user: User | None = None, **params: Any
) -> dict[str, Any]:
    response = await api.get("/api/notifications", user, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"notifications", "total"}
    return body


async def store_key(
    api: SessionsApi,
    user: User | None = None,
    *,
    api_key: str = API_KEY,
    secret: str = SECRET,
    label: str = "Main Account",
) -> str:
    created = await api.post(
        "/api/exchange-keys",
        {"exchange": "binance", "label": label, "apiKey": api_key, "secret": secret},
        user,
    )
    assert created.status_code == 201, created.text
    key_id: str = created.json()["id"]
    return key_id


async def patch(api: SessionsApi, path: str, user: User | None = None) -> Any:
    return await api.http.patch(path, headers=(user or api.alice).headers)
