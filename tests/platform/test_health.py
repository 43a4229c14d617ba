"""`/`, `/health`, `/api/v1/status` and `/metrics`."""

from __future__ import annotations

from pathlib import Path

import httpx

from ordex.embedded import free_port
from tests.platform.helpers import ClientFactory, bearer


async def test_root_describes_the_api(client: httpx.AsyncClient) -> None:
    body = (await client.get("/")).json()
    assert body["status"] == "running"
    assert body["name"]
    assert body["version"]


async def test_health_is_healthy(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["components"] == {"database": "healthy", "redis": "healthy"}
    assert body["uptime"].endswith("s")


async def test_health_reports_redis_down_with_503(client_factory: ClientFactory) -> None:
    async with client_factory(redis_url=f"redis://127.0.0.1:{free_port()}/0") as client:
        response = await client.get("/health")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unhealthy"
        assert body["error"] == "redis connection failed"
        assert body["components"]["database"] == "healthy"
        # Rate-limited routes depend on Redis: a clear 503, not a 500.
        login = await client.post(
            "/api/auth/login", json={"email": "a@b.io", "password": "long-password"}
        )
        assert login.status_code == 503
        assert login.json()["code"] == "SERVICE_UNAVAILABLE"


async def test_status_lists_components(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await client.get("/api/v1/status", headers=bearer(admin_token))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "operational"
    assert body["components"]["database"] == "healthy"
    assert body["components"]["api"] == "healthy"
    assert body["websocket"] == {"connected_clients": 0}
    assert body["uptime"]


async def test_metrics_are_prometheus_text(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert "http_requests_total" in response.text


async def test_health_reports_database_down_with_503(
    client_factory: ClientFactory, tmp_path: Path
) -> None:
    gone = f"postgresql://postgres@/ordex?host={tmp_path}"  # no server listens there
    async with client_factory(database_url=gone, db_pool_min=0) as client:
        response = await client.get("/health")
        assert response.status_code == 503
        assert response.json()["error"] == "database connection failed"
        assert response.json()["components"]["redis"] == "healthy"
        login = await client.post(
            "/api/auth/login", json={"email": "a@b.io", "password": "long-password"}
        )
        assert login.status_code == 503
        assert login.json() == {
            "error": "Service temporarily unavailable",
            "code": "SERVICE_UNAVAILABLE",
        }
