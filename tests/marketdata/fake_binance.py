"""A local HTTP server that answers the Binance REST paths ccxt's `binance` class calls.

Public: exchangeInfo (spot, USD-M, COIN-M), 24h ticker, depth, aggTrades, klines (paged by
`startTime`/`limit` like Binance, over a deterministic price path). Private (signed
with HMAC-SHA256 over the query string followed by the request body, API key in `X-MBX-APIKEY`, as
Binance checks them): account, capital config, margin pairs, and spot trading: new order (matched
against the depth the public endpoint shows; FULL responses carry the fills), cancel, query order
and my trades. Knobs make it slow, down, rate-limiting or refusing keys, so the error paths run
through ccxt's own error handling; `fill_order` lets a test fill a resting order later.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

API_KEY = "fake-binance-key"
SECRET = "fake-binance-secret"
RESTRICTED_KEY = "fake-binance-restricted-key"

SYMBOLS = {"BTCUSDT": ("BTC", "USDT"), "ETHUSDT": ("ETH", "USDT")}
DEPTH_LEVELS = 20
BID_QTY = Decimal("0.5")
ASK_QTY = Decimal("0.75")
COMMISSION_RATE = Decimal("0.001")  # Binance's default spot rate, charged in the quote asset here
STOP_LIMIT_TYPES = ("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
ORDER_TYPES = ("LIMIT", "MARKET", *STOP_LIMIT_TYPES)


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
    # Spot trading: orders by id, trades of the account, every signed request as received.
    orders: dict[int, FakeOrder] = field(default_factory=dict)
    my_trades: list[dict[str, Any]] = field(default_factory=list)
    signed_requests: list[SignedRequest] = field(default_factory=list)
    next_order_id: int = 5_000
    next_trade_id: int = 90_000
    new_order_answer_delay: float = 0.0  # the order is taken, its answer comes this much later
    # What `sapi/v1/account/apiRestrictions` reports for the key.
    key_restrictions: dict[str, bool] = field(
        default_factory=lambda: {
            "ipRestrict": False,
            "enableReading": True,
            "enableSpotAndMarginTrading": True,
            "enableWithdrawals": False,
            "enableInternalTransfer": False,
            "enableMargin": False,
            "enableFutures": False,
            "permitsUniversalTransfer": False,
            "enableVanillaOptions": False,
            "enablePortfolioMarginTrading": False,
        }
    )

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
        get("/sapi/v1/account/apiRestrictions", self.api_restrictions)
        app.router.add_post("/api/v3/order", self.new_order)
        app.router.add_delete("/api/v3/order", self.cancel_order)
        get("/api/v3/order", self.query_order)
        get("/api/v3/myTrades", self.account_trades)
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
        limit = min(int(request.query.get("limit", "100")), DEPTH_LEVELS)
        bids, asks = self.book()
        return web.json_response(
            {
                "lastUpdateId": 77,
                "bids": [[f"{p:.2f}", str(q)] for p, q in bids[:limit]],
                "asks": [[f"{p:.2f}", str(q)] for p, q in asks[:limit]],
            }
        )

    def book(self) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """The levels `depth` shows, best first: bids one apart under `last_price`, asks over it."""
        last = Decimal(f"{self.last_price:.2f}")
        bids = [(last - 1 - i, BID_QTY) for i in range(DEPTH_LEVELS)]
        asks = [(last + 1 + i, ASK_QTY) for i in range(DEPTH_LEVELS)]
        return bids, asks

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

    async def _check_signature(self, request: web.Request) -> web.Response | None:
        """Binance's check: the API key, then HMAC-SHA256 of the query string followed by the body
        (`totalParams`), without the trailing `signature`, then the timestamp."""
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
        body = (await request.text()) if request.can_read_body else ""
        total = request.query_string + body
        payload, _, signature = total.rpartition("&signature=")
        expected = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not payload or not hmac.compare_digest(signature, expected):
            return web.json_response(
                {"code": -1022, "msg": "Signature for this request is not valid."}, status=400
            )
        params = dict(parse_qsl(payload, keep_blank_values=True))
        if "timestamp" not in params:
            return web.json_response(
                {"code": -1102, "msg": "Mandatory parameter 'timestamp' was not sent."}, status=400
            )
        self.signed_requests.append(
            SignedRequest(request.method, request.path, params, payload, signature)
        )
        return None

    async def account(self, request: web.Request) -> web.Response:
        refused = await self._check_signature(request)
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
        refused = await self._check_signature(request)
        return refused if refused is not None else web.json_response([])

    async def api_restrictions(self, request: web.Request) -> web.Response:
        refused = await self._check_signature(request)
        if refused is not None:
            return refused
        return web.json_response({**self.key_restrictions, "createTime": 1_700_000_000_000})

    async def signed_empty_list(self, request: web.Request) -> web.Response:
        refused = await self._check_signature(request)
        return refused if refused is not None else web.json_response([])

    # --- spot trading -------------------------------------------------------------------------

    def _params(self) -> dict[str, str]:
        return self.signed_requests[-1].params

    async def new_order(self, request: web.Request) -> web.Response:
        refused = await self._check_signature(request)
        if refused is not None:
            return refused
        params = self._params()
        symbol = params.get("symbol", "")
        if symbol not in SYMBOLS:
            return await self._bad_symbol()
        kind, side = params.get("type", ""), params.get("side", "")
        if kind not in ORDER_TYPES or side not in ("BUY", "SELL"):
            return _refusal(-1116, "Invalid orderType.")
        try:
            quantity = Decimal(params["quantity"])
            price = None if kind == "MARKET" else Decimal(params["price"])
            stop_price = Decimal(params["stopPrice"]) if kind in STOP_LIMIT_TYPES else None
        except (KeyError, ArithmeticError):
            return _refusal(-1102, "Mandatory parameter was not sent or is malformed.")
        if kind != "MARKET" and params.get("timeInForce") not in ("GTC", "IOC", "FOK"):
            return _refusal(-1102, "Mandatory parameter 'timeInForce' was not sent.")
        self.next_order_id += 1
        now = int(time.time() * 1000)
        order = FakeOrder(
            order_id=self.next_order_id,
            client_order_id=params.get("newClientOrderId") or f"fake-{self.next_order_id}",
            symbol=symbol,
            side=side,
            type=kind,
            time_in_force=params.get("timeInForce", "GTC"),
            price=price,
            stop_price=stop_price,
            quantity=quantity,
            time=now,
        )
        self.orders[order.order_id] = order
        bids, asks = self.book()
        # Stop-limit orders wait for their trigger (a test fills them with `fill_order`).
        levels = [] if stop_price is not None else asks if side == "BUY" else bids
        for level_price, level_qty in levels:
            remaining = order.quantity - order.executed
            crosses = price is None or (
                level_price <= price if side == "BUY" else level_price >= price
            )
            if remaining <= 0 or not crosses:
                break
            self.fill_order(order.order_id, min(remaining, level_qty), level_price, maker=False)
        if order.status in ("NEW", "PARTIALLY_FILLED") and (
            kind == "MARKET" or order.time_in_force in ("IOC", "FOK")
        ):
            order.status = "EXPIRED"
        body = order.json()
        if params.get("newOrderRespType", "FULL") == "FULL":
            body["fills"] = [
                {
                    "price": t["price"],
                    "qty": t["qty"],
                    "commission": t["commission"],
                    "commissionAsset": t["commissionAsset"],
                    "tradeId": t["id"],
                }
                for t in self.my_trades
                if t["orderId"] == order.order_id
            ]
        if self.new_order_answer_delay:
            await asyncio.sleep(self.new_order_answer_delay)
        return web.json_response(body)

    def fill_order(
        self, order_id: int, quantity: Decimal, price: Decimal, *, maker: bool = True
    ) -> dict[str, Any]:
        """Fills part of an order (a resting one as maker, as if the market traded through it)."""
        order = self.orders[order_id]
        quote = quantity * price
        self.next_trade_id += 1
        now = int(time.time() * 1000)
        trade: dict[str, Any] = {
            "symbol": order.symbol,
            "id": self.next_trade_id,
            "orderId": order.order_id,
            "orderListId": -1,
            "price": str(price),
            "qty": str(quantity),
            "quoteQty": str(quote),
            "commission": str(quote * COMMISSION_RATE),
            "commissionAsset": SYMBOLS[order.symbol][1],
            "time": now,
            "isBuyer": order.side == "BUY",
            "isMaker": maker,
            "isBestMatch": True,
        }
        self.my_trades.append(trade)
        order.executed += quantity
        order.quote += quote
        order.status = "FILLED" if order.executed >= order.quantity else "PARTIALLY_FILLED"
        order.update_time = now
        return trade

    def _find_order(self, params: dict[str, str]) -> FakeOrder | None:
        if "orderId" in params:
            return self.orders.get(int(params["orderId"]))
        wanted = params.get("origClientOrderId")
        return next((o for o in self.orders.values() if o.client_order_id == wanted), None)

    async def cancel_order(self, request: web.Request) -> web.Response:
        refused = await self._check_signature(request)
        if refused is not None:
            return refused
        order = self._find_order(self._params())
        if order is None or order.status not in ("NEW", "PARTIALLY_FILLED"):
            return _refusal(-2011, "Unknown order sent.")
        order.status = "CANCELED"
        order.update_time = int(time.time() * 1000)
        return web.json_response(order.json())

    async def query_order(self, request: web.Request) -> web.Response:
        refused = await self._check_signature(request)
        if refused is not None:
            return refused
        order = self._find_order(self._params())
        if order is None:
            return _refusal(-2013, "Order does not exist.")
        return web.json_response(order.json())

    async def account_trades(self, request: web.Request) -> web.Response:
        refused = await self._check_signature(request)
        if refused is not None:
            return refused
        params = self._params()
        trades = [t for t in self.my_trades if t["symbol"] == params.get("symbol")]
        if "orderId" in params:
            trades = [t for t in trades if t["orderId"] == int(params["orderId"])]
        return web.json_response(trades)

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


@dataclass(frozen=True)
class SignedRequest:
    """A private request whose signature checked out: what ccxt sent, as Binance reads it."""

    method: str
    path: str
    params: dict[str, str]
    payload: str
    signature: str


@dataclass
class FakeOrder:
    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    price: Decimal | None
    stop_price: Decimal | None
    quantity: Decimal
    time: int
    executed: Decimal = Decimal(0)
    quote: Decimal = Decimal(0)
    status: str = "NEW"
    update_time: int = 0

    def json(self) -> dict[str, Any]:
        """Binance's order object (query order, cancel order and the RESULT part of new order)."""
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "transactTime": self.update_time or self.time,
            "price": str(self.price or Decimal(0)),
            "origQty": str(self.quantity),
            "executedQty": str(self.executed),
            "cummulativeQuoteQty": str(self.quote),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
            "stopPrice": str(self.stop_price or Decimal(0)),
            "icebergQty": "0.00000000",
            "time": self.time,
            "updateTime": self.update_time or self.time,
            "workingTime": self.time,
            "isWorking": True,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "NONE",
        }


def _refusal(code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "msg": message}, status=400)


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
