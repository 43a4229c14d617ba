"""Per-user revisions in PostgreSQL and state:changed events on Redis."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx

from tests.platform.helpers import ClientFactory
from tests.workspace.helpers import EventInbox, User, api_error, data, state_events


async def _revision(database_url: str, user_id: uuid.UUID) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        rev: int = await conn.fetchval(
            "SELECT rev FROM user_state_revisions WHERE user_id = $1", user_id
        )
        return rev
    finally:
        await conn.close()


async def test_changes_publish_state_changed_with_origin_and_rev(
    client: httpx.AsyncClient, alice: User, redis_url: str, database_url: str
) -> None:
    start = await _revision(database_url, alice.id)
    assert start > 0  # the default workspace was recorded at registration
    async with state_events(redis_url, alice.id) as inbox:
        tab = {**alice.headers, "X-Client-Id": "tab-1"}
        dashboard = data(
            await client.post("/api/dashboards", json={"title": "T"}, headers=tab), 201
        )
        event = await inbox.next()
        assert event == {
            "type": "state:changed",
            "userId": str(alice.id),
            "domain": "dashboard",
            "action": "created",
            "id": dashboard["id"],
            "data": dashboard,
            "origin": "tab-1",
            "rev": start + 1,
        }

        widgets = data(await client.get("/api/dashboards", headers=alice.headers))
        main = data(await client.get(f"/api/dashboards/{widgets[0]['id']}", headers=alice.headers))
        ids = [w["id"] for w in main["widgets"][:2]]
        batch = {"widgets": [{"id": i, "position": {"x": 1}} for i in ids]}
        data(await client.put("/api/widgets/batch", json=batch, headers=alice.headers))
        first, second = await inbox.next(), await inbox.next()
        assert [(e["domain"], e["action"], e["id"]) for e in (first, second)] == [
            ("widget", "updated", ids[0]), ("widget", "updated", ids[1]),
        ]  # fmt: skip
        assert (first["rev"], second["rev"]) == (start + 2, start + 3)
        assert first["origin"] is None

        # A refused change records nothing.
        api_error(await client.delete(f"/api/widgets/{uuid.uuid4()}", headers=alice.headers), 404)
        bad = {"widgets": [{"id": ids[0], "position": {"x": 1}}, {"id": str(uuid.uuid4()),
               "position": {"x": 1}}]}  # fmt: skip
        api_error(await client.put("/api/widgets/batch", json=bad, headers=alice.headers), 404)

        data(
            await client.put("/api/settings/theme", json={"value": "light"}, headers=alice.headers)
        )
        event = await inbox.next()
        assert (event["domain"], event["action"], event["id"], event["rev"]) == (
            "settings", "updated", "theme", start + 4,
        )  # fmt: skip
        assert event["data"] == {"key": "theme", "value": "light"}

        data(await client.put(f"/api/settings/widget/{ids[0]}", json={"settings": {"a": 1}},
                              headers=alice.headers))  # fmt: skip
        event = await inbox.next()
        assert (event["domain"], event["id"]) == ("settings", f"widget:{ids[0]}")

        account = {"exchange": "binance", "apiKey": "AK-secret", "secret": "S-secret"}
        data(await client.post("/api/accounts", json=account, headers=alice.headers), 201)
        event = await inbox.next()
        assert event["domain"] == "account" and event["action"] == "created"
        assert "AK-secret" not in str(event) and "S-secret" not in str(event)
        assert inbox.drain() == []
    assert await _revision(database_url, alice.id) == start + 6


async def test_events_go_to_the_owner_only(
    client: httpx.AsyncClient, alice: User, bob: User, redis_url: str
) -> None:
    async with (
        state_events(redis_url, alice.id) as alice_inbox,
        state_events(redis_url, bob.id) as bob_inbox,
    ):
        data(await client.post("/api/groups", json={"name": "B"}, headers=bob.headers), 201)
        assert (await bob_inbox.next())["domain"] == "group"
        await asyncio.sleep(0.1)
        assert alice_inbox.drain() == []


async def _collect(inbox: EventInbox, count: int) -> list[dict[str, object]]:
    return [await inbox.next() for _ in range(count)]


async def test_revisions_are_monotonic_across_api_processes(
    client_factory: ClientFactory, redis_url: str, database_url: str
) -> None:
    """Two app instances (two pools, as two API processes would have) change one user's state
    concurrently: revisions are distinct and gapless, and follow commit order."""
    async with (
        client_factory(registration_mode="open") as one,
        client_factory(registration_mode="open") as two,
    ):
        from tests.workspace.helpers import sign_up

        user = await sign_up(one, "busy@example.com")
        start = await _revision(database_url, user.id)
        writes = 40
        async with state_events(redis_url, user.id) as inbox:
            requests = [
                (one if n % 2 else two).put(
                    "/api/settings/counter", json={"value": n}, headers=user.headers
                )
                for n in range(writes)
            ]
            responses = await asyncio.gather(*requests)
            assert all(r.status_code == 200 for r in responses)
            events = await _collect(inbox, writes)
        revs = [e["rev"] for e in events]
        assert sorted(revs) == list(range(start + 1, start + writes + 1))  # type: ignore[type-var]
        assert await _revision(database_url, user.id) == start + writes
        # The stored value is the one written by the change with the highest revision.
        last = max(events, key=lambda e: e["rev"])  # type: ignore[arg-type,return-value]
        stored = data(await one.get("/api/settings/counter", headers=user.headers))["value"]
        assert last["data"] == {"key": "counter", "value": stored}
