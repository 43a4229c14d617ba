"""Hostile bodies on every workspace write route: a 4xx in the /api envelope, never a 500."""

from __future__ import annotations

import httpx

from tests.workspace.helpers import User, data


def _nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = {"k": value}
    return value


async def test_hostile_bodies_get_4xx(client: httpx.AsyncClient, alice: User) -> None:
    dashboard = data(await client.get("/api/dashboards", headers=alice.headers))[0]
    widget = data(await client.get(f"/api/widgets/dashboard/{dashboard['id']}",
                                   headers=alice.headers))[0]  # fmt: skip
    group = data(await client.get("/api/groups", headers=alice.headers))[0]
    provider = data(await client.get("/api/providers", headers=alice.headers))[0]
    account = data(await client.post("/api/accounts", json={"exchange": "okx", "apiKey": "k",
                                     "secret": "s"}, headers=alice.headers), 201)  # fmt: skip
    routes = [
        ("POST", "/api/dashboards"), ("PUT", f"/api/dashboards/{dashboard['id']}"),
        ("POST", "/api/widgets"), ("PUT", f"/api/widgets/{widget['id']}"),
        ("PUT", "/api/widgets/batch"), ("POST", "/api/groups"), ("PUT", f"/api/groups/{group['id']}"),
        ("PUT", "/api/settings"), ("PUT", "/api/settings/theme"),
        ("PUT", f"/api/settings/widget/{widget['id']}"), ("POST", "/api/providers"),
        ("PUT", f"/api/providers/{provider['id']}"), ("POST", "/api/accounts"),
        ("PUT", f"/api/accounts/{account['id']}"), ("POST", "/api/exchange-keys"),
        ("DELETE", "/api/exchange-keys"),
    ]  # fmt: skip
    raw_bodies = [b"{not json", b"[1, 2]", b"null", b"", b'"text"', b"1e999", b'{"\xff": 1}']
    json_bodies: list[object] = [
        {"title": "nul\x00", "name": "nul\x00", "value": "nul\x00", "settings": {"a": "\x00"}},
        {"title": "\ud800", "name": "\ud800", "value": "\ud800", "settings": {"\ud800": 1}},
        {"layout": _nested(40), "config": _nested(40), "value": _nested(40),
         "settings": {"deep": _nested(40)}},
        {"priority": 10**40, "position": {"x": 10**40}, "widgets": [{"id": 5}]},
        {"id": ["x"], "exchange": {"a": 1}, "apiKey": 5, "secret": None, "type": []},
    ]  # fmt: skip
    headers = {**alice.headers, "Content-Type": "application/json"}
    for method, path in routes:
        for raw in raw_bodies:
            response = await client.request(method, path, content=raw, headers=headers)
            assert 400 <= response.status_code < 500, (method, path, raw, response.text)
            assert isinstance(response.json()["error"], str)
        for body in json_bodies:
            content = json_bytes(body)
            response = await client.request(method, path, content=content, headers=headers)
            assert 400 <= response.status_code < 500, (method, path, body, response.text)
            assert isinstance(response.json()["error"], str)
    # Bodies valid in every other way: text PostgreSQL cannot store, JSON nested too deep.
    targeted: list[tuple[str, str, object]] = [
        ("POST", "/api/dashboards", {"title": "a\x00b"}),
        ("POST", "/api/dashboards", {"title": "ok", "layout": {"k\x00": 1}}),
        ("POST", "/api/dashboards", {"title": "ok", "layout": _nested(40)}),
        ("PUT", "/api/settings/theme", {"value": "a\x00"}),
        ("PUT", "/api/settings/theme", {"value": "\ud800"}),
        ("PUT", "/api/settings", {"settings": {"theme": {"nested": ["\x00"]}}}),
        ("PUT", f"/api/settings/widget/{widget['id']}", {"settings": {"x": "\udfff"}}),
        ("POST", "/api/groups", {"name": "\x00"}),
        ("POST", "/api/accounts", {"exchange": "okx", "apiKey": "k\x00", "secret": "s"}),
    ]
    for method, path, body in targeted:
        response = await client.request(method, path, content=json_bytes(body), headers=headers)
        assert response.status_code == 400, (method, path, body, response.text)
        assert response.json()["code"] == "VALIDATION_ERROR"
    # Nothing of the above reached the database.
    settings = data(await client.get("/api/settings", headers=alice.headers))
    assert settings["theme"] == "dark"


def json_bytes(value: object) -> bytes:
    """JSON with lone surrogates kept as escapes (the stdlib encoder writes them escaped)."""
    import json

    return json.dumps(value).encode()
