"""A local HTTP server that answers the Binance REST paths ccxt's `binance` class calls.

Public: exchangeInfo (spot, USD-M, COIN-M), 24h ticker, depth, aggTrades, klines (paged by
`startTime`/`limit` like Binance, over a deterministic price path). Private (signed
with HMAC-SHA256 over the query string, API key in `X-MBX-APIKEY`, as Binance checks them):
account, capital config, margin pairs. Knobs make it slow, down, rate-limiting or refusing keys,
so the error paths run through ccxt's own error handling.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "fake-binance-key"
SECRET = "fake-binance-secret"
RESTRICTED_KEY = "fake-binance-restricted-key"

SYMBOLS = {"BTCUSDT": ("BTC", "USDT"), "ETHUSDT": ("ETH", "USDT")}


def _symbol_info(symbol: str, base: str, quote: str) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.01000000",
                "maxPrice": "1000000.00000000",
                "tickSize": "0.01000000",
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": "0.00001000",
                "maxQty": "9000.00000000",
                "stepSize": "0.00001000",
            },
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "maxNotional": "9000000"},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


INTERVAL_MS = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}


def kline_close(open_time: int) -> float:
    """A deterministic price path: waves of 50 and 7 hours, so hourly indicators such as a
    14-bar RSI cross their usual thresholds every few days."""
    hours = open_time / 3_600_000
    wave = 2_500 * math.sin(2 * math.pi * hours / 50) + 400 * math.sin(2 * math.pi * hours / 7)
    return round(40_000 + wave, 2)


def kline(open_time: int, interval: int) -> list[Any]:
    """One Binance kline row; its open is the previous candle's close."""
    opened, closed = kline_close(open_time - interval), kline_close(open_time)
    return [
        open_time,
        f"{opened:.2f}",
        f"{max(opened, closed) + 10:.2f}",
        f"{min(opened, closed) - 10:.2f}",
        f"{closed:.2f}",
        "12.5",
        open_time + interval - 1,
        "525000.0",
        42,
        "6.0",
        "252000.0",
        "0",
    ]


@dataclass
class FakeBinance:
    """State and knobs; `url` is set once the server listens."""

    url: str = ""
    delay_seconds: float = 0.0
    status_override: int | None = None
    requests: list[str] = field(default_factory=list)
    last_price: float = 42150.5
    trade_id: int = 1000
    stream_interval: float = 0.05
    stream_connections: int = 0
    subscribed_streams: set[str] = field(default_factory=set)
    balances: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {"BTC": ("1.25000000", "0.25000000"), "USDT": ("5000.0", "0.0")}
    )
    klines_max_limit: int = 1000
    klines_listed_at: int = 0  # no candle opens before this (ms)
    klines_gaps: set[int] = field(default_factory=set)  # open times (ms) without a candle

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        get = app.router.add_get
        get("/api/v3/exchangeInfo", self.exchange_info)
        get("/fapi/v1/exchangeInfo", self.empty_exchange_info)
        get("/dapi/v1/exchangeInfo", self.empty_exchange_info)
        get("/api/v3/ticker/24hr", self.ticker)
        get("/api/v3/depth", self.depth)
        get("/api/v3/aggTrades", self.agg_trades)
        get("/api/v3/klines", self.klines)
        get("/api/v3/account", self.account)
        get("/sapi/v1/capital/config/getall", self.capital_config)
        get("/sapi/v1/margin/allPairs", self.signed_empty_list)
        get("/sapi/v1/margin/isolated/allPairs", self.signed_empty_list)
        get("/ws/{stream_id}", self.market_stream)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(request.path)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.status_override == 429:
            return web.json_response({"code": -1003, "msg": "Too many requests"}, status=429)
        if self.status_override is not None:
            return web.Response(status=self.status_override, text="Service Unavailable")
        response: web.StreamResponse = await handler(request)
        return response

    async def exchange_info(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "timezone": "UTC",
                "serverTime": int(time.time() * 1000),
                "rateLimits": [],
                "exchangeFilters": [],
                "symbols": [_symbol_info(s, b, q) for s, (b, q) in SYMBOLS.items()],
            }
        )

    async def empty_exchange_info(self, request: web.Request) -> web.Response:
        return web.json_response({"timezone": "UTC", "serverTime": 0, "symbols": []})

    def _symbol(self, request: web.Request) -> str | None:
        symbol = request.query.get("symbol")
        return symbol if symbol in SYMBOLS else None

    async def _bad_symbol(self) -> web.Response:
        return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)

    async def ticker(self, request: web.Request) -> web.Response:
        symbol = self._symbol(request)
        if symbol is None:
            return await self._bad_symbol()
        now = int(time.time() * 1000)
        last = self.last_price
        return web.json_response(
            {
                "symbol": symbol,
                "priceChange": "965.50",
                "priceChangePercent": "2.345",
                "weightedAvgPrice": "41900.1",
                "prevClosePrice": "41185.00",
                "lastPrice": f"{last:.2f}",
                "lastQty": "0.01",
                "bidPrice": f"{last - 2.5:.2f}",
                "bidQty": "1.5",
                "askPrice": f"{last + 2.5:.2f}",
                "askQty": "2.0",
                "openPrice": "41185.00",
                "highPrice": "42300.00",
                "lowPrice": "41000.00",
                "volume": "15234.56",
                "quoteVolume": "638123456.7",
                "openTime": now - 86_400_000,
                "closeTime": now,
                "firstId": 1,
                "lastId": 1000,
                "count": 1000,
            }
        )

    async def depth(self, request: web.Request) -> web.Response:
        if self._symbol(request) is None:
            return await self._bad_symbol()
        limit = int(request.query.get("limit", "100"))
        bids = [[f"{self.last_price - 1 - i:.2f}", "0.5"] for i in range(min(limit, 20))]
        asks = [[f"{self.last_price + 1 + i:.2f}", "0.75"] for i in range(min(limit, 20))]
        return web.json_response({"lastUpdateId": 77, "bids": bids, "asks": asks})

    async def agg_trades(self, request: web.Request) -> web.Response:
        if self._symbol(request) is None:
            return await self._bad_symbol()
        now = int(time.time() * 1000)
        limit = min(int(request.query.get("limit", "500")), 5)
        trades = [
            {
                "a": self.trade_id + i,
                "p": f"{self.last_price + i:.2f}",
                "q": "0.01000000",
                "f": self.trade_id + i,
                "l": self.trade_id + i,
                "T": now - (limit - i) * 1000,
                "m": i % 2 == 0,
                "M": True,
            }
            for i in range(limit)
        ]
        return web.json_response(trades)

    async def klines(self, request: web.Request) -> web.Response:
        if self._symbol(request) is None:
            return await self._bad_symbol()
        if "startTime" in request.query:
            return self._klines_from(request)
        limit = min(int(request.query.get("limit", "500")), 10)
        start = (int(time.time()) // 60 - limit) * 60_000
        rows = [
            [
                start + i * 60_000,
                "42000.00",
                "42100.00",
                "41900.00",
                f"{42000 + i:.2f}",
                "12.5",
                start + (i + 1) * 60_000 - 1,
                "525000.0",
                42,
                "6.0",
                "252000.0",
                "0",
            ]
            for i in range(limit)
        ]
        return web.json_response(rows)

    def _klines_from(self, request: web.Request) -> web.Response:
        """Binance's paging: candles opening at or after `startTime` (and at or before
        `endTime`), oldest first, at most `limit` (default 500, capped at `klines_max_limit`), up
        to the one still open now; none before `klines_listed_at` or at `klines_gaps`."""
        interval = INTERVAL_MS.get(request.query.get("interval", ""))
        if interval is None:
            return web.json_response({"code": -1120, "msg": "Invalid interval."}, status=400)
        limit = min(int(request.query.get("limit", "500")), self.klines_max_limit)
        start = max(int(request.query["startTime"]), self.klines_listed_at)
        first = -(-start // interval) * interval
        newest = int(time.time() * 1000) // interval * interval
        if "endTime" in request.query:
            newest = min(newest, int(request.query["endTime"]))
        rows: list[list[Any]] = []
        open_time = first
        while open_time <= newest and len(rows) < limit:
            if open_time not in self.klines_gaps:
                rows.append(kline(open_time, interval))
            open_time += interval
        return web.json_response(rows)

    def _check_signature(self, request: web.Request) -> web.Response | None:
        api_key = request.headers.get("X-MBX-APIKEY")
        if api_key == RESTRICTED_KEY:
            return web.json_response(
                {"code": -2017, "msg": "API Keys are locked on this account."},
                status=403,
            )
        if api_key != API_KEY:
            return web.json_response(
                {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
                status=401,
            )
        query = request.query_string
        payload, _, signature = query.rpartition("&signature=")
        expected = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not payload or not hmac.compare_digest(signature, expected):
            return web.json_response(
                {"code": -1022, "msg": "Signature for this request is not valid."}, status=400
            )
        if "timestamp" not in request.query:
            return web.json_response(
                {"code": -1102, "msg": "Mandatory parameter 'timestamp' was not sent."}, status=400
            )
        return None

    async def account(self, request: web.Request) -> web.Response:
        refused = self._check_signature(request)
        if refused is not None:
            return refused
        return web.json_response(
            {
                "makerCommission": 10,
                "takerCommission": 10,
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "updateTime": int(time.time() * 1000),
                "accountType": "SPOT",
                "balances": [
                    {"asset": asset, "free": free, "locked": locked}
                    for asset, (free, locked) in self.balances.items()
                ],
                "permissions": ["SPOT"],
            }
        )

    async def capital_config(self, request: web.Request) -> web.Response:
        refused = self._check_signature(request)
        return refused if refused is not None else web.json_response([])

    async def signed_empty_list(self, request: web.Request) -> web.Response:
        refused = self._check_signature(request)
        return refused if refused is not None else web.json_response([])

    async def market_stream(self, request: web.Request) -> web.WebSocketResponse:
        """Binance's market streams: `SUBSCRIBE` to `{symbol}@trade`, then a trade event per
        subscribed stream every `stream_interval` seconds."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.stream_connections += 1
        streams: set[str] = set()

        async def push() -> None:
            while True:
                await asyncio.sleep(self.stream_interval)
                for stream in list(streams):
                    symbol, _, kind = stream.partition("@")
                    if kind != "trade":
                        continue
                    self.trade_id += 1
                    now = int(time.time() * 1000)
                    await socket.send_json(
                        {
                            "e": "trade",
                            "E": now,
                            "s": symbol.upper(),
                            "t": self.trade_id,
                            "p": f"{self.last_price:.2f}",
                            "q": "0.01000000",
                            "T": now,
                            "m": False,
                            "M": True,
                        }
                    )

        pusher = asyncio.create_task(push())
        try:
            async for message in socket:
                request_body = message.json()
                if request_body.get("method") == "SUBSCRIBE":
                    streams.update(request_body.get("params", []))
                elif request_body.get("method") == "UNSUBSCRIBE":
                    streams.difference_update(request_body.get("params", []))
                self.subscribed_streams = set(streams)
                await socket.send_json({"result": None, "id": request_body.get("id")})
        finally:
            pusher.cancel()
            self.stream_connections -= 1
        return socket


async def start_fake_binance() -> tuple[FakeBinance, web.AppRunner]:
    fake = FakeBinance()
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    fake.url = f"http://127.0.0.1:{port}"
    return fake, runner
