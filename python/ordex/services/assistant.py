"""The AI trading assistant: a chat about one flow, streamed from the Anthropic Messages API.

The system prompt carries a guide to the flow document, the flow itself (the editor's unsaved
`flowContext` when given, else the stored document) and the flow's latest backtest. The model may
call `propose_flow_change` with a whole document or a patch; the proposal is checked by the
evaluator (`ordex.validate_flow`, as every flow write is) and sent to the client as its own event,
valid or not, and the verdict goes back to the model so it can explain or correct it. Nothing is
saved to the flow: applying a proposal is the client's call.

Every upstream failure (an HTTP error, a broken or stalled stream, the overall deadline) ends the
stream with an error event; the user's message is stored when the chat starts, the assistant's
answer once it is complete.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import anthropic
import asyncpg
import httpx
import orjson

from ordex.crypto import SecretBox
from ordex.db import assistant as chat_repo
from ordex.db import backtests as backtests_repo
from ordex.db import flows as flows_repo
from ordex.db.assistant import ChatMessageRow
from ordex.db.flows import FlowDocument
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.services import ai_keys
from ordex.services.ai_keys import AssistantSettings
from ordex.services.errors import ServiceError
from ordex.services.flows import document_json, flow_not_found, validate_document
from ordex.timestamps import iso_millis

log = get_logger(__name__)

TOOL_NAME = "propose_flow_change"
DONE = "[DONE]"

# --- what the model is told ---------------------------------------------------------------------

FLOW_GUIDE = """\
A flow is a JSON document {"schemaVersion": 1, "settings": {...}, "nodes": [...], "edges": [...]}.
Settings: exchange, symbol, timeframe (required), initialCapital (> 0, required), feeBps and
slippageBps (0..1000), direction (long | short | both), maxEntries (1..100).
A node is {"id", "type", "params"}; an edge is {"id", "source", "sourceHandle", "target",
"targetHandle"}. Port types: series, bool, event (a pulsing bool), risk.
Node types (params; inputs -> outputs):
- trigger.candle_close (timeframe?), trigger.interval (everyBars >= 1), trigger.manual,
  trigger.webhook: -> open high low close volume (series), tick (event)
- indicator.sma / indicator.ema (period 1..10000, EMA >= 2): source -> value
- indicator.rsi (period 2..10000, default 14): source -> value
- indicator.macd (fast < slow, signal; defaults 12, 26, 9): source -> macd signal hist
- indicator.bollinger (period default 20, stdDev > 0 default 2): source -> upper middle lower
- indicator.atr (period default 14; source wired from a trigger): source -> value
- logic.compare (op < <= > >= == !=, b number when b is unwired): a, b? -> out (bool)
- logic.cross (direction above | below, b number when unwired): a, b? -> out
- logic.threshold (lower?, upper?, at least one): a -> out
- logic.and / logic.or: a, b -> out; logic.not: a -> out
- action.buy / action.sell / action.close (orderType market | limit, limitOffsetBps for limit,
  size {mode: fixed | pct_equity | risk, value}, no size on close): when (bool, required),
  risk (any number of risk edges)
- risk.stop_loss / risk.take_profit / risk.trailing_stop (pct in (0, 1)), risk.time_limit
  (bars >= 1), risk.kill_switch (maxDrawdownPct in (0, 1)): -> out (risk)
Rules: unique node and edge ids, edges between existing ports of compatible types, one edge per
input port (except risk), required inputs wired, no cycles, at least one trigger and one action,
every action reachable from a trigger. Size mode risk needs a risk.stop_loss on the action.
Orders fill at the next bar's open; buy closes a short else opens or adds to a long; sell the
reverse; close closes any position."""

SYSTEM_INTRO = """\
You are the ordex trading assistant. You help the user understand, design and improve a strategy
flow: a graph of triggers, indicators, logic, actions and risk nodes evaluated once per closed
candle, used for backtests and live executions. Be concise and concrete; explain trading risk
honestly and never promise returns. When the user asks for a change to the flow, call the
`propose_flow_change` tool (a whole document, or a patch of the current one) with a short
summary; the proposal is validated and shown to the user, who decides whether to apply it.
Nothing is applied or saved by you."""

_JSON_OBJECT: dict[str, Any] = {"type": "object"}

PROPOSE_TOOL: dict[str, Any] = {
    "name": TOOL_NAME,
    "description": (
        "Propose a change to the user's flow. Give either `document` (the complete new flow "
        "document) or `patch` (changes to the current flow), and a `summary`. The proposal is "
        "validated by the flow evaluator; the result comes back as the tool result. The user "
        "applies it or not; nothing is saved automatically."
    ),
    "input_schema": {
        "type": "object",
        "properties": {
            "summary": {
                "type": "string",
                "description": "One or two sentences: what changes and why.",
            },
            "document": {
                "type": "object",
                "description": "The complete new flow document.",
                "properties": {
                    "schemaVersion": {"type": "integer"},
                    "settings": _JSON_OBJECT,
                    "nodes": {"type": "array", "items": _JSON_OBJECT},
                    "edges": {"type": "array", "items": _JSON_OBJECT},
                },
                "required": ["settings", "nodes", "edges"],
            },
            "patch": {
                "type": "object",
                "description": "Changes to the current flow, applied in this order: settings, "
                "removeEdges, removeNodes (their edges go too), upsertNodes, upsertEdges.",
                "properties": {
                    "settings": {
                        "type": "object",
                        "description": "Settings keys to set; null removes a key.",
                    },
                    "removeEdges": {"type": "array", "items": {"type": "string"}},
                    "removeNodes": {"type": "array", "items": {"type": "string"}},
                    "upsertNodes": {
                        "type": "array",
                        "items": _JSON_OBJECT,
                        "description": "Nodes {id, type, params} added, or replacing the node "
                        "with the same id (its editor keys such as position are kept).",
                    },
                    "upsertEdges": {
                        "type": "array",
                        "items": _JSON_OBJECT,
                        "description": "Edges added, or replacing the edge with the same id.",
                    },
                },
            },
        },
        "required": ["summary"],
    },
}

# --- the chat's context -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Turn:
    role: str  # "user" | "assistant"
    content: str


@dataclass(frozen=True, slots=True)
class ChatContext:
    user_id: uuid.UUID
    flow_id: uuid.UUID | None
    flow_name: str | None
    document: dict[str, Any] | None
    backtest: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """One Server-Sent Event: `data` is JSON-encoded unless it is the `[DONE]` marker."""

    data: dict[str, Any] | str
    event: str | None = None


@dataclass(slots=True)
class _Answer:
    text: list[str] = field(default_factory=list)
    proposals: list[str] = field(default_factory=list)


class StreamBroken(Exception):
    """The upstream stream ended without its `message_stop`."""


def message_json(row: ChatMessageRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "role": row.role,
        "content": row.content,
        "created_at": iso_millis(row.created_at),
    }


def _backtest_json(row: backtests_repo.BacktestSummaryRow) -> dict[str, Any]:
    return {
        "exchange": row.exchange,
        "symbol": row.symbol,
        "timeframe": row.timeframe,
        "startDate": iso_millis(row.start_date),
        "endDate": iso_millis(row.end_date),
        "status": row.status,
        "bars": row.bars,
        "metrics": row.metrics,
        "ranAt": iso_millis(row.created_at),
    }


async def _own_flow(conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID) -> str:
    row = await flows_repo.get_flow(conn, user_id, flow_id)
    if row is None:
        raise flow_not_found()
    return row.name


async def list_messages(
    conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID
) -> list[dict[str, Any]]:
    await _own_flow(conn, user_id, flow_id)
    return [message_json(r) for r in await chat_repo.list_messages(conn, user_id, flow_id)]


async def delete_messages(conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID) -> int:
    await _own_flow(conn, user_id, flow_id)
    return await chat_repo.delete_messages(conn, user_id, flow_id)


async def start_chat(
    conn: Connection,
    box: SecretBox,
    user_id: uuid.UUID,
    *,
    messages: Sequence[Turn],
    flow_id: uuid.UUID | None,
    flow_context: dict[str, Any] | None,
) -> tuple[str, ChatContext]:
    """Everything a chat needs before it streams: the opened key (400 without one), the flow
    (404 when it is not the user's), its latest backtest. Stores the user's message."""
    if not messages or messages[-1].role != "user":
        raise ServiceError(
            400, "VALIDATION_ERROR", "the last message must be the user's", field="messages"
        )
    api_key = await ai_keys.open_key(conn, box, user_id)
    flow_name: str | None = None
    document = flow_context
    backtest: dict[str, Any] | None = None
    if flow_id is not None:
        row = await flows_repo.get_flow(conn, user_id, flow_id)
        if row is None:
            raise flow_not_found()
        flow_name = row.name
        if document is None:
            document = document_json(row.document)
        recent, _ = await backtests_repo.list_backtests(conn, user_id, flow_id, 1, 0)
        backtest = _backtest_json(recent[0]) if recent else None
        await chat_repo.insert_message(
            conn, user_id, flow_id, role="user", content=messages[-1].content
        )
    context = ChatContext(user_id, flow_id, flow_name, document, backtest)
    return api_key, context


def system_prompt(context: ChatContext) -> str:
    parts = [SYSTEM_INTRO, "## The flow document\n" + FLOW_GUIDE]
    if context.document is not None:
        name = f' "{context.flow_name}"' if context.flow_name else ""
        parts.append(
            f"## The user's current flow{name}\n```json\n"
            + orjson.dumps(context.document, option=orjson.OPT_INDENT_2).decode()
            + "\n```"
        )
    else:
        parts.append("## The user's current flow\nNone yet: propose a whole document if asked.")
    if context.backtest is not None:
        parts.append(
            "## The flow's latest backtest\n```json\n"
            + orjson.dumps(context.backtest, option=orjson.OPT_INDENT_2).decode()
            + "\n```"
        )
    else:
        parts.append("## Backtests\nThis flow has not been backtested yet.")
    return "\n\n".join(parts)


# --- proposals ----------------------------------------------------------------------------------


class _BadProposal(Exception):
    pass


def _items_by_id(items: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("id"), str) for i in items
    ):
        raise _BadProposal(f"{what} must be a list of objects with a string id")
    return items


def _ids(value: Any, what: str) -> set[str]:
    if value is None:
        return set()
    if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
        raise _BadProposal(f"{what} must be a list of ids")
    return set(value)


def apply_patch(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The base document with the patch applied (see PROPOSE_TOOL for the order)."""
    document = copy.deepcopy(base)
    settings = patch.get("settings")
    if settings is not None:
        if not isinstance(settings, dict):
            raise _BadProposal("patch.settings must be an object")
        current = document.setdefault("settings", {})
        for key, value in settings.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
    nodes = _items_by_id(document.get("nodes", []), "nodes")
    edges = _items_by_id(document.get("edges", []), "edges")
    removed_edges = _ids(patch.get("removeEdges"), "patch.removeEdges")
    removed_nodes = _ids(patch.get("removeNodes"), "patch.removeNodes")
    edges = [
        e
        for e in edges
        if e["id"] not in removed_edges
        and e.get("source") not in removed_nodes
        and e.get("target") not in removed_nodes
    ]
    nodes = [n for n in nodes if n["id"] not in removed_nodes]
    by_id = {n["id"]: i for i, n in enumerate(nodes)}
    for node in _items_by_id(patch.get("upsertNodes") or [], "patch.upsertNodes"):
        if node["id"] in by_id:
            old = nodes[by_id[node["id"]]]
            editor = {k: v for k, v in old.items() if k not in ("id", "type", "params")}
            nodes[by_id[node["id"]]] = {**editor, **node}
        else:
            by_id[node["id"]] = len(nodes)
            nodes.append(node)
    edge_at = {e["id"]: i for i, e in enumerate(edges)}
    for edge in _items_by_id(patch.get("upsertEdges") or [], "patch.upsertEdges"):
        if edge["id"] in edge_at:
            edges[edge_at[edge["id"]]] = edge
        else:
            edge_at[edge["id"]] = len(edges)
            edges.append(edge)
    document["nodes"], document["edges"] = nodes, edges
    return document


def _as_flow_document(document: dict[str, Any]) -> FlowDocument:
    schema_version = document.get("schemaVersion", 1)
    settings, nodes, edges = (document.get(k) for k in ("settings", "nodes", "edges"))
    if isinstance(schema_version, bool) or not isinstance(schema_version, int):
        raise _BadProposal("schemaVersion must be an integer")
    if not isinstance(settings, dict):
        raise _BadProposal("settings must be an object")
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise _BadProposal("nodes and edges must be lists")
    return FlowDocument(schema_version, settings, nodes, edges)


def check_proposal(
    tool_use_id: str, tool_input: Any, base: dict[str, Any] | None
) -> dict[str, Any]:
    """The proposal as the client receives it: `valid` with the whole validated document, or
    `valid: false` with the evaluator's error (naming the node and the problem)."""
    proposal: dict[str, Any] = {"id": tool_use_id, "summary": "", "mode": None, "valid": False}
    try:
        if not isinstance(tool_input, dict):
            raise _BadProposal("the tool input must be an object")
        summary = tool_input.get("summary")
        proposal["summary"] = summary if isinstance(summary, str) else ""
        document, patch = tool_input.get("document"), tool_input.get("patch")
        if (document is None) == (patch is None):
            raise _BadProposal("give exactly one of `document` and `patch`")
        if document is not None:
            proposal["mode"] = "document"
            if not isinstance(document, dict):
                raise _BadProposal("document must be an object")
        else:
            proposal["mode"] = "patch"
            if not isinstance(patch, dict):
                raise _BadProposal("patch must be an object")
            if base is None:
                raise _BadProposal("there is no current flow to patch: propose a whole document")
            document = apply_patch(base, patch)
        flow = _as_flow_document(document)
        candidate = document_json(flow)
        proposal["document"] = candidate
        validate_document(flow)
    except _BadProposal as exc:
        proposal["error"] = {
            "error": str(exc),
            "code": "INVALID_PROPOSAL",
            "details": {"node": None, "problem": "bad_proposal", "param": None},
        }
        return proposal
    except ServiceError as exc:  # the evaluator refused the document
        proposal["error"] = {"error": exc.message, "code": exc.code, "details": exc.details}
        return proposal
    proposal["valid"] = True
    return proposal


def _tool_feedback(proposal: dict[str, Any]) -> str:
    if proposal["valid"]:
        return (
            "The proposal is valid and has been shown to the user, who can apply it. "
            "It has not been saved."
        )
    return (
        "The proposal is invalid and was not applied: " + orjson.dumps(proposal["error"]).decode()
    )


# --- streaming ----------------------------------------------------------------------------------


def _error_event(message: str, code: str, status: int | None = None) -> ChatEvent:
    data: dict[str, Any] = {"error": message, "code": code}
    if status is not None:
        data["details"] = {"status": status}
    return ChatEvent(data, event="error")


def upstream_error_event(exc: BaseException) -> ChatEvent:
    """The error event that ends a stream, for whatever went wrong upstream."""
    if isinstance(exc, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
        return _error_event(
            "The Anthropic API refused the saved key: " + ai_keys.upstream_message(exc),
            "AI_KEY_REJECTED",
            exc.status_code,
        )
    if isinstance(exc, anthropic.RateLimitError):
        return _error_event(ai_keys.upstream_message(exc), "AI_RATE_LIMITED", exc.status_code)
    if isinstance(exc, anthropic.APIStatusError):
        overloaded = exc.status_code == 529 or "overloaded" in str(exc.body)
        return _error_event(
            ai_keys.upstream_message(exc),
            "AI_PROVIDER_OVERLOADED" if overloaded else "AI_PROVIDER_ERROR",
            exc.status_code,
        )
    if isinstance(exc, TimeoutError | anthropic.APITimeoutError | httpx.TimeoutException):
        return _error_event("The Anthropic API did not answer in time", "AI_PROVIDER_TIMEOUT")
    if isinstance(exc, anthropic.APIConnectionError):
        return _error_event("The Anthropic API could not be reached", "AI_PROVIDER_UNAVAILABLE")
    if isinstance(exc, StreamBroken | httpx.HTTPError | anthropic.APIError):
        return _error_event("The answer stream broke off", "AI_STREAM_BROKEN")
    return _error_event("The assistant failed", "AI_ERROR")


async def _store_answer(pool: asyncpg.Pool, context: ChatContext, answer: _Answer) -> None:
    if context.flow_id is None:
        return
    content = "".join(answer.text).strip()
    if not content and answer.proposals:
        content = "\n".join(f"Proposed a flow change: {s}" for s in answer.proposals)
    if not content:
        return
    async with pool.acquire() as conn:
        await chat_repo.insert_message(
            conn, context.user_id, context.flow_id, role="assistant", content=content
        )


async def stream_reply(
    pool: asyncpg.Pool,
    api_key: str,
    settings: AssistantSettings,
    context: ChatContext,
    messages: Sequence[Turn],
) -> AsyncIterator[ChatEvent]:
    """The answer as events: `{"text"}` deltas in order, `flow_proposal` events, then `[DONE]`;
    or an `error` event that ends the stream. Never raises for an upstream failure."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.ordex_anthropic_total_seconds
    convo: list[dict[str, Any]] = [{"role": m.role, "content": m.content} for m in messages]
    system = system_prompt(context)
    answer = _Answer()
    try:
        async with ai_keys.make_client(api_key, settings) as client:
            for _ in range(settings.ordex_assistant_tool_rounds):
                final: anthropic.types.Message | None = None
                async with AsyncExitStack() as stack:
                    async with asyncio.timeout_at(deadline):
                        stream = await stack.enter_async_context(
                            client.messages.stream(
                                model=settings.ordex_anthropic_model,
                                max_tokens=settings.ordex_anthropic_max_tokens,
                                system=system,
                                messages=convo,  # type: ignore[arg-type]
                                tools=[PROPOSE_TOOL],  # type: ignore[list-item]
                            )
                        )
                    events = stream.__aiter__()
                    while True:
                        async with asyncio.timeout_at(deadline):
                            try:
                                event = await events.__anext__()
                            except StopAsyncIteration:
                                break
                        if event.type == "text":
                            answer.text.append(event.text)
                            yield ChatEvent({"text": event.text})
                        elif event.type == "message_stop":
                            final = event.message
                if final is None:
                    raise StreamBroken("the stream ended without message_stop")
                tool_uses = [b for b in final.content if b.type == "tool_use"]
                if final.stop_reason != "tool_use" or not tool_uses:
                    break
                results: list[dict[str, Any]] = []
                for block in tool_uses:
                    if block.name != TOOL_NAME:
                        results.append(_tool_result(block.id, f"unknown tool {block.name}", True))
                        continue
                    proposal = check_proposal(block.id, block.input, context.document)
                    answer.proposals.append(proposal["summary"])
                    yield ChatEvent({"proposal": proposal}, event="flow_proposal")
                    results.append(
                        _tool_result(block.id, _tool_feedback(proposal), not proposal["valid"])
                    )
                convo.append({"role": "assistant", "content": _replayed(final.content)})
                convo.append({"role": "user", "content": results})
    except Exception as exc:  # every failure ends the stream with an error event
        expected = isinstance(
            exc, anthropic.APIError | httpx.HTTPError | StreamBroken | TimeoutError
        )
        log.warning(
            "assistant stream failed",
            error=repr(exc),
            flow_id=str(context.flow_id),
            exc_info=None if expected else exc,
        )
        yield upstream_error_event(exc)
        return
    try:
        await _store_answer(pool, context, answer)
    except (asyncpg.PostgresError, OSError) as exc:
        log.error("assistant answer not stored", error=repr(exc))
        yield _error_event("The answer could not be stored", "STORAGE_ERROR")
        return
    yield ChatEvent(DONE)


def _replayed(blocks: Sequence[Any]) -> list[dict[str, Any]]:
    """The assistant's text and tool-use blocks as request params, to send them back."""
    params: list[dict[str, Any]] = []
    for block in blocks:
        if block.type == "text" and block.text:
            params.append({"type": "text", "text": block.text})
        elif block.type == "tool_use":
            params.append(
                {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
            )
    return params


def _tool_result(tool_use_id: str, content: str, is_error: bool) -> dict[str, Any]:
    return {
        "type": "tool_result",
        "tool_use_id": tool_use_id,
        "content": content,
        "is_error": is_error,
    }
