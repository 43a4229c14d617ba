"""The JSON shape of each workspace row, shared by API responses and state:changed events."""

from __future__ import annotations

from typing import Any

from ordex.db.dashboards import DashboardRow
from ordex.db.data_providers import ProviderRow
from ordex.db.exchange_accounts import AccountRow
from ordex.db.groups import GroupRow
from ordex.db.widgets import WidgetRow
from ordex.timestamps import iso_millis


def dashboard_json(row: DashboardRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "userId": str(row.user_id),
        "title": row.title,
        "description": row.description,
        "layout": row.layout,
        "isDefault": row.is_default,
        "createdAt": iso_millis(row.created_at),
        "updatedAt": iso_millis(row.updated_at),
    }


def widget_json(row: WidgetRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "dashboardId": str(row.dashboard_id),
        "type": row.type,
        "defaultTitle": row.default_title,
        "userTitle": row.user_title,
        "position": row.position,
        "preCollapsePosition": row.pre_collapse_position,
        "config": row.config,
        "groupId": None if row.group_id is None else str(row.group_id),
        "showGroupSelector": row.show_group_selector,
        "isVisible": row.is_visible,
        "isMinimized": row.is_minimized,
        "createdAt": iso_millis(row.created_at),
        "updatedAt": iso_millis(row.updated_at),
    }


def group_json(row: GroupRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "userId": str(row.user_id),
        "name": row.name,
        "color": row.color,
        "tradingPair": row.trading_pair,
        "account": row.account,
        "exchange": row.exchange,
        "market": row.market,
        "description": row.description,
        "createdAt": iso_millis(row.created_at),
        "updatedAt": iso_millis(row.updated_at),
    }


def provider_json(row: ProviderRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "userId": str(row.user_id),
        "name": row.name,
        "type": row.type,
        "status": row.status,
        "exchanges": row.exchanges,
        "priority": row.priority,
        "config": row.config,
        "createdAt": iso_millis(row.created_at),
        "updatedAt": iso_millis(row.updated_at),
    }


def account_json(row: AccountRow) -> dict[str, Any]:
    """An exchange account as /api/accounts shows it: metadata only, never credentials."""
    return {
        "id": str(row.id),
        "userId": str(row.user_id),
        "exchange": row.exchange,
        "label": row.label,
        "uid": row.uid,
        "hasPassword": row.has_passphrase,
        # Credentials are always sealed at rest, whatever a client asks for.
        "isEncrypted": True,
        "isValid": row.is_valid,
        "createdAt": iso_millis(row.created_at),
        "updatedAt": iso_millis(row.updated_at),
    }


def exchange_key_json(row: AccountRow) -> dict[str, Any]:
    """The same account as /api/exchange-keys lists it."""
    return {
        "id": str(row.id),
        "exchange": row.exchange,
        "label": row.label,
        "createdAt": iso_millis(row.created_at),
        "isValid": row.is_valid,
    }
