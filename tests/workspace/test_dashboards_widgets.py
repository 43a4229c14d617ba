"""Dashboards and widgets: every documented example of the User State API, the default dashboard,
batch atomicity and validation."""

from __future__ import annotations

import uuid

import asyncpg
import httpx

from tests.workspace.helpers import User, api_error, data

CHART = {
    "type": "chart",
    "defaultTitle": "BTC Chart",
    "position": {"x": 0, "y": 0, "width": 800, "height": 500, "zIndex": 1},
    "config": {},
}


async def _dashboard(client: httpx.AsyncClient, user: User, title: str = "My Dashboard") -> str:
    body = {"title": title, "description": "optional", "layout": {}, "isDefault": False}
    created = data(await client.post("/api/dashboards", json=body, headers=user.headers), 201)
    dashboard_id: str = created["id"]
    return dashboard_id


async def test_register_creates_default_dashboard_with_six_widgets(
    client: httpx.AsyncClient, alice: User
) -> None:
    dashboards = data(await client.get("/api/dashboards", headers=alice.headers))
    assert len(dashboards) == 1
    main = dashboards[0]
    assert main["title"] == "Main Dashboard" and main["isDefault"] is True
    full = data(await client.get(f"/api/dashboards/{main['id']}", headers=alice.headers))
    types = [w["type"] for w in full["widgets"]]
    assert types == ["chart", "orderbook", "trades", "orderForm", "userBalances", "userTradingData"]
    groups = data(await client.get("/api/groups", headers=alice.headers))
    assert [(g["name"], g["tradingPair"], g["exchange"]) for g in groups] == [
        ("Default", "BTC/USDT", "binance")
    ]
    assert {w["groupId"] for w in full["widgets"]} == {groups[0]["id"]}
    settings = data(await client.get("/api/settings", headers=alice.headers))
    assert settings["activeDashboardId"] == main["id"]
    assert settings["selectedGroupId"] == groups[0]["id"]
    assert settings["theme"] == "dark"
    providers = data(await client.get("/api/providers", headers=alice.headers))
    assert [(p["type"], p["priority"]) for p in providers] == [("ccxt-server", 1)]


async def test_root_register_creates_the_default_dashboard_too(
    client: httpx.AsyncClient, database_url: str
) -> None:
    registered = await client.post(
        "/auth/register", json={"email": "root@example.com", "password": "long-password"}
    )
    assert registered.status_code == 201
    conn = await asyncpg.connect(database_url)
    try:
        user_id = registered.json()["userId"]
        count = await conn.fetchval(
            "SELECT count(*) FROM widgets w JOIN dashboards d ON d.id = w.dashboard_id "
            "WHERE d.user_id = $1 AND d.is_default",
            uuid.UUID(user_id),
        )
    finally:
        await conn.close()
    assert count == 6


async def test_dashboard_examples(client: httpx.AsyncClient, alice: User) -> None:
    # POST /api/dashboards  Body: { "title", "description", "layout", "isDefault" }
    dashboard_id = await _dashboard(client, alice)
    listed = data(await client.get("/api/dashboards", headers=alice.headers))
    assert [d["title"] for d in listed] == ["Main Dashboard", "My Dashboard"]

    # PUT /api/dashboards/:id  Body: { "title": "New Title", "layout": { "gridSize": ... } }
    layout = {"gridSize": {"width": 1920, "height": 1080}}
    updated = data(
        await client.put(
            f"/api/dashboards/{dashboard_id}",
            json={"title": "New Title", "layout": layout},
            headers=alice.headers,
        )
    )
    assert updated["title"] == "New Title" and updated["layout"] == layout
    assert updated["description"] == "optional"

    # GET /api/dashboards/:id returns the dashboard with all its widgets
    widget = data(
        await client.post(
            "/api/widgets", json={**CHART, "dashboardId": dashboard_id}, headers=alice.headers
        ),
        201,
    )
    full = data(await client.get(f"/api/dashboards/{dashboard_id}", headers=alice.headers))
    assert [w["id"] for w in full["widgets"]] == [widget["id"]]

    # DELETE /api/dashboards/:id cascades to widgets
    assert (
        data(await client.delete(f"/api/dashboards/{dashboard_id}", headers=alice.headers)) is None
    )
    api_error(await client.get(f"/api/dashboards/{dashboard_id}", headers=alice.headers), 404)
    api_error(await client.put(f"/api/widgets/{widget['id']}", json={"isVisible": False},
                               headers=alice.headers), 404, "WIDGET_NOT_FOUND")  # fmt: skip


async def test_one_default_dashboard(client: httpx.AsyncClient, alice: User) -> None:
    second = data(
        await client.post(
            "/api/dashboards", json={"title": "Second", "isDefault": True}, headers=alice.headers
        ),
        201,
    )
    listed = data(await client.get("/api/dashboards", headers=alice.headers))
    assert [d["id"] for d in listed if d["isDefault"]] == [second["id"]]


async def test_widget_examples(client: httpx.AsyncClient, alice: User) -> None:
    dashboard_id = await _dashboard(client, alice)
    groups = data(await client.get("/api/groups", headers=alice.headers))
    # POST /api/widgets with every documented field, groupId included
    created = data(
        await client.post(
            "/api/widgets",
            json={**CHART, "dashboardId": dashboard_id, "groupId": groups[0]["id"]},
            headers=alice.headers,
        ),
        201,
    )
    assert created["type"] == "chart" and created["defaultTitle"] == "BTC Chart"
    assert created["position"] == CHART["position"] and created["groupId"] == groups[0]["id"]

    # GET /api/widgets/dashboard/:dashboardId
    listed = data(await client.get(f"/api/widgets/dashboard/{dashboard_id}", headers=alice.headers))
    assert [w["id"] for w in listed] == [created["id"]]

    # PUT /api/widgets/:id  Body: { "position": {...} }  (position, title, config, visibility)
    position = {"x": 100, "y": 200, "width": 800, "height": 500, "zIndex": 1}
    moved = data(
        await client.put(
            f"/api/widgets/{created['id']}", json={"position": position}, headers=alice.headers
        )
    )
    assert moved["position"] == position
    changed = data(
        await client.put(
            f"/api/widgets/{created['id']}",
            json={"userTitle": "Mine", "config": {"timeframe": "1h"}, "isVisible": False},
            headers=alice.headers,
        )
    )
    assert (changed["userTitle"], changed["config"], changed["isVisible"]) == (
        "Mine", {"timeframe": "1h"}, False,
    )  # fmt: skip
    # A partial position keeps the other fields.
    nudged = data(
        await client.put(
            f"/api/widgets/{created['id']}", json={"position": {"x": 5.5}}, headers=alice.headers
        )
    )
    assert nudged["position"] == {**position, "x": 5.5}

    # DELETE /api/widgets/:id
    assert data(await client.delete(f"/api/widgets/{created['id']}", headers=alice.headers)) is None
    assert (
        data(await client.get(f"/api/widgets/dashboard/{dashboard_id}", headers=alice.headers))
        == []
    )


async def test_every_documented_widget_type(client: httpx.AsyncClient, alice: User) -> None:
    dashboard_id = await _dashboard(client, alice)
    types = [
        "chart",
        "orderbook",
        "trades",
        "orderForm",
        "portfolio",
        "userBalances",
        "userTradingData",
        "deals",
        "transactionHistory",
        "dataProviderSettings",
        "dataProviderDebug",
        "exchanges",
        "markets",
        "pairs",
    ]
    for widget_type in types:
        body = {**CHART, "type": widget_type, "dashboardId": dashboard_id}
        data(await client.post("/api/widgets", json=body, headers=alice.headers), 201)
    unknown = await client.post(
        "/api/widgets",
        json={**CHART, "type": "heatmap", "dashboardId": dashboard_id},
        headers=alice.headers,
    )
    assert api_error(unknown, 400, "VALIDATION_ERROR")["field"] == "type"


async def test_batch_positions(client: httpx.AsyncClient, alice: User) -> None:
    dashboard = data(await client.get("/api/dashboards", headers=alice.headers))[0]
    widgets = data(await client.get(f"/api/dashboards/{dashboard['id']}", headers=alice.headers))[
        "widgets"
    ]
    first, second = widgets[0], widgets[1]
    # PUT /api/widgets/batch  Body: { "widgets": [{ "id", "position" }, ...] }
    body = {
        "widgets": [
            {"id": first["id"], "position": {"x": 10, "y": 20, "width": 300, "height": 200}},
            {"id": second["id"], "position": {"x": 400, "y": 20, "width": 300, "height": 200,
                                              "zIndex": 9}},
        ]
    }  # fmt: skip
    updated = data(await client.put("/api/widgets/batch", json=body, headers=alice.headers))
    assert [w["id"] for w in updated] == [first["id"], second["id"]]
    assert updated[0]["position"] == {"x": 10, "y": 20, "width": 300, "height": 200,
                                      "zIndex": first["position"]["zIndex"]}  # fmt: skip
    assert updated[1]["position"]["zIndex"] == 9


async def test_batch_is_all_or_nothing(client: httpx.AsyncClient, alice: User) -> None:
    dashboard = data(await client.get("/api/dashboards", headers=alice.headers))[0]
    before = data(await client.get(f"/api/dashboards/{dashboard['id']}", headers=alice.headers))
    good = before["widgets"][0]
    missing = "00000000-0000-4000-8000-000000000000"
    body = {
        "widgets": [
            {"id": good["id"], "position": {"x": 999, "y": 999, "width": 1, "height": 1}},
            {"id": missing, "position": {"x": 1, "y": 1, "width": 1, "height": 1}},
        ]
    }
    failed = api_error(
        await client.put("/api/widgets/batch", json=body, headers=alice.headers),
        404, "WIDGET_NOT_FOUND",
    )  # fmt: skip
    assert missing in failed["error"]
    # A bad position anywhere fails validation before anything is written.
    body["widgets"][1] = {"id": before["widgets"][1]["id"], "position": {"width": -1}}
    api_error(await client.put("/api/widgets/batch", json=body, headers=alice.headers), 400)
    body["widgets"][1] = {"id": good["id"], "position": {"x": 1}}
    api_error(
        await client.put("/api/widgets/batch", json=body, headers=alice.headers),
        400, "DUPLICATE_WIDGET",
    )  # fmt: skip
    after = data(await client.get(f"/api/dashboards/{dashboard['id']}", headers=alice.headers))
    assert after["widgets"] == before["widgets"]


INVALID_DASHBOARDS: list[tuple[dict[str, object], str]] = [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({}, "title"),
    ({"title": "ok", "layout": []}, "layout"),
    ({"title": "ok", "isDefault": "maybe"}, "isDefault"),
    ({"title": "ok", "colour": "red"}, "colour"),
]
INVALID_POSITIONS: list[dict[str, object]] = [
    {"x": 0, "y": 0, "width": -1, "height": 10},
    {"x": 0, "y": 0, "width": 10, "height": -0.5},
    {"x": 0, "y": 0, "width": 10},
    {"x": "left", "y": 0, "width": 10, "height": 10},
    {"x": 0, "y": 0, "width": 10, "height": 10, "depth": 3},
    {"x": 1e8, "y": 0, "width": 10, "height": 10},
]


async def test_dashboard_validation(client: httpx.AsyncClient, alice: User) -> None:
    for body, field in INVALID_DASHBOARDS:
        response = await client.post("/api/dashboards", json=body, headers=alice.headers)
        assert api_error(response, 400, "VALIDATION_ERROR")["field"] == field, body


async def test_widget_position_validation(client: httpx.AsyncClient, alice: User) -> None:
    dashboard_id = await _dashboard(client, alice)
    for position in INVALID_POSITIONS:
        body = {**CHART, "dashboardId": dashboard_id, "position": position}
        response = await client.post("/api/widgets", json=body, headers=alice.headers)
        assert api_error(response, 400, "VALIDATION_ERROR")["field"].startswith("position"), (
            position
        )


async def test_widget_update_validation(client: httpx.AsyncClient, alice: User) -> None:
    dashboard_id = await _dashboard(client, alice)
    widget = data(
        await client.post(
            "/api/widgets", json={**CHART, "dashboardId": dashboard_id}, headers=alice.headers
        ),
        201,
    )
    url = f"/api/widgets/{widget['id']}"
    api_error(await client.put(url, json={}, headers=alice.headers), 400, "VALIDATION_ERROR")
    api_error(await client.put(url, json={"config": None}, headers=alice.headers), 400)
    api_error(await client.put(url, json={"dashboardId": dashboard_id}, headers=alice.headers), 400)
    api_error(await client.put(url, json={"position": {"height": -3}}, headers=alice.headers), 400)
    bad_json = {**alice.headers, "Content-Type": "application/json"}
    api_error(await client.put(url, content=b"{not json", headers=bad_json), 400, "INVALID_JSON")
    # null is allowed where a field can be empty
    cleared = data(await client.put(url, json={"userTitle": None, "groupId": None},
                                    headers=alice.headers))  # fmt: skip
    assert cleared["userTitle"] is None and cleared["groupId"] is None


async def test_unknown_ids_are_404(client: httpx.AsyncClient, alice: User) -> None:
    for path in (
        "/api/dashboards/not-a-uuid",
        "/api/dashboards/00000000-0000-4000-8000-000000000000",
    ):
        api_error(await client.get(path, headers=alice.headers), 404, "DASHBOARD_NOT_FOUND")
    api_error(await client.delete("/api/widgets/nope", headers=alice.headers), 404)
    api_error(await client.get("/api/widgets/dashboard/nope", headers=alice.headers), 404)
    dashboard_id = await _dashboard(client, alice)
    missing_group = {**CHART, "dashboardId": dashboard_id,
                     "groupId": "00000000-0000-4000-8000-000000000000"}  # fmt: skip
    body = api_error(await client.post("/api/widgets", json=missing_group, headers=alice.headers),
                     404, "GROUP_NOT_FOUND")  # fmt: skip
    assert body["field"] == "groupId"


async def test_workspace_routes_need_a_credential(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/dashboards"), ("GET", "/api/groups"), ("GET", "/api/settings"),
        ("GET", "/api/providers"), ("GET", "/api/accounts"), ("GET", "/api/exchange-keys"),
        ("PUT", "/api/widgets/batch"), ("GET", "/api/settings/widget/x"),
    ]:  # fmt: skip
        api_error(await client.request(method, path), 401, "UNAUTHENTICATED")
