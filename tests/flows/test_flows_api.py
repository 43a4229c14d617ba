"""/api/flows and its versions against the real app, database and evaluator binding."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from tests.flows.examples import EXAMPLE_FLOW
from tests.workspace.helpers import User, api_error

DOCUMENT_KEYS = ("schemaVersion", "settings", "nodes", "edges")


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _document(flow: dict[str, Any]) -> dict[str, Any]:
    return {key: flow[key] for key in DOCUMENT_KEYS}


async def _create(
    client: httpx.AsyncClient, user: User, name: str = "RSI", document: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = {"name": name, **(document or EXAMPLE_FLOW())}
    created: dict[str, Any] = _ok(
        await client.post("/api/flows", json=body, headers=user.headers), 201
    )
    return created


async def _save(
    client: httpx.AsyncClient, user: User, flow_id: str, description: str | None = None
) -> dict[str, Any]:
    body = {} if description is None else {"description": description}
    path = f"/api/flows/{flow_id}/versions"
    saved: dict[str, Any] = _ok(await client.post(path, json=body, headers=user.headers), 201)
    return saved


async def _versions(client: httpx.AsyncClient, user: User, flow_id: str) -> list[dict[str, Any]]:
    body = _ok(await client.get(f"/api/flows/{flow_id}/versions", headers=user.headers))
    assert set(body) == {"versions"}
    versions: list[dict[str, Any]] = body["versions"]
    return versions


def _buy_only() -> dict[str, Any]:
    """The example without its exit branch: still valid, 5 nodes and 4 edges."""
    document = EXAMPLE_FLOW()
    document["nodes"] = [n for n in document["nodes"] if n["id"] not in ("gt", "exit")]
    document["edges"] = [e for e in document["edges"] if e["id"] not in ("e3", "e6")]
    return document


# --- the flow resource --------------------------------------------------------------------------


async def test_example_flow_round_trips(client: httpx.AsyncClient, alice: User) -> None:
    document = EXAMPLE_FLOW()
    # Editor keys ride along untouched.
    document["nodes"][0]["position"] = {"x": 10.5, "y": -3}
    document["nodes"][0]["label"] = "Hourly close"
    created = await _create(client, alice, "RSI mean reversion", document)
    assert set(created) == {
        "id", "name", "description", "status", *DOCUMENT_KEYS, "created_at", "updated_at"
    }  # fmt: skip
    uuid.UUID(created["id"])
    assert created["name"] == "RSI mean reversion"
    assert created["description"] is None
    assert created["status"] == "draft"
    assert _document(created) == document
    assert created["created_at"].endswith("Z")
    assert created["created_at"] == created["updated_at"]

    read = _ok(await client.get(f"/api/flows/{created['id']}", headers=alice.headers))
    assert read == created
    listed = _ok(await client.get("/api/flows", headers=alice.headers))
    assert listed == {"flows": [created]}


async def test_list_is_newest_updated_first(client: httpx.AsyncClient, alice: User) -> None:
    assert _ok(await client.get("/api/flows", headers=alice.headers)) == {"flows": []}
    first = await _create(client, alice, "first")
    second = await _create(client, alice, "second")
    names = [f["name"] for f in _ok(await client.get("/api/flows", headers=alice.headers))["flows"]]
    assert names == ["second", "first"]

    body = {"name": "first, renamed", **EXAMPLE_FLOW()}
    _ok(await client.put(f"/api/flows/{first['id']}", json=body, headers=alice.headers))
    flows = _ok(await client.get("/api/flows", headers=alice.headers))["flows"]
    assert [f["id"] for f in flows] == [first["id"], second["id"]]


async def test_put_replaces_every_field(client: httpx.AsyncClient, alice: User) -> None:
    body = {"name": "RSI", "description": "hourly", **EXAMPLE_FLOW()}
    created = _ok(await client.post("/api/flows", json=body, headers=alice.headers), 201)
    assert created["description"] == "hourly"

    replacement = {"name": "  Buy only  ", **_buy_only()}
    replacement["settings"]["symbol"] = "ETH/USDT"
    replaced = _ok(
        await client.put(f"/api/flows/{created['id']}", json=replacement, headers=alice.headers)
    )
    assert replaced["name"] == "Buy only"
    assert replaced["description"] is None  # left out: replaced by its default, not kept
    assert _document(replaced) == _document(replacement)
    assert replaced["status"] == "draft"
    assert replaced["created_at"] == created["created_at"]
    assert replaced["updated_at"] > created["updated_at"]
    assert _ok(await client.get(f"/api/flows/{created['id']}", headers=alice.headers)) == replaced


async def test_delete_takes_the_versions_with_it(client: httpx.AsyncClient, alice: User) -> None:
    flow = await _create(client, alice)
    version = await _save(client, alice, flow["id"], "v1")
    path = f"/api/flows/{flow['id']}"
    assert _ok(await client.delete(path, headers=alice.headers)) == {"deleted": True}
    api_error(await client.get(path, headers=alice.headers), 404, "FLOW_NOT_FOUND")
    api_error(await client.delete(path, headers=alice.headers), 404, "FLOW_NOT_FOUND")
    response = await client.get(f"{path}/versions/{version['id']}", headers=alice.headers)
    api_error(response, 404, "FLOW_NOT_FOUND")
    assert _ok(await client.get("/api/flows", headers=alice.headers)) == {"flows": []}


# --- validation ---------------------------------------------------------------------------------


def _node(document: dict[str, Any], node_id: str) -> dict[str, Any]:
    node: dict[str, Any] = next(n for n in document["nodes"] if n["id"] == node_id)
    return node


def _unknown_type(d: dict[str, Any]) -> None:
    _node(d, "rsi")["type"] = "indicator.crystal_ball"


def _bad_param(d: dict[str, Any]) -> None:
    _node(d, "rsi")["params"]["period"] = 1


def _cycle(d: dict[str, Any]) -> None:
    d["nodes"] += [
        {"id": "n1", "type": "logic.not", "params": {}},
        {"id": "n2", "type": "logic.not", "params": {}},
    ]
    d["edges"] += [
        {"id": "c1", "source": "n1", "sourceHandle": "out", "target": "n2", "targetHandle": "a"},
        {"id": "c2", "source": "n2", "sourceHandle": "out", "target": "n1", "targetHandle": "a"},
    ]


def _port_type_mismatch(d: dict[str, Any]) -> None:
    edge = next(e for e in d["edges"] if e["id"] == "e4")
    edge.update(source="rsi", sourceHandle="value")  # a series into the buy's bool `when`


def _unreachable_action(d: dict[str, Any]) -> None:
    d["nodes"].append({"id": "orphan", "type": "action.close", "params": {"orderType": "market"}})


def _dangling_edge(d: dict[str, Any]) -> None:
    d["edges"].append(
        {"id": "e7", "source": "t", "sourceHandle": "close", "target": "ghost",
         "targetHandle": "source"}
    )  # fmt: skip


# (mutation, the node or edge id named, the problem code, the parameter or port named)
BAD_FLOWS: dict[str, tuple[Callable[[dict[str, Any]], None], set[str], str, str | None]] = {
    "unknown type": (_unknown_type, {"rsi"}, "unknown_type", None),
    "bad param": (_bad_param, {"rsi"}, "bad_param", "period"),
    "cycle": (_cycle, {"n1", "n2"}, "cycle", None),
    "port type mismatch": (_port_type_mismatch, {"buy"}, "port_type", "when"),
    # Every wired input leads back to a trigger, so an action no trigger reaches is one whose
    # `when` is not connected: refused as such, naming the action.
    "unreachable action": (_unreachable_action, {"orphan"}, "missing_input", "when"),
    # The problem concerns the edge: it is the one named.
    "dangling edge": (_dangling_edge, {"e7"}, "unknown_node", None),
}


@pytest.mark.parametrize("case", list(BAD_FLOWS))
async def test_bad_flow_is_refused_naming_the_node(
    client: httpx.AsyncClient, alice: User, case: str
) -> None:
    mutate, named, problem, param = BAD_FLOWS[case]
    document = EXAMPLE_FLOW()
    mutate(document)

    body = {"name": "bad", **document}
    error = api_error(await client.post("/api/flows", json=body, headers=alice.headers), 400)
    assert error["code"] == "INVALID_FLOW", error
    details = error["details"]
    assert set(details) == {"node", "problem", "param"}
    assert details["node"] in named, error
    assert f"'{details['node']}'" in error["error"], error
    assert (details["problem"], details["param"]) == (problem, param), error
    assert _ok(await client.get("/api/flows", headers=alice.headers)) == {"flows": []}

    # The same document refused on a replace: the stored flow is left exactly as it was.
    flow = await _create(client, alice)
    response = await client.put(f"/api/flows/{flow['id']}", json=body, headers=alice.headers)
    assert api_error(response, 400, "INVALID_FLOW")["details"] == details
    assert _ok(await client.get(f"/api/flows/{flow['id']}", headers=alice.headers)) == flow


def _raw(body: dict[str, Any], **replace: str) -> bytes:
    """JSON text with some values spelled out raw (numbers JSON parsers read as inf or bigints)."""
    text = orjson.dumps(body).decode()
    for marker, raw in replace.items():
        text = text.replace(f'"{marker}"', raw)
    return text.encode()


async def test_out_of_bounds_bodies_are_400s(client: httpx.AsyncClient, alice: User) -> None:
    def body(**changes: Any) -> dict[str, Any]:
        return {"name": "RSI", **EXAMPLE_FLOW(), **changes}

    node = {"id": "n", "type": "logic.not", "params": {}}
    edge = {"id": "e", "source": "a", "sourceHandle": "out", "target": "b", "targetHandle": "a"}
    without_settings = body()
    del without_settings["settings"]
    bodies: list[dict[str, Any]] = [
        body(name=""), body(name="   "), body(name="x" * 201), without_settings,
        body(nodes=[1, 2]), body(edges="e1"), body(settings=[]), body(nodes=[node] * 501),
        body(edges=[edge] * 2001), body(status="running"), body(id=str(uuid.uuid4())),
        body(schemaVersion="1"), body(schemaVersion=0), body(description="d" * 2001),
        body(name="nul\x00"),
    ]  # fmt: skip
    raw: list[bytes] = [
        _raw(body(settings={"initialCapital": "INF"}), INF="1e999"),
        _raw(body(nodes=[{"id": "n", "params": {"b": "BIG"}}]), BIG=str(10**40)),
        b"{not json",
        b"[]",
        b"null",
    ]
    headers = {**alice.headers, "Content-Type": "application/json"}
    flow = await _create(client, alice)
    for method, path in (("POST", "/api/flows"), ("PUT", f"/api/flows/{flow['id']}")):
        for content in [orjson.dumps(b) for b in bodies] + raw:
            response = await client.request(method, path, content=content, headers=headers)
            error = api_error(response, 400)
            assert error["code"] in ("VALIDATION_ERROR", "INVALID_JSON"), (content[:80], error)
    # At the bounds exactly, the shape is accepted and the evaluator has the last word.
    at_bounds = body(name="x" * 200, nodes=[node] * 500, edges=[edge] * 2000)
    response = await client.post("/api/flows", json=at_bounds, headers=alice.headers)
    api_error(response, 400, "INVALID_FLOW")
    assert _ok(await client.get("/api/flows", headers=alice.headers)) == {"flows": [flow]}


# --- versions -----------------------------------------------------------------------------------


async def test_versions_are_listed_newest_first_with_counts(
    client: httpx.AsyncClient, alice: User
) -> None:
    flow = await _create(client, alice)
    assert await _versions(client, alice, flow["id"]) == []
    first = await _save(client, alice, flow["id"], "  Added RSI filter  ")
    assert set(first) == {"id", "flow_id", "version", "change_description", "created_at"}
    assert first["flow_id"] == flow["id"]
    assert first["version"] == 1
    assert first["change_description"] == "Added RSI filter"

    body = {"name": "RSI", **_buy_only()}
    _ok(await client.put(f"/api/flows/{flow['id']}", json=body, headers=alice.headers))
    # No body at all is a save without a description.
    second = _ok(await client.post(f"/api/flows/{flow['id']}/versions", headers=alice.headers), 201)
    assert second["version"] == 2
    assert second["change_description"] is None

    versions = await _versions(client, alice, flow["id"])
    assert [(v["id"], v["version"], v["node_count"], v["edge_count"]) for v in versions] == [
        (second["id"], 2, 5, 4),
        (first["id"], 1, 7, 6),
    ]
    assert set(versions[0]) == {*first, "node_count", "edge_count"}
    assert {k: versions[1][k] for k in first} == first

    # A version's snapshot is the document as it was when saved.
    path = f"/api/flows/{flow['id']}/versions/{first['id']}"
    snapshot = _ok(await client.get(path, headers=alice.headers))
    assert snapshot == {**versions[1], **EXAMPLE_FLOW()}


async def test_at_most_50_versions_the_oldest_go(client: httpx.AsyncClient, alice: User) -> None:
    flow = await _create(client, alice)
    saved = [await _save(client, alice, flow["id"], f"save {n}") for n in range(1, 53)]
    assert [s["version"] for s in saved] == list(range(1, 53))

    versions = await _versions(client, alice, flow["id"])
    assert [v["version"] for v in versions] == list(range(52, 2, -1))
    assert versions[-1]["change_description"] == "save 3"
    for gone in saved[:2]:
        response = await client.get(
            f"/api/flows/{flow['id']}/versions/{gone['id']}", headers=alice.headers
        )
        api_error(response, 404, "VERSION_NOT_FOUND")
    # Numbers keep increasing past the deleted ones.
    assert (await _save(client, alice, flow["id"]))["version"] == 53
    assert [v["version"] for v in await _versions(client, alice, flow["id"])] == list(
        range(53, 3, -1)
    )


async def test_concurrent_saves_keep_the_cap_and_unique_numbers(
    client: httpx.AsyncClient, alice: User
) -> None:
    flow = await _create(client, alice)
    saved = await asyncio.gather(*(_save(client, alice, flow["id"]) for _ in range(60)))
    assert sorted(s["version"] for s in saved) == list(range(1, 61))
    versions = await _versions(client, alice, flow["id"])
    assert [v["version"] for v in versions] == list(range(60, 10, -1))


async def test_restore_saves_the_current_state_first(
    client: httpx.AsyncClient, alice: User
) -> None:
    flow = await _create(client, alice, "RSI")
    v1 = await _save(client, alice, flow["id"], "with exit")
    changed = {"name": "Buy only", "description": "no exit", **_buy_only()}
    changed["settings"]["timeframe"] = "4h"
    before = _ok(await client.put(f"/api/flows/{flow['id']}", json=changed, headers=alice.headers))

    path = f"/api/flows/{flow['id']}/versions/{v1['id']}/restore"
    assert _ok(await client.post(path, headers=alice.headers)) == {"restored": True, "version": 1}

    after = _ok(await client.get(f"/api/flows/{flow['id']}", headers=alice.headers))
    assert _document(after) == EXAMPLE_FLOW()
    assert (after["name"], after["description"]) == ("Buy only", "no exit")
    assert after["updated_at"] > before["updated_at"]

    versions = await _versions(client, alice, flow["id"])
    assert [(v["version"], v["change_description"], v["node_count"], v["edge_count"])
            for v in versions] == [
        (2, "Auto-save before restoring version 1", 5, 4), (1, "with exit", 7, 6)
    ]  # fmt: skip
    auto_save = _ok(
        await client.get(f"/api/flows/{flow['id']}/versions/{versions[0]['id']}",
                         headers=alice.headers)
    )  # fmt: skip
    assert _document(auto_save) == _document(before)


async def test_restore_of_the_oldest_at_the_cap(client: httpx.AsyncClient, alice: User) -> None:
    flow = await _create(client, alice)
    oldest = await _save(client, alice, flow["id"])
    for _ in range(49):
        await _save(client, alice, flow["id"])
    body = {"name": "RSI", **_buy_only()}
    _ok(await client.put(f"/api/flows/{flow['id']}", json=body, headers=alice.headers))

    path = f"/api/flows/{flow['id']}/versions/{oldest['id']}/restore"
    assert _ok(await client.post(path, headers=alice.headers)) == {"restored": True, "version": 1}
    after = _ok(await client.get(f"/api/flows/{flow['id']}", headers=alice.headers))
    assert _document(after) == EXAMPLE_FLOW()
    versions = await _versions(client, alice, flow["id"])
    assert [v["version"] for v in versions] == list(range(51, 1, -1))


async def test_unknown_version_is_404_and_nothing_changes(
    client: httpx.AsyncClient, alice: User
) -> None:
    flow = await _create(client, alice)
    await _save(client, alice, flow["id"])
    other = await _create(client, alice, "other")
    foreign = await _save(client, alice, other["id"])  # alice's, but of another flow
    for version_id in (str(uuid.uuid4()), "not-a-uuid", foreign["id"]):
        base = f"/api/flows/{flow['id']}/versions/{version_id}"
        api_error(await client.get(base, headers=alice.headers), 404, "VERSION_NOT_FOUND")
        response = await client.post(f"{base}/restore", headers=alice.headers)
        api_error(response, 404, "VERSION_NOT_FOUND")
    assert [v["version"] for v in await _versions(client, alice, flow["id"])] == [1]
    assert _ok(await client.get(f"/api/flows/{flow['id']}", headers=alice.headers)) == flow


async def test_refused_restore_leaves_nothing_changed(
    client: httpx.AsyncClient, alice: User, database_url: str
) -> None:
    """A saved document the evaluator now refuses (written straight into the table, as an older
    evaluator might have accepted it) is not restored, and no auto-save is left behind."""
    flow = await _create(client, alice)
    await _save(client, alice, flow["id"])
    refused = EXAMPLE_FLOW()
    _bad_param(refused)
    conn = await asyncpg.connect(database_url)
    try:
        version_id = await conn.fetchval(
            """
            INSERT INTO flow_versions (flow_id, version, schema_version, settings, nodes, edges,
                                       node_count, edge_count)
            VALUES ($1, 2, 1, $2::jsonb, $3::jsonb, $4::jsonb, 7, 6) RETURNING id
            """,
            uuid.UUID(flow["id"]), orjson.dumps(refused["settings"]).decode(),
            orjson.dumps(refused["nodes"]).decode(), orjson.dumps(refused["edges"]).decode(),
        )  # fmt: skip
    finally:
        await conn.close()
    versions = await _versions(client, alice, flow["id"])

    path = f"/api/flows/{flow['id']}/versions/{version_id}/restore"
    error = api_error(await client.post(path, headers=alice.headers), 400, "INVALID_FLOW")
    assert error["details"] == {"node": "rsi", "problem": "bad_param", "param": "period"}
    assert _ok(await client.get(f"/api/flows/{flow['id']}", headers=alice.headers)) == flow
    assert await _versions(client, alice, flow["id"]) == versions


# --- ownership ----------------------------------------------------------------------------------


async def test_another_users_flow_is_not_found(
    client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    flow = await _create(client, alice)
    version = await _save(client, alice, flow["id"])
    body = {"name": "taken", **_buy_only()}
    base = f"/api/flows/{flow['id']}"
    attempts = [
        ("GET", base, None), ("PUT", base, body), ("DELETE", base, None),
        ("GET", f"{base}/versions", None), ("POST", f"{base}/versions", {"description": "x"}),
        ("GET", f"{base}/versions/{version['id']}", None),
        ("POST", f"{base}/versions/{version['id']}/restore", None),
        ("GET", f"{base}/versions/not-a-uuid", None),
    ]  # fmt: skip
    for method, path, json in attempts:
        response = await client.request(method, path, json=json, headers=bob.headers)
        api_error(response, 404, "FLOW_NOT_FOUND")
    assert _ok(await client.get("/api/flows", headers=bob.headers)) == {"flows": []}

    for method, path, json in [
        ("GET", "/api/flows/not-a-uuid", None), ("PUT", "/api/flows/123", body),
        ("DELETE", "/api/flows/x", None), ("GET", "/api/flows/x/versions", None),
        ("POST", "/api/flows/x/versions", None), ("POST", "/api/flows/x/versions/y/restore", None),
    ]:  # fmt: skip
        response = await client.request(method, path, json=json, headers=alice.headers)
        api_error(response, 404, "FLOW_NOT_FOUND")

    # Alice's flow and its versions are untouched.
    assert _ok(await client.get(base, headers=alice.headers)) == flow
    versions = await _versions(client, alice, flow["id"])
    assert [v["id"] for v in versions] == [version["id"]]


# --- OpenAPI ------------------------------------------------------------------------------------


async def test_openapi_lists_the_routes_and_their_errors(client: httpx.AsyncClient) -> None:
    paths = _ok(await client.get("/openapi.json"))["paths"]
    expected = {
        "/api/flows": {"get": "200", "post": "201"},
        "/api/flows/{flowId}": {"get": "200", "put": "200", "delete": "200"},
        "/api/flows/{flowId}/versions": {"get": "200", "post": "201"},
        "/api/flows/{flowId}/versions/{versionId}": {"get": "200"},
        "/api/flows/{flowId}/versions/{versionId}/restore": {"post": "200"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == set(methods), path
        for method, success in methods.items():
            responses = paths[path][method]["responses"]
            assert success in responses, (path, method)
            assert {"400", "401"} <= set(responses), (path, method)
            if "{flowId}" in path:
                assert "FLOW_NOT_FOUND" in responses["404"]["description"], (path, method)
            else:
                assert "404" not in responses, (path, method)  # nothing there can be missing
            assert paths[path][method]["security"], (path, method)
    for path, method in [("/api/flows", "post"), ("/api/flows/{flowId}", "put")]:
        assert "INVALID_FLOW" in paths[path][method]["responses"]["400"]["description"]
    for path, method in [
        ("/api/flows/{flowId}/versions/{versionId}", "get"),
        ("/api/flows/{flowId}/versions/{versionId}/restore", "post"),
    ]:
        assert "VERSION_NOT_FOUND" in paths[path][method]["responses"]["404"]["description"]
    restore = paths["/api/flows/{flowId}/versions/{versionId}/restore"]["post"]
    assert "INVALID_FLOW" in restore["responses"]["400"]["description"]


def test_example_flow_is_a_fresh_copy_each_time() -> None:
    first = EXAMPLE_FLOW()
    first["nodes"].clear()
    assert len(EXAMPLE_FLOW()["nodes"]) == 7
    assert copy.deepcopy(EXAMPLE_FLOW()) == EXAMPLE_FLOW()
