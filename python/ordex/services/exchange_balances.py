"""Balances of exchange accounts through ccxt: trying keys before they are saved
(`POST /api/exchange-keys/validate`) and the stablecoin summary of the dashboard
(`GET /api/dashboard/balance`).

Only stablecoins (and USD itself) count, one for one, as the contract says: no price lookups.

- **Validate** opens an uncached ccxt instance with the given keys, fetches the balance, and, where
  the exchange reports them (binance's `sapi/v1/account/apiRestrictions`), the key's permissions;
  elsewhere a key that could read the balance has `read`. Keys the exchange refuses (ccxt's
  AuthenticationError, PermissionDenied, AccountSuspended) are `valid: false`; an exchange that
  cannot be reached or does not answer in time is a 503; any other exchange error keeps the
  market-data statuses (`map_ccxt_error`).
- **Dashboard** reads every stored key of the user concurrently, each under its own timeout, with
  the process's cached ccxt instances; an account that fails is reported with its error and counts
  nothing, never failing the answer. ordex's own balances come last, as exchange `ordex`.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async  # type: ignore[import-untyped]

from ordex.crypto import SecretBox
from ordex.db.exchange_accounts import AccountRow
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.services import exchange_accounts, portfolio
from ordex.services.errors import ServiceError
from ordex.services.exchange_accounts import Credentials
from ordex.services.market_data import CcxtExchanges, ExchangeConfig, map_ccxt_error
from ordex.services.trading_accounts import find_trading_account

log = get_logger(__name__)

STABLECOINS = frozenset(
    ("USD", "USDT", "USDC", "BUSD", "DAI", "TUSD", "USDP", "FDUSD", "PYUSD", "USDD", "USDE")
)
DEFAULT_TIMEOUT_SECONDS = 10.0
ORDEX_LABEL = "ordex"

# binance's apiRestrictions flags -> the contract's permission names.
_BINANCE_PERMISSIONS = (
    ("enableReading", "read"),
    ("enableSpotAndMarginTrading", "trade"),
    ("enableMargin", "margin"),
    ("enableFutures", "futures"),
    ("enableWithdrawals", "withdraw"),
    ("enableInternalTransfer", "transfer"),
)
_REFUSED = (ccxt_async.AuthenticationError, ccxt_async.AccountSuspended)
# Refusals ccxt leaves as a plain ExchangeError: binance -2017 "API Keys are locked".
_REFUSAL_MARKERS = {"binance": ('"code": -2017',)}


def _refused_anyway(exc: Exception, exchange_id: str) -> bool:
    return any(marker in str(exc) for marker in _REFUSAL_MARKERS.get(exchange_id, ()))


def _refusal(exc: Exception, exchange_id: str) -> dict[str, Any]:
    refused = map_ccxt_error(exc, exchange_id)
    code = refused.code if isinstance(exc, _REFUSED) else "EXCHANGE_AUTHENTICATION_FAILED"
    return {
        "valid": False,
        "permissions": [],
        "account": None,
        "error": str(refused.details or refused.message),
        "code": code,
    }


def stable_usd(balance: Any) -> Decimal:
    """The stablecoin total of a ccxt balance structure (its `total` map)."""
    totals = balance.get("total") if isinstance(balance, dict) else None
    amount = Decimal(0)
    if isinstance(totals, dict):
        for asset, value in totals.items():
            if str(asset).upper() in STABLECOINS and value is not None:
                amount += Decimal(str(value))
    return amount


def usd(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def unreachable(exchange_id: str, detail: str) -> ServiceError:
    return ServiceError(
        503, "EXCHANGE_UNAVAILABLE", f"{exchange_id} cannot be reached", details=detail
    )


# ----- validate ---------------------------------------------------------------------------


async def validate_key(
    exchanges: CcxtExchanges,
    exchange_id: str,
    credentials: Credentials,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    config = ExchangeConfig(exchange_id)
    async with exchanges.transient(config, credentials) as exchange:
        try:
            async with asyncio.timeout(timeout_seconds):
                balance = await exchange.fetch_balance()
                permissions = await _permissions(exchange, exchange_id)
        except _REFUSED as exc:
            return _refusal(exc, exchange_id)
        except (ccxt_async.NetworkError, TimeoutError) as exc:
            # Timeouts, refused connections, a 5xx: the key is neither good nor bad yet.
            raise unreachable(exchange_id, str(exc)[:300] or type(exc).__name__) from exc
        except ccxt_async.BaseError as exc:
            if _refused_anyway(exc, exchange_id):
                return _refusal(exc, exchange_id)
            raise map_ccxt_error(exc, exchange_id) from exc
    return {
        "valid": True,
        "permissions": permissions,
        "account": {"balance": usd(stable_usd(balance))},
    }


async def _permissions(exchange: Any, exchange_id: str) -> list[str]:
    """What the exchange says the key may do; `read` (the balance was read) where it says
    nothing. Refusals and network errors of the balance itself have already been raised."""
    if exchange_id == "binance":
        try:
            answer = await exchange.sapi_get_account_apirestrictions()
        except (ccxt_async.NetworkError, TimeoutError):
            raise
        except ccxt_async.BaseError as exc:
            log.info("key permissions not reported", exchange=exchange_id, error=str(exc)[:200])
        else:
            if isinstance(answer, dict):
                return [name for flag, name in _BINANCE_PERMISSIONS if answer.get(flag) is True]
    return ["read"]


# ----- the dashboard ------------------------------------------------------------------------


def _entry(account: AccountRow) -> dict[str, Any]:
    return {
        "id": str(account.id),
        "exchange": account.exchange,
        "label": account.label or account.exchange,
        "balanceUsd": 0.0,
    }


def _failed(entry: dict[str, Any], code: str, message: str) -> dict[str, Any]:
    entry.update(status="error", error=message, code=code)
    return entry


async def _account_balance(
    exchanges: CcxtExchanges,
    account: AccountRow,
    credentials: Credentials,
    timeout_seconds: float,
) -> dict[str, Any]:
    entry = _entry(account)
    config = ExchangeConfig(account.exchange)
    try:
        async with asyncio.timeout(timeout_seconds):
            exchange = await exchanges.get(config, credentials)
            balance = await exchanges.call(config, exchange.fetch_balance)
    except ServiceError as exc:
        return _failed(entry, exc.code, exc.message)
    except TimeoutError:
        return _failed(entry, "EXCHANGE_TIMEOUT", f"{account.exchange}: no answer in time")
    except Exception as exc:  # one account never fails the others' answer
        log.warning("balance of an account failed", exchange=account.exchange, error=str(exc))
        return _failed(entry, "EXCHANGE_ERROR", f"{account.exchange}: {type(exc).__name__}")
    entry.update(balanceUsd=usd(stable_usd(balance)), status="ok")
    return entry


async def dashboard_balance(
    conn: Connection,
    box: SecretBox,
    exchanges: CcxtExchanges,
    user_id: uuid.UUID,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    accounts = await exchange_accounts.list_accounts(conn, user_id)
    ready: list[tuple[AccountRow, Credentials]] = []
    unreadable: dict[uuid.UUID, dict[str, Any]] = {}
    for account in accounts:  # one connection: credentials are opened one after the other
        try:
            creds = await exchange_accounts.credentials(conn, box, user_id, account.id)
        except ServiceError as exc:
            unreadable[account.id] = _failed(_entry(account), exc.code, exc.message)
            continue
        ready.append((account, creds))
    fetched = await asyncio.gather(
        *(_account_balance(exchanges, a, c, timeout_seconds) for a, c in ready)
    )
    by_id = {uuid.UUID(e["id"]): e for e in fetched} | unreadable
    entries = [by_id[a.id] for a in accounts]

    rows = await portfolio.list_balances(conn, await find_trading_account(conn, user_id))
    own = sum((r.total for r in rows if r.asset.upper() in STABLECOINS), Decimal(0))
    entries.append(
        {
            "id": None,
            "exchange": "ordex",
            "label": ORDEX_LABEL,
            "balanceUsd": usd(own),
            "status": "ok",
        }
    )
    total = sum((Decimal(str(e["balanceUsd"])) for e in entries), Decimal(0))
    return {
        "totalUsd": usd(total),
        "exchanges": entries,
        "failed": sum(1 for e in entries if e.get("status") == "error"),
    }
