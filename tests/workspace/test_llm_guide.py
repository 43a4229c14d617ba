"""The LLM integration guide of the workspace contract, steps 1-8, as one agent session."""

from __future__ import annotations

import httpx

from tests.platform.helpers import PASSWORD, bearer
from tests.workspace.helpers import data


async def test_llm_integration_guide_steps_1_to_8(client: httpx.AsyncClient) -> None:
    # 1. POST /api/auth/register -- create user account
    registered = await client.post(
        "/api/auth/register",
        json={"email": "agent@example.com", "password": PASSWORD, "name": "Agent"},
    )
    assert registered.status_code == 201, registered.text
    body = registered.json()
    assert {"id", "email", "name"} <= set(body["user"]) and body["token"]
    client.cookies.clear()  # the agent authenticates with the token only
    h = bearer(body["token"])

    # 2. GET /health -- verify server running
    health = await client.get("/health")
    assert health.status_code == 200, health.text

    # 3. GET /api/dashboards -- list user's dashboards
    dashboards = data(await client.get("/api/dashboards", headers=h))
    assert len(dashboards) == 1
    dashboard_id = dashboards[0]["id"]

    # 4. POST /api/widgets -- add a chart widget
    chart = data(
        await client.post(
            "/api/widgets",
            json={
                "dashboardId": dashboard_id,
                "type": "chart",
                "defaultTitle": "BTC Chart",
                "position": {"x": 0, "y": 0, "width": 800, "height": 500, "zIndex": 1},
                "config": {},
            },
            headers=h,
        ),
        201,
    )

    # 5. PUT /api/widgets/batch -- arrange widget positions
    widgets = data(await client.get(f"/api/widgets/dashboard/{dashboard_id}", headers=h))
    assert len(widgets) == 7
    arrangement = {
        "widgets": [
            {"id": w["id"], "position": {"x": 100 * n, "y": 50 * n, "width": 300, "height": 200,
                                         "zIndex": n + 1}}
            for n, w in enumerate(widgets)
        ]
    }  # fmt: skip
    arranged = data(await client.put("/api/widgets/batch", json=arrangement, headers=h))
    assert [w["position"]["x"] for w in arranged] == [100 * n for n in range(7)]

    # 6. POST /api/groups -- create instrument group (BTC/USDT on Binance)
    group = data(
        await client.post(
            "/api/groups",
            json={
                "name": "BTC Spot",
                "color": "#2196F3",
                "exchange": "binance",
                "market": "spot",
                "tradingPair": "BTC/USDT",
            },
            headers=h,
        ),
        201,
    )

    # 7. PUT /api/widgets/:id -- link widget to group
    linked = data(await client.put(f"/api/widgets/{chart['id']}", json={"groupId": group["id"]},
                                   headers=h))  # fmt: skip
    assert linked["groupId"] == group["id"]

    # 8. POST /api/accounts -- add exchange API keys
    account = await client.post(
        "/api/accounts",
        json={"exchange": "binance", "apiKey": "agent-key", "secret": "agent-secret",
              "label": "Agent Binance"},
        headers=h,
    )  # fmt: skip
    assert account.status_code == 201 and "agent-secret" not in account.text

    # The workspace the agent built, read back in one call.
    final = data(await client.get(f"/api/dashboards/{dashboard_id}", headers=h))
    by_id = {w["id"]: w for w in final["widgets"]}
    assert by_id[chart["id"]]["groupId"] == group["id"]
    assert (
        by_id[chart["id"]]["position"]
        == arrangement["widgets"][[w["id"] for w in widgets].index(chart["id"])]["position"]
    )
    accounts = data(await client.get("/api/accounts", headers=h))
    assert [a["label"] for a in accounts] == ["Agent Binance"]
