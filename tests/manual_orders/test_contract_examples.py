"""Every example of the trading-app contract's "Orders" section, as documented: cookie auth, the
documented body, the documented answers (numbers as JSON numbers, `ETH_USDC`, ISO times)."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx

from tests.exchange.helpers import Trader
from tests.manual_orders.helpers import EXTRA_FIELDS, ORDER_FIELDS, exact
from tests.platform.helpers import login, register

ISO_MILLIS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

# POST /api/orders, "Example Request", verbatim.
EXAMPLE_BODY = b"""{
    "market": "ETH_USDC",
    "side": "BUY",
    "orderType": "LIMIT",
    "quantity": 1.5,
    "price": 3200.00,
    "timeInForce": "GTC",
    "stopPrice": null,
    "expiresAt": null
  }"""


async def test_documented_examples(client: httpx.AsyncClient, admin: Trader) -> None:
    # `-b cookies.txt`: the auth_token cookie from /api/auth/login is the only credential.
    assert (await register(client, "trader@havencap.io")).status_code == 201
    client.cookies.clear()
    assert (await login(client, "trader@havencap.io")).status_code == 200
    assert client.cookies.get("auth_token")
    user_id = (await client.get("/api/auth/me")).json()["user"]["userId"]
    deposited = await client.post("/deposits", json={"asset": "USDC", "amount": "10000"})
    assert deposited.status_code == 200, deposited.text

    # POST /orders
    created = await client.post(
        "/api/orders", content=EXAMPLE_BODY, headers={"Content-Type": "application/json"}
    )
    assert created.status_code == 201, created.text
    order = exact(created)["order"]
    assert set(order) == ORDER_FIELDS | EXTRA_FIELDS
    documented = {
        "userId": user_id,
        "market": "ETH_USDC",
        "side": "BUY",
        "orderType": "LIMIT",
        "quantity": Decimal("1.5"),
        "price": Decimal("3200.00"),
        "stopPrice": None,
        "timeInForce": "GTC",
        "status": "OPEN",
        "expiresAt": None,
    }
    assert {k: order[k] for k in documented} == documented
    assert isinstance(order["orderId"], str) and order["orderId"]
    assert ISO_MILLIS.fullmatch(order["createdAt"])
    # JSON numbers, not strings, where the contract shows numbers.
    raw = created.json()["order"]
    assert (raw["quantity"], raw["price"]) == (1.5, 3200)
    assert (order["filledQuantity"], order["averagePrice"], order["reason"]) == (0, None, None)

    # GET /orders
    listed = await client.get("/api/orders")
    assert listed.status_code == 200, listed.text
    [first] = exact(listed)["orders"]
    assert first == {**order, "updatedAt": first["updatedAt"]}

    # GET /orders/{orderId}
    detail = await client.get(f"/api/orders/{order['orderId']}")
    assert detail.status_code == 200, detail.text
    assert {k: v for k, v in exact(detail)["order"].items() if k != "updatedAt"} == {
        k: v for k, v in order.items() if k != "updatedAt"
    }

    # DEL /orders/{orderId}
    cancelled = await client.delete(f"/api/orders/{order['orderId']}")
    assert cancelled.status_code == 200, cancelled.text
    body = exact(cancelled)["order"]
    assert (body["orderId"], body["status"], body["reason"]) == (
        order["orderId"], "CANCELLED", "USER",
    )  # fmt: skip
    assert {k: body[k] for k in documented if k != "status"} == {
        k: v for k, v in documented.items() if k != "status"
    }

    # The hold went back once the cancel was settled.
    await client.post("/admin/drain", headers=admin.headers)
    balances = (await client.get("/balances")).json()
    assert [(b["asset"], b["total"], b["held"]) for b in balances] == [("USDC", "10000", "0")]
