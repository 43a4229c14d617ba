"""A user never sees or changes another user's rows: every resource answers 404, including
through widget ids inside a batch and group ids linked from widgets."""

from __future__ import annotations

from typing import Any

import httpx

from tests.workspace.helpers import User, api_error, data

POSITION = {"x": 0, "y": 0, "width": 10, "height": 10}


async def _snapshot(client: httpx.AsyncClient, user: User) -> dict[str, Any]:
    h = user.headers
    dashboards = data(await client.get("/api/dashboards", headers=h))
    return {
        "dashboards": [
            data(await client.get(f"/api/dashboards/{d['id']}", headers=h)) for d in dashboards
        ],
        "groups": data(await client.get("/api/groups", headers=h)),
        "settings": data(await client.get("/api/settings", headers=h)),
        "providers": data(await client.get("/api/providers", headers=h)),
        "accounts": data(await client.get("/api/accounts", headers=h)),
        "keys": (await client.get("/api/exchange-keys", headers=h)).json(),
    }


async def test_cross_user_isolation(client: httpx.AsyncClient, alice: User, bob: User) -> None:
    b = bob.headers
    bob_dashboard = data(await client.get("/api/dashboards", headers=b))[0]
    bob_widget = data(await client.get(f"/api/widgets/dashboard/{bob_dashboard['id']}", headers=b))[
        0
    ]
    bob_group = data(await client.get("/api/groups", headers=b))[0]
    bob_provider = data(await client.get("/api/providers", headers=b))[0]
    data(await client.put(f"/api/settings/widget/{bob_widget['id']}", json={"settings": {"s": 1}},
                          headers=b))  # fmt: skip
    bob_account = data(
        await client.post(
            "/api/accounts", json={"exchange": "okx", "apiKey": "k", "secret": "s"}, headers=b
        ),
        201,
    )
    before = await _snapshot(client, bob)

    a = alice.headers
    alice_dashboard = data(await client.get("/api/dashboards", headers=a))[0]
    alice_widget = data(await client.get(f"/api/widgets/dashboard/{alice_dashboard['id']}",
                                         headers=a))[0]  # fmt: skip

    # Lists show only the caller's rows.
    alice_view = await _snapshot(client, alice)
    flat = str(alice_view)
    for row in (bob_dashboard, bob_widget, bob_group, bob_provider, bob_account):
        assert row["id"] not in flat

    dashboard, widget = bob_dashboard["id"], bob_widget["id"]
    group, provider, account = bob_group["id"], bob_provider["id"], bob_account["id"]
    mine_moved = {"id": alice_widget["id"], "position": {"x": 777}}
    new_widget = {"dashboardId": alice_dashboard["id"], "type": "chart", "position": POSITION}
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/api/dashboards/{dashboard}", None),
        ("PUT", f"/api/dashboards/{dashboard}", {"title": "mine"}),
        ("PUT", f"/api/dashboards/{dashboard}", {"isDefault": True}),
        ("DELETE", f"/api/dashboards/{dashboard}", None),
        ("GET", f"/api/widgets/dashboard/{dashboard}", None),
        ("POST", "/api/widgets", {"dashboardId": dashboard, "type": "chart", "position": POSITION}),
        ("PUT", f"/api/widgets/{widget}", {"isVisible": False}),
        ("DELETE", f"/api/widgets/{widget}", None),
        ("PUT", "/api/widgets/batch", {"widgets": [{"id": widget, "position": {"x": 5}}]}),
        # Alice's own widget with Bob's in the same batch: nothing of the batch is applied.
        (
            "PUT",
            "/api/widgets/batch",
            {"widgets": [mine_moved, {"id": widget, "position": {"x": 5}}]},
        ),
        # Alice's widgets cannot link Bob's group.
        ("POST", "/api/widgets", {**new_widget, "groupId": group}),
        ("PUT", f"/api/widgets/{alice_widget['id']}", {"groupId": group}),
        ("GET", f"/api/groups/{group}", None),
        ("PUT", f"/api/groups/{group}", {"name": "mine"}),
        ("DELETE", f"/api/groups/{group}", None),
        ("GET", f"/api/settings/widget/{widget}", None),
        ("PUT", f"/api/settings/widget/{widget}", {"settings": {"s": 2}}),
        ("PUT", f"/api/providers/{provider}", {"priority": 0}),
        ("DELETE", f"/api/providers/{provider}", None),
        ("PUT", f"/api/accounts/{account}", {"label": "mine"}),
        ("DELETE", f"/api/accounts/{account}", None),
        ("DELETE", "/api/exchange-keys", {"id": account}),
    ]
    for method, path, body in attempts:
        response = await client.request(method, path, json=body, headers=a)
        api_error(response, 404)

    # Settings are per user: the same key is two rows.
    data(await client.put("/api/settings/theme", json={"value": "alice"}, headers=a))
    data(await client.delete("/api/settings/activeProviderId", headers=a))
    assert data(await client.get("/api/settings/theme", headers=b))["value"] == "dark"

    assert await _snapshot(client, bob) == before
    after = data(await client.get(f"/api/dashboards/{alice_dashboard['id']}", headers=a))
    assert {w["id"]: w for w in after["widgets"]}[alice_widget["id"]]["position"] == alice_widget[
        "position"
    ]
