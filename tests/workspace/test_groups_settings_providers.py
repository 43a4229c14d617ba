"""Groups, settings, widget settings and data providers: the documented examples and validation."""

from __future__ import annotations

import httpx

from tests.workspace.helpers import User, api_error, data

COLORS = [
    "transparent",
    "#00BCD4",
    "#F44336",
    "#9C27B0",
    "#2196F3",
    "#4CAF50",
    "#FF9800",
    "#E91E63",
]
BTC_SPOT = {
    "name": "BTC Spot",
    "color": "#2196F3",
    "exchange": "binance",
    "market": "spot",
    "tradingPair": "BTC/USDT",
}


async def test_group_examples(client: httpx.AsyncClient, alice: User) -> None:
    # POST /api/groups  Body: { "name", "color", "exchange", "market", "tradingPair" }
    group = data(await client.post("/api/groups", json=BTC_SPOT, headers=alice.headers), 201)
    assert {k: group[k] for k in BTC_SPOT} == BTC_SPOT
    # PUT /api/groups/:id  Body: { "tradingPair": "ETH/USDT", "exchange": "bybit" }
    updated = data(
        await client.put(
            f"/api/groups/{group['id']}",
            json={"tradingPair": "ETH/USDT", "exchange": "bybit"},
            headers=alice.headers,
        )
    )
    assert (updated["tradingPair"], updated["exchange"], updated["name"]) == (
        "ETH/USDT", "bybit", "BTC Spot",
    )  # fmt: skip
    listed = data(await client.get("/api/groups", headers=alice.headers))
    assert [g["name"] for g in listed] == ["Default", "BTC Spot"]
    assert data(await client.get(f"/api/groups/{group['id']}", headers=alice.headers)) == updated
    # DELETE /api/groups/:id
    assert data(await client.delete(f"/api/groups/{group['id']}", headers=alice.headers)) is None
    api_error(await client.get(f"/api/groups/{group['id']}", headers=alice.headers), 404)


async def test_group_colors(client: httpx.AsyncClient, alice: User) -> None:
    for color in COLORS:
        body = {"name": color, "color": color}
        assert (
            data(await client.post("/api/groups", json=body, headers=alice.headers), 201)["color"]
            == color
        )
    for bad in ("#ffffff", "red", "#2196f3", "", None):
        response = await client.post("/api/groups", json={"name": "x", "color": bad},
                                     headers=alice.headers)  # fmt: skip
        assert api_error(response, 400, "VALIDATION_ERROR")["field"] == "color"
    assert (
        api_error(
            await client.post("/api/groups", json={"color": "#2196F3"}, headers=alice.headers), 400
        )["field"]
        == "name"
    )
    default = data(
        await client.post("/api/groups", json={"name": "plain"}, headers=alice.headers), 201
    )
    assert default["color"] == "transparent"


async def test_deleting_a_group_unlinks_its_widgets(client: httpx.AsyncClient, alice: User) -> None:
    dashboard = data(await client.get("/api/dashboards", headers=alice.headers))[0]
    group = data(await client.get("/api/groups", headers=alice.headers))[0]
    data(await client.delete(f"/api/groups/{group['id']}", headers=alice.headers))
    widgets = data(
        await client.get(f"/api/widgets/dashboard/{dashboard['id']}", headers=alice.headers)
    )
    assert len(widgets) == 6 and {w["groupId"] for w in widgets} == {None}


async def test_settings_examples(client: httpx.AsyncClient, alice: User) -> None:
    # PUT /api/settings/:key  Body: { "value": "dark" }
    put = data(
        await client.put("/api/settings/theme", json={"value": "light"}, headers=alice.headers)
    )
    assert put == {"key": "theme", "value": "light"}
    # GET /api/settings/:key
    assert data(await client.get("/api/settings/theme", headers=alice.headers)) == put
    # PUT /api/settings  Body: { "settings": { "theme", "activeDashboardId", "selectedGroupId" } }
    bulk = {"theme": "dark", "activeDashboardId": "uuid", "selectedGroupId": "uuid"}
    assert (
        data(await client.put("/api/settings", json={"settings": bulk}, headers=alice.headers))
        == bulk
    )
    # GET /api/settings: every key, common ones included
    everything = data(await client.get("/api/settings", headers=alice.headers))
    assert {k: everything[k] for k in bulk} == bulk
    assert {"activeProviderId", "dataFetchSettings"} <= set(everything)
    # Values are any JSON, objects and null included.
    fetch = {"method": "rest", "restIntervals": {"trades": 2000}}
    data(
        await client.put(
            "/api/settings/dataFetchSettings", json={"value": fetch}, headers=alice.headers
        )
    )
    assert (
        data(await client.get("/api/settings/dataFetchSettings", headers=alice.headers))["value"]
        == fetch
    )
    data(await client.put("/api/settings/nothing", json={"value": None}, headers=alice.headers))
    assert data(await client.get("/api/settings/nothing", headers=alice.headers)) == {
        "key": "nothing", "value": None,
    }  # fmt: skip
    # DELETE /api/settings/:key
    assert data(await client.delete("/api/settings/theme", headers=alice.headers)) is None
    api_error(
        await client.get("/api/settings/theme", headers=alice.headers), 404, "SETTING_NOT_FOUND"
    )
    api_error(await client.delete("/api/settings/theme", headers=alice.headers), 404)


async def test_settings_validation(client: httpx.AsyncClient, alice: User) -> None:
    h = alice.headers
    api_error(await client.put("/api/settings/theme", json={}, headers=h), 400, "VALIDATION_ERROR")
    api_error(await client.put("/api/settings/theme", json={"value": 1, "x": 2}, headers=h), 400)
    api_error(await client.put("/api/settings", json={"settings": {}}, headers=h), 400)
    api_error(await client.put("/api/settings", json={"settings": []}, headers=h), 400)
    api_error(await client.put("/api/settings", json={"settings": {"bad key": 1}}, headers=h), 400)
    bad_key = await client.put("/api/settings/" + "k" * 129, json={"value": 1}, headers=h)
    assert api_error(bad_key, 400, "INVALID_SETTING_KEY")["field"] == "key"


async def test_widget_settings_examples(client: httpx.AsyncClient, alice: User) -> None:
    dashboard = data(await client.get("/api/dashboards", headers=alice.headers))[0]
    widget_id = data(await client.get(f"/api/widgets/dashboard/{dashboard['id']}",
                                      headers=alice.headers))[0]["id"]  # fmt: skip
    url = f"/api/settings/widget/{widget_id}"
    api_error(await client.get(url, headers=alice.headers), 404, "WIDGET_SETTINGS_NOT_FOUND")
    # PUT /api/settings/widget/:widgetId  Body: { "settings": { "timeframe": "1h", "showVolume": true } }
    settings = {"timeframe": "1h", "showVolume": True}
    assert (
        data(await client.put(url, json={"settings": settings}, headers=alice.headers)) == settings
    )
    # GET /api/settings/widget/:widgetId
    assert data(await client.get(url, headers=alice.headers)) == settings
    replaced = {"timeframe": "4h"}
    data(await client.put(url, json={"settings": replaced}, headers=alice.headers))
    assert data(await client.get(url, headers=alice.headers)) == replaced
    api_error(await client.put(url, json={"settings": "1h"}, headers=alice.headers), 400)
    # Deleting the widget deletes its settings.
    data(await client.delete(f"/api/widgets/{widget_id}", headers=alice.headers))
    api_error(await client.get(url, headers=alice.headers), 404, "WIDGET_NOT_FOUND")


async def test_provider_examples(client: httpx.AsyncClient, alice: User) -> None:
    # POST /api/providers  Body: { "name", "type", "exchanges", "priority", "config" }
    body = {
        "name": "My Server Provider",
        "type": "ccxt-server",
        "exchanges": ["binance", "bybit"],
        "priority": 50,
        "config": {"serverUrl": "http://localhost:3001", "token": "my-token"},
    }
    created = data(await client.post("/api/providers", json=body, headers=alice.headers), 201)
    assert {k: created[k] for k in body} == body and created["status"] == "connected"
    # GET /api/providers lists by priority: the default provider (1) before this one (50)
    listed = data(await client.get("/api/providers", headers=alice.headers))
    assert [p["priority"] for p in listed] == [1, 50]
    # PUT /api/providers/:id  Body: { "status": "disconnected", "priority": 100 }
    updated = data(
        await client.put(
            f"/api/providers/{created['id']}",
            json={"status": "disconnected", "priority": 0},
            headers=alice.headers,
        )
    )
    assert (updated["status"], updated["priority"]) == ("disconnected", 0)
    listed = data(await client.get("/api/providers", headers=alice.headers))
    assert listed[0]["id"] == created["id"]
    data(await client.put(f"/api/providers/{created['id']}", json={"status": "disconnected",
                          "priority": 100}, headers=alice.headers))  # fmt: skip
    assert [
        p["priority"] for p in data(await client.get("/api/providers", headers=alice.headers))
    ] == [1, 100]
    # DELETE /api/providers/:id
    assert (
        data(await client.delete(f"/api/providers/{created['id']}", headers=alice.headers)) is None
    )
    assert len(data(await client.get("/api/providers", headers=alice.headers))) == 1


async def test_provider_types_and_validation(client: httpx.AsyncClient, alice: User) -> None:
    for provider_type in (
        "ccxt-browser",
        "ccxt-server",
        "marketmaker.cc",
        "custom-server-with-adapter",
    ):
        created = data(
            await client.post(
                "/api/providers", json={"name": provider_type, "type": provider_type},
                headers=alice.headers,
            ),
            201,
        )  # fmt: skip
        assert created["exchanges"] == ["*"] and created["priority"] == 100
    for body, field in [
        ({"name": "x", "type": "ccxt-cloud"}, "type"),
        ({"type": "ccxt-server"}, "name"),
        ({"name": "x", "type": "ccxt-server", "priority": -1}, "priority"),
        ({"name": "x", "type": "ccxt-server", "priority": 1.5}, "priority"),
        ({"name": "x", "type": "ccxt-server", "exchanges": []}, "exchanges"),
        ({"name": "x", "type": "ccxt-server", "exchanges": "binance"}, "exchanges"),
        ({"name": "x", "type": "ccxt-server", "status": "sleeping"}, "status"),
        ({"name": "x", "type": "ccxt-server", "config": [1]}, "config"),
    ]:
        response = await client.post("/api/providers", json=body, headers=alice.headers)
        assert api_error(response, 400, "VALIDATION_ERROR")["field"] == field, body
    provider = data(await client.get("/api/providers", headers=alice.headers))[0]
    api_error(await client.put(f"/api/providers/{provider['id']}", json={"priority": None},
                               headers=alice.headers), 400)  # fmt: skip
