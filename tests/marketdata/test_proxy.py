"""The CORS proxy: refusals for every internal address class (after DNS, on every redirect),
timeouts, size limits, and a real fetch from a local target the configuration allows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from ordex.services.errors import ServiceError
from ordex.services.market_data_settings import MarketDataSettings
from ordex.services.proxy import CorsProxy, ProxyRequest
from tests.marketdata.conftest import MarketDataClient


@pytest.fixture
async def target() -> AsyncIterator[str]:
    """A local site: JSON, a large body, a slow answer and redirects to internal places."""

    async def json_page(request: web.Request) -> web.Response:
        body = await request.text()
        return web.json_response(
            {"method": request.method, "body": body, "header": request.headers.get("X-Test")}
        )

    async def big(request: web.Request) -> web.Response:
        return web.Response(text="x" * 10_000)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(text="late")

    def redirect_to(location: str) -> object:
        async def handler(request: web.Request) -> web.Response:
            raise web.HTTPFound(location.replace("PORT", str(request.url.port)))

        return handler

    app = web.Application()
    app.router.add_route("*", "/json", json_page)
    app.router.add_get("/big", big)
    app.router.add_get("/slow", slow)
    app.router.add_get("/to-json", redirect_to("/json"))  # type: ignore[arg-type]
    app.router.add_get("/to-localhost", redirect_to("http://localhost:PORT/json"))  # type: ignore[arg-type]
    app.router.add_get("/to-private", redirect_to("http://10.1.2.3/"))  # type: ignore[arg-type]
    app.router.add_get("/to-metadata", redirect_to("http://169.254.169.254/latest/meta-data/"))  # type: ignore[arg-type]
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def strict_proxy() -> AsyncIterator[CorsProxy]:
    proxy = CorsProxy(MarketDataSettings(_env_file=None))  # type: ignore[call-arg]
    try:
        yield proxy
    finally:
        await proxy.close()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.8.9.10:8080/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://localhost/", "loopback"),  # only DNS says this is loopback
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[fd00::1]/", "private"),
        ("http://169.254.1.1/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://100.100.100.200/", "metadata"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://100.64.0.1/", "public"),  # carrier-grade NAT
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 as one decimal number
    ],
)
async def test_internal_destinations_are_refused(
    strict_proxy: CorsProxy, url: str, reason: str
) -> None:
    with pytest.raises(ServiceError) as raised:
        await strict_proxy.request(ProxyRequest(url=url))
    assert raised.value.status_code == 403
    assert raised.value.code == "PROXY_DESTINATION_REFUSED"
    assert reason in raised.value.message


async def test_bad_urls_and_methods_are_400(strict_proxy: CorsProxy) -> None:
    for url in (
        "file:///etc/passwd",
        "gopher://example.com/",
        "http://",
        "http://u:p@example.com/",
    ):
        with pytest.raises(ServiceError) as raised:
            await strict_proxy.request(ProxyRequest(url=url))
        assert raised.value.status_code == 400, url
    with pytest.raises(ServiceError) as raised:
        await strict_proxy.request(ProxyRequest(url="http://example.com/", method="TRACE"))
    assert raised.value.status_code == 400


async def test_allowed_private_destinations_pass(target: str) -> None:
    proxy = CorsProxy(MarketDataSettings(_env_file=None, ordex_proxy_allow_private=True))  # type: ignore[call-arg]
    try:
        answer = await proxy.request(
            ProxyRequest(url=target.replace("127.0.0.1", "localhost") + "/json")
        )
    finally:
        await proxy.close()
    assert answer["status"] == 200 and answer["data"]["method"] == "GET"


async def test_proxy_route_fetches_an_allowed_target(md: MarketDataClient, target: str) -> None:
    response = await md.post(
        "/api/proxy/request",
        {
            "url": f"{target}/json",
            "method": "POST",
            "headers": {"X-Test": "yes", "Host": "evil.example"},
            "body": {"a": 1},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == 200 and body["statusText"] == "OK"
    assert body["data"] == {"method": "POST", "body": '{"a":1}', "header": "yes"}
    assert body["headers"]["content-type"].startswith("application/json")

    followed = await md.post("/api/proxy/request", {"url": f"{target}/to-json"})
    assert followed.status_code == 200 and followed.json()["data"]["method"] == "GET"


@pytest.mark.parametrize("path", ["/to-localhost", "/to-private", "/to-metadata"])
async def test_every_redirect_is_checked(md: MarketDataClient, target: str, path: str) -> None:
    # 127.0.0.1 is allowed by configuration; where it redirects to is not.
    response = await md.post("/api/proxy/request", {"url": f"{target}{path}"})
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "PROXY_DESTINATION_REFUSED"


async def test_refusal_through_the_route_uses_the_api_envelope(md: MarketDataClient) -> None:
    response = await md.post("/api/proxy/request", {"url": "http://192.168.0.1/admin"})
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "PROXY_DESTINATION_REFUSED" and "private" in body["error"]


async def test_slow_target_is_408_and_large_answer_413(md: MarketDataClient, target: str) -> None:
    slow = await md.post("/api/proxy/request", {"url": f"{target}/slow", "timeout": 300})
    assert slow.status_code == 408, slow.text
    assert slow.json()["code"] == "REQUEST_TIMEOUT"

    big = await md.post("/api/proxy/request", {"url": f"{target}/big"})
    assert big.status_code == 413, big.text
    assert big.json()["code"] == "PAYLOAD_TOO_LARGE"
