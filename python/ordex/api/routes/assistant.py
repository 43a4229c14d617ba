"""`/api/ai-keys` (the caller's Anthropic key: hint, save, remove, validate) and `/api/chat` (the
assistant, streamed as Server-Sent Events, and the chat messages stored per flow)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.middleware import REQUEST_CONNECTION
from ordex.api.schemas import API_ERRORS
from ordex.api.schemas_assistant import (
    CHAT_ERRORS,
    CHAT_STREAM_DESCRIPTION,
    MESSAGES_ERRORS,
    SAVE_ERRORS,
    VALIDATE_ERRORS,
    AiKeyCreate,
    AiKeySaved,
    AiKeyStatus,
    AiKeyValidate,
    AiKeyValidity,
    ChatBody,
    ChatMessages,
    Success,
)
from ordex.api.workspace_deps import SecretBoxDep, parse_id
from ordex.services import ai_keys, assistant
from ordex.services.ai_keys import AssistantSettings
from ordex.services.assistant import ChatEvent, Turn
from ordex.services.flows import flow_not_found

router = APIRouter(tags=["assistant"], responses=API_ERRORS)

PING_SECONDS = 15


async def get_assistant_settings(request: Request) -> AssistantSettings:
    """ORDEX_ANTHROPIC_* read once per app (tests set `app.state.assistant_settings`)."""
    settings: AssistantSettings | None = getattr(request.app.state, "assistant_settings", None)
    if settings is None:
        settings = request.app.state.assistant_settings = AssistantSettings()
    return settings


AssistantSettingsDep = Annotated[AssistantSettings, Depends(get_assistant_settings)]
FlowIdQuery = Annotated[str, Query(alias="flowId", description="the flow's id")]


# --- AI keys ------------------------------------------------------------------------------------


@router.get("/api/ai-keys", response_model=AiKeyStatus)
async def key_status(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """Whether a key is saved, and its masked hint; never the key."""
    return await ai_keys.status(conn, user.id)


@router.post("/api/ai-keys", response_model=AiKeySaved, responses=SAVE_ERRORS)
async def save_key(
    body: AiKeyCreate, user: CurrentUser, box: SecretBoxDep, conn: DbConn
) -> dict[str, Any]:
    """Save (or replace) the key, sealed with AES-256-GCM before it is stored."""
    hint = await ai_keys.save_key(conn, box, user.id, body.apiKey)
    return {"success": True, "hint": hint}


@router.delete("/api/ai-keys", response_model=Success)
async def delete_key(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """Remove the saved key (success also when there was none)."""
    await ai_keys.delete_key(conn, user.id)
    return {"success": True}


@router.post(
    "/api/ai-keys/validate",
    response_model=AiKeyValidity,
    response_model_exclude_none=True,
    responses=VALIDATE_ERRORS,
)
async def validate_key(
    request: Request,
    user: CurrentUser,
    box: SecretBoxDep,
    conn: DbConn,
    settings: AssistantSettingsDep,
    body: AiKeyValidate | None = None,
) -> dict[str, Any]:
    """Ask the Anthropic models endpoint whether it accepts the saved key (or `apiKey`, unsaved)."""
    if body is not None and body.apiKey is not None:
        api_key = ai_keys.check_key(body.apiKey)
    else:
        api_key = await ai_keys.open_key(conn, box, user.id)
    await _release_connection(request)  # not held while waiting on the provider
    return await ai_keys.validate_key(api_key, settings)


# --- chat ---------------------------------------------------------------------------------------


async def _release_connection(request: Request) -> None:
    """Give the request's database connection back now rather than after the response: a chat
    streams for up to minutes and must not pin a pooled connection meanwhile."""
    held: tuple[asyncpg.Pool, Any] | None = request.scope.pop(REQUEST_CONNECTION, None)
    if held is not None:
        await held[0].release(held[1])


def _sse(event: ChatEvent) -> ServerSentEvent:
    data = event.data if isinstance(event.data, str) else orjson.dumps(event.data).decode()
    return ServerSentEvent(data=data, event=event.event)


async def _events(source: AsyncIterator[ChatEvent]) -> AsyncIterator[ServerSentEvent]:
    async for event in source:
        yield _sse(event)


@router.post(
    "/api/chat",
    response_model=None,
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": CHAT_STREAM_DESCRIPTION},
        **CHAT_ERRORS,
    },
)
async def chat(
    body: ChatBody,
    request: Request,
    user: CurrentUser,
    box: SecretBoxDep,
    conn: DbConn,
    settings: AssistantSettingsDep,
) -> EventSourceResponse:
    """Send the conversation to the assistant; the answer streams back as Server-Sent Events.
    Needs a saved Anthropic key (400 AI_KEY_REQUIRED otherwise)."""
    flow_id = None if body.flowId is None else parse_id(body.flowId, flow_not_found)
    turns = [Turn(m.role, m.content) for m in body.messages]
    api_key, context = await assistant.start_chat(
        conn, box, user.id, messages=turns, flow_id=flow_id, flow_context=body.flowContext
    )
    await _release_connection(request)
    source = assistant.stream_reply(request.app.state.pool, api_key, settings, context, turns)
    return EventSourceResponse(_events(source), ping=PING_SECONDS, sep="\n")


@router.get("/api/chat/messages", response_model=ChatMessages, responses=MESSAGES_ERRORS)
async def list_messages(flowId: FlowIdQuery, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """The flow's saved chat messages, oldest first."""
    flow_id = parse_id(flowId, flow_not_found)
    return {"messages": await assistant.list_messages(conn, user.id, flow_id)}


@router.delete("/api/chat/messages", response_model=Success, responses=MESSAGES_ERRORS)
async def delete_messages(flowId: FlowIdQuery, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """Delete every chat message of the flow."""
    await assistant.delete_messages(conn, user.id, parse_id(flowId, flow_not_found))
    return {"success": True}
