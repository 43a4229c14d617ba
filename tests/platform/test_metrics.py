"""`/metrics`: requests counted by the route template the router picked, not the raw path."""

from __future__ import annotations

import httpx


async def test_requests_are_counted_by_route_template(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/orders/12345")).status_code == 401
    assert (await client.get("/no/such/route")).status_code == 404
    text = (await client.get("/metrics")).text
    samples = [line for line in text.splitlines() if line.startswith("http_requests_total{")]
    assert any('handler="/health"' in s and 'status="2xx"' in s for s in samples), samples
    assert any('handler="/orders/{orderId}"' in s and 'status="4xx"' in s for s in samples)
    assert any('handler="none"' in s for s in samples)
    assert not any("12345" in s or "/metrics" in s for s in samples)
    assert "http_request_duration_seconds_bucket{" in text
