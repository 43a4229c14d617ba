"""Dashboards, widgets and instrument-linking groups of one user, and the default workspace a new
user starts with. Every change goes through `state_events.recording` (one transaction, one revision
per change, events after commit); another user's rows are simply not found."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ordex.db import dashboards as dashboards_repo
from ordex.db import data_providers as providers_repo
from ordex.db import groups as groups_repo
from ordex.db import user_settings as settings_repo
from ordex.db import widgets as widgets_repo
from ordex.db.types import Connection
from ordex.services.errors import ServiceError
from ordex.services.state_events import Actor, recording
from ordex.services.workspace_views import dashboard_json, group_json, provider_json, widget_json

WIDGET_TYPES = (
    "chart", "orderbook", "trades", "orderForm", "portfolio", "userBalances", "userTradingData",
    "deals", "transactionHistory", "dataProviderSettings", "dataProviderDebug", "exchanges",
    "markets", "pairs",
)  # fmt: skip
GROUP_COLORS = (
    "transparent", "#00BCD4", "#F44336", "#9C27B0", "#2196F3", "#4CAF50", "#FF9800", "#E91E63",
)  # fmt: skip


def dashboard_not_found() -> ServiceError:
    return ServiceError(404, "DASHBOARD_NOT_FOUND", "Dashboard not found")


def widget_not_found() -> ServiceError:
    return ServiceError(404, "WIDGET_NOT_FOUND", "Widget not found")


def group_not_found() -> ServiceError:
    return ServiceError(404, "GROUP_NOT_FOUND", "Group not found", field="groupId")


# --- dashboards ---------------------------------------------------------------------------------


async def list_dashboards(conn: Connection, user_id: uuid.UUID) -> list[dict[str, Any]]:
    return [dashboard_json(d) for d in await dashboards_repo.list_dashboards(conn, user_id)]


async def get_dashboard(
    conn: Connection, user_id: uuid.UUID, dashboard_id: uuid.UUID
) -> dict[str, Any]:
    """A dashboard with its widgets, read in one snapshot."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        dashboard = await dashboards_repo.get_dashboard(conn, user_id, dashboard_id)
        if dashboard is None:
            raise dashboard_not_found()
        widgets = await widgets_repo.list_for_dashboard(conn, user_id, dashboard_id)
    return {**dashboard_json(dashboard), "widgets": [widget_json(w) for w in widgets]}


async def create_dashboard(
    conn: Connection, actor: Actor, fields: Mapping[str, Any]
) -> dict[str, Any]:
    async with recording(conn, actor) as changes:
        is_default = bool(fields.get("isDefault", False))
        if is_default:
            await dashboards_repo.clear_default(conn, actor.user_id)
        row = await dashboards_repo.insert_dashboard(
            conn,
            actor.user_id,
            title=fields["title"],
            description=fields.get("description"),
            layout=fields.get("layout") or {},
            is_default=is_default,
        )
        data = dashboard_json(row)
        changes.add("dashboard", "created", row.id, data)
    return data


async def update_dashboard(
    conn: Connection, actor: Actor, dashboard_id: uuid.UUID, changes_in: Mapping[str, Any]
) -> dict[str, Any]:
    async with recording(conn, actor) as changes:
        if changes_in.get("isDefault"):
            if await dashboards_repo.get_dashboard(conn, actor.user_id, dashboard_id) is None:
                raise dashboard_not_found()
            await dashboards_repo.clear_default(conn, actor.user_id)
        row = await dashboards_repo.update_dashboard(conn, actor.user_id, dashboard_id, changes_in)
        if row is None:
            raise dashboard_not_found()
        data = dashboard_json(row)
        changes.add("dashboard", "updated", row.id, data)
    return data


async def delete_dashboard(conn: Connection, actor: Actor, dashboard_id: uuid.UUID) -> None:
    async with recording(conn, actor) as changes:
        widgets = await widgets_repo.list_for_dashboard(conn, actor.user_id, dashboard_id)
        row = await dashboards_repo.delete_dashboard(conn, actor.user_id, dashboard_id)
        if row is None:
            raise dashboard_not_found()
        data = {**dashboard_json(row), "widgetIds": [str(w.id) for w in widgets]}
        changes.add("dashboard", "deleted", row.id, data)


# --- widgets ------------------------------------------------------------------------------------


async def list_widgets(
    conn: Connection, user_id: uuid.UUID, dashboard_id: uuid.UUID
) -> list[dict[str, Any]]:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if await dashboards_repo.get_dashboard(conn, user_id, dashboard_id) is None:
            raise dashboard_not_found()
        widgets = await widgets_repo.list_for_dashboard(conn, user_id, dashboard_id)
    return [widget_json(w) for w in widgets]


async def _ensure_group(conn: Connection, user_id: uuid.UUID, group_id: uuid.UUID | None) -> None:
    if group_id is not None and await groups_repo.get_group(conn, user_id, group_id) is None:
        raise group_not_found()


async def create_widget(
    conn: Connection, actor: Actor, fields: Mapping[str, Any]
) -> dict[str, Any]:
    async with recording(conn, actor) as changes:
        dashboard_id: uuid.UUID = fields["dashboardId"]
        if await dashboards_repo.get_dashboard(conn, actor.user_id, dashboard_id) is None:
            raise ServiceError(
                404, "DASHBOARD_NOT_FOUND", "Dashboard not found", field="dashboardId"
            )
        group_id: uuid.UUID | None = fields.get("groupId")
        await _ensure_group(conn, actor.user_id, group_id)
        row = await widgets_repo.insert_widget(
            conn,
            actor.user_id,
            dashboard_id=dashboard_id,
            type=fields["type"],
            default_title=fields.get("defaultTitle") or fields["type"],
            user_title=fields.get("userTitle"),
            position=fields["position"],
            pre_collapse_position=fields.get("preCollapsePosition"),
            config=fields.get("config") or {},
            group_id=group_id,
            show_group_selector=fields.get("showGroupSelector", True),
            is_visible=fields.get("isVisible", True),
            is_minimized=fields.get("isMinimized", False),
        )
        data = widget_json(row)
        changes.add("widget", "created", row.id, data)
    return data


async def update_widget(
    conn: Connection, actor: Actor, widget_id: uuid.UUID, changes_in: Mapping[str, Any]
) -> dict[str, Any]:
    async with recording(conn, actor) as changes:
        if "groupId" in changes_in:
            if await widgets_repo.get_widget(conn, actor.user_id, widget_id) is None:
                raise widget_not_found()
            await _ensure_group(conn, actor.user_id, changes_in["groupId"])
        row = await widgets_repo.update_widget(conn, actor.user_id, widget_id, changes_in)
        if row is None:
            raise widget_not_found()
        data = widget_json(row)
        changes.add("widget", "updated", row.id, data)
    return data


async def update_widget_positions(
    conn: Connection, actor: Actor, positions: Sequence[tuple[uuid.UUID, Mapping[str, Any]]]
) -> list[dict[str, Any]]:
    """All positions or none: an unknown id, or another user's widget, fails the whole batch."""
    ids = [widget_id for widget_id, _ in positions]
    if len(set(ids)) != len(ids):
        raise ServiceError(400, "DUPLICATE_WIDGET", "A widget appears twice in the batch")
    async with recording(conn, actor) as changes:
        rows = await widgets_repo.update_positions(conn, actor.user_id, positions)
        if len(rows) != len(ids):
            missing = sorted(str(i) for i in set(ids) - {r.id for r in rows})
            raise ServiceError(
                404, "WIDGET_NOT_FOUND", f"Widget not found: {', '.join(missing)}", field="widgets"
            )
        order = {widget_id: index for index, widget_id in enumerate(ids)}
        data = [widget_json(r) for r in sorted(rows, key=lambda r: order[r.id])]
        for item in data:
            changes.add("widget", "updated", item["id"], item)
    return data


async def delete_widget(conn: Connection, actor: Actor, widget_id: uuid.UUID) -> None:
    async with recording(conn, actor) as changes:
        row = await widgets_repo.delete_widget(conn, actor.user_id, widget_id)
        if row is None:
            raise widget_not_found()
        changes.add("widget", "deleted", row.id, widget_json(row))


# --- groups -------------------------------------------------------------------------------------


async def list_groups(conn: Connection, user_id: uuid.UUID) -> list[dict[str, Any]]:
    return [group_json(g) for g in await groups_repo.list_groups(conn, user_id)]


async def get_group(conn: Connection, user_id: uuid.UUID, group_id: uuid.UUID) -> dict[str, Any]:
    row = await groups_repo.get_group(conn, user_id, group_id)
    if row is None:
        raise ServiceError(404, "GROUP_NOT_FOUND", "Group not found")
    return group_json(row)


async def create_group(conn: Connection, actor: Actor, fields: Mapping[str, Any]) -> dict[str, Any]:
    async with recording(conn, actor) as changes:
        row = await groups_repo.insert_group(conn, actor.user_id, fields)
        data = group_json(row)
        changes.add("group", "created", row.id, data)
    return data


async def update_group(
    conn: Connection, actor: Actor, group_id: uuid.UUID, changes_in: Mapping[str, Any]
) -> dict[str, Any]:
    async with recording(conn, actor) as changes:
        row = await groups_repo.update_group(conn, actor.user_id, group_id, changes_in)
        if row is None:
            raise ServiceError(404, "GROUP_NOT_FOUND", "Group not found")
        data = group_json(row)
        changes.add("group", "updated", row.id, data)
    return data


async def delete_group(conn: Connection, actor: Actor, group_id: uuid.UUID) -> None:
    async with recording(conn, actor) as changes:
        linked = await groups_repo.widgets_linked_to(conn, actor.user_id, group_id)
        row = await groups_repo.delete_group(conn, actor.user_id, group_id)
        if row is None:
            raise ServiceError(404, "GROUP_NOT_FOUND", "Group not found")
        data = {**group_json(row), "unlinkedWidgetIds": [str(w) for w in linked]}
        changes.add("group", "deleted", row.id, data)


# --- the default workspace of a new user --------------------------------------------------------

DEFAULT_LAYOUT = {"gridSize": {"width": 1920, "height": 1080}, "snapToGrid": True, "gridStep": 10}
DEFAULT_WIDGETS: tuple[tuple[str, str, dict[str, int]], ...] = (
    ("chart", "Chart", {"x": 0, "y": 0, "width": 800, "height": 500, "zIndex": 1}),
    ("orderbook", "Order Book", {"x": 810, "y": 0, "width": 350, "height": 500, "zIndex": 2}),
    ("trades", "Trades", {"x": 1170, "y": 0, "width": 350, "height": 500, "zIndex": 3}),
    ("orderForm", "Order Form", {"x": 810, "y": 510, "width": 350, "height": 400, "zIndex": 4}),
    ("userBalances", "Balances", {"x": 0, "y": 510, "width": 800, "height": 400, "zIndex": 5}),
    (
        "userTradingData",
        "Trading Data",
        {"x": 1170, "y": 510, "width": 350, "height": 400, "zIndex": 6},
    ),
)
DEFAULT_DATA_FETCH = {
    "method": "websocket",
    "restIntervals": {
        "trades": 1000, "candles": 5000, "orderbook": 500, "balance": 30000, "ticker": 600000,
    },
}  # fmt: skip


async def create_default_workspace(conn: Connection, user_id: uuid.UUID) -> uuid.UUID:
    """A new user's starting point: one group (BTC/USDT spot on Binance), one server data provider,
    the default dashboard with six widgets linked to the group, and settings pointing at them.
    Runs inside the registration transaction; returns the dashboard id."""
    async with recording(conn, Actor(user_id)) as changes:
        group = await groups_repo.insert_group(
            conn,
            user_id,
            {
                "name": "Default",
                "color": "transparent",
                "exchange": "binance",
                "market": "spot",
                "tradingPair": "BTC/USDT",
            },
        )
        changes.add("group", "created", group.id, group_json(group))
        provider = await providers_repo.insert_provider(
            conn,
            user_id,
            name="Primary Server",
            type="ccxt-server",
            status="connected",
            exchanges=["*"],
            priority=1,
            config={"sandbox": False},
        )
        changes.add("provider", "created", provider.id, provider_json(provider))
        dashboard = await dashboards_repo.insert_dashboard(
            conn,
            user_id,
            title="Main Dashboard",
            description=None,
            layout=DEFAULT_LAYOUT,
            is_default=True,
        )
        changes.add("dashboard", "created", dashboard.id, dashboard_json(dashboard))
        for widget_type, title, position in DEFAULT_WIDGETS:
            widget = await widgets_repo.insert_widget(
                conn,
                user_id,
                dashboard_id=dashboard.id,
                type=widget_type,
                default_title=title,
                user_title=None,
                position=position,
                pre_collapse_position=None,
                config={},
                group_id=group.id,
                show_group_selector=True,
                is_visible=True,
                is_minimized=False,
            )
            changes.add("widget", "created", widget.id, widget_json(widget))
        settings = {
            "activeDashboardId": str(dashboard.id),
            "selectedGroupId": str(group.id),
            "activeProviderId": str(provider.id),
            "theme": "dark",
            "dataFetchSettings": DEFAULT_DATA_FETCH,
        }
        await settings_repo.upsert_settings(conn, user_id, settings)
        for key, value in settings.items():
            changes.add("settings", "created", key, {"key": key, "value": value})
    return dashboard.id
