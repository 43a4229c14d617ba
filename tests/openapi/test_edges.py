"""What the edge refuses in any JSON body (64-bit numbers, nesting, NUL, lone surrogates), the
`Allow` header of a 405, and the error responses every operation documents."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from ordex.api.json_guard import INT64_MAX, INT64_MIN, MAX_JSON_DEPTH


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def _layout(raw: str) -> str:
    return '{"title": "t", "layout": {"n": ' + raw + "}}"


REFUSED = [
    pytest.param(_layout(str(2**64)), "numbers", id="uint64+1"),
    pytest.param(_layout(str(INT64_MAX + 1)), "numbers", id="int64+1"),
    pytest.param(_layout(str(INT64_MIN - 1)), "numbers", id="int64-1"),
    pytest.param(_layout("1e300"), "numbers", id="huge float"),
    pytest.param(_layout("NaN"), "NaN", id="NaN"),
    pytest.param(_layout(_nested(MAX_JSON_DEPTH)), "nest", id="deep"),
    pytest.param(_layout(_nested(100_000)), "nest", id="very deep"),
    pytest.param('{"title": "t\\ud800", "layout": {}}', "surrogates", id="lone surrogate"),
    pytest.param('{"title": "t", "layout": {"\\udc00": 1}}', "surrogates", id="surrogate key"),
    pytest.param('{"title": "t\\u0000", "layout": {}}', "NUL", id="NUL"),
]


@pytest.mark.parametrize(("body", "problem"), REFUSED)
async def test_unstorable_json_is_a_400_and_nothing_is_written(
    client: httpx.AsyncClient, admin_token: str, body: str, problem: str
) -> None:
    before = (await client.get("/api/dashboards", headers=_auth(admin_token))).json()["data"]
    response = await client.post("/api/dashboards", content=body, headers=_auth(admin_token))
    assert response.status_code == 400, response.text
    expected = "INVALID_JSON" if problem == "NaN" else "VALIDATION_ERROR"
    assert response.json()["code"] == expected
    assert problem in response.json()["error"]
    after = await client.get("/api/dashboards", headers=_auth(admin_token))
    assert after.status_code == 200 and after.json()["data"] == before


async def test_the_root_family_gets_its_own_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/orders",
        content='{"leverage": ' + str(2**70) + "}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": f"leverage: numbers must lie within {INT64_MIN}..{INT64_MAX}",
        "field": "leverage",
    }


async def test_64_bit_numbers_and_allowed_depth_are_kept(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    layout = {"max": INT64_MAX, "min": INT64_MIN, "deep": json.loads(_nested(MAX_JSON_DEPTH - 3))}
    body: dict[str, Any] = {"title": "t", "layout": layout}
    response = await client.post("/api/dashboards", json=body, headers=_auth(admin_token))
    assert response.status_code == 201, response.text
    assert response.json()["data"]["layout"] == layout


async def test_a_query_integer_beyond_its_range_is_a_400(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    for path in ("/api/v1/trade/sessions", "/api/v1/orders"):
        response = await client.get(path, params={"offset": str(2**90)}, headers=_auth(admin_token))
        assert response.status_code == 400, (path, response.text)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/dashboards", "GET, POST"),
        ("/api/settings/theme", "DELETE, GET, PUT"),
        ("/api/notifications/abc", "DELETE, PATCH, POST"),
        ("/orders", "GET, POST"),
        ("/orders/abc", "DELETE, GET"),
        ("/api/widgets/batch", "PUT"),  # not the DELETE of /api/widgets/{id}
        ("/api/v1/decisions/stats", "GET"),  # not the GET and PATCH of .../{id}
    ],
)
async def test_a_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, admin_token: str, path: str, allowed: str
) -> None:
    response = await client.request("OPTIONS", path, headers=_auth(admin_token))
    assert response.status_code == 405
    assert response.headers["allow"] == allowed


async def test_an_undeclared_method_is_a_405_whatever_its_body(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    body = _layout(str(2**64))
    response = await client.request(
        "PATCH", "/api/dashboards", content=body, headers=_auth(admin_token)
    )
    assert response.status_code == 405 and response.headers["allow"] == "GET, POST"


async def test_booleans_and_numbers_keep_their_json_types(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    for body in ({"title": "t", "isDefault": 0}, {"title": "t", "isDefault": "yes"}):
        response = await client.post("/api/dashboards", json=body, headers=_auth(admin_token))
        assert response.status_code == 400 and response.json()["field"] == "isDefault"
        assert "must be a boolean" in response.json()["details"]


async def test_every_operation_documents_its_errors(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            assert "400" in responses and "503" in responses, where
            assert "HTTPValidationError" not in json.dumps(responses), where
            if operation.get("security"):
                assert {"401", "403"} <= responses.keys(), where
            if "{" in path:
                assert "404" in responses, where
            if "requestBody" in operation:
                assert "413" in responses, where
    for path in ("/api/auth/register", "/auth/register"):
        assert {"409", "429"} <= document["paths"][path]["post"]["responses"].keys()
    assert "409" in document["paths"]["/api/admin/users/{userId}"]["patch"]["responses"]
    schemas = document["components"]["schemas"]
    assert schemas["DashboardCreate"]["properties"]["layout"]["$ref"].endswith("/JsonObject")
