"""The users' Anthropic API keys: sealed with AES-256-GCM (the same `SecretBox` as exchange
credentials, the owner's id as associated data), shown only as a hint, opened only to talk to the
Messages API on the owner's behalf. Also the assistant's settings and its SDK client.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import anthropic
import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ordex.crypto import DecryptionError, SecretBox
from ordex.db import ai_keys as ai_keys_repo
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.services.errors import ServiceError

log = get_logger(__name__)

KEY_PREFIX = "sk-ant-"
PROVIDER = "anthropic"
DEFAULT_MODEL = "claude-sonnet-4-6"


class AssistantSettings(BaseSettings):
    """ORDEX_ANTHROPIC_* from the environment or `.env`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # None: the SDK's default (https://api.anthropic.com).
    ordex_anthropic_base_url: str | None = None
    ordex_anthropic_model: str = DEFAULT_MODEL
    ordex_anthropic_max_tokens: Annotated[int, Field(ge=1, le=64_000)] = 4096
    # Connect, and the longest wait for the next bytes of a stream.
    ordex_anthropic_timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    # The whole answer, tool rounds included: a stream that trickles forever still ends.
    ordex_anthropic_total_seconds: Annotated[float, Field(gt=0)] = 300.0
    ordex_anthropic_max_retries: Annotated[int, Field(ge=0, le=10)] = 2
    # Rounds of model -> tool result -> model in one answer.
    ordex_assistant_tool_rounds: Annotated[int, Field(ge=1, le=10)] = 3


def make_client(api_key: str, settings: AssistantSettings) -> anthropic.AsyncAnthropic:
    seconds = settings.ordex_anthropic_timeout_seconds
    return anthropic.AsyncAnthropic(
        api_key=api_key,
        base_url=settings.ordex_anthropic_base_url,
        timeout=httpx.Timeout(seconds, connect=min(seconds, 10.0)),
        max_retries=settings.ordex_anthropic_max_retries,
    )


def key_required() -> ServiceError:
    return ServiceError(
        400,
        "AI_KEY_REQUIRED",
        "No Anthropic API key saved: add one with POST /api/ai-keys",
    )


def hint_of(api_key: str) -> str:
    """The documented masked form: the prefix only, nothing of the secret part."""
    return api_key[: len(KEY_PREFIX)] + "****"


def check_key(api_key: str) -> str:
    api_key = api_key.strip()
    if not api_key.startswith(KEY_PREFIX) or len(api_key) <= len(KEY_PREFIX):
        raise ServiceError(
            400, "INVALID_API_KEY", f"apiKey must start with '{KEY_PREFIX}'", field="apiKey"
        )
    return api_key


async def status(conn: Connection, user_id: uuid.UUID) -> dict[str, Any]:
    hint = await ai_keys_repo.get_hint(conn, user_id)
    return {"hasKey": hint is not None, "hint": hint}


async def save_key(conn: Connection, box: SecretBox, user_id: uuid.UUID, api_key: str) -> str:
    """Seal and store (or replace) the user's key; returns its hint."""
    api_key = check_key(api_key)
    hint = hint_of(api_key)
    await ai_keys_repo.upsert_key(
        conn, user_id, provider=PROVIDER, key_enc=box.seal(api_key, user_id), hint=hint
    )
    return hint


async def delete_key(conn: Connection, user_id: uuid.UUID) -> bool:
    return await ai_keys_repo.delete_key(conn, user_id)


async def open_key(conn: Connection, box: SecretBox, user_id: uuid.UUID) -> str:
    """The user's key in clear, or a 400 when none is saved."""
    sealed = await ai_keys_repo.get_key(conn, user_id)
    if sealed is None:
        raise key_required()
    try:
        return box.open(sealed.key_enc, user_id)
    except DecryptionError as exc:
        raise ServiceError(
            500, "CREDENTIALS_UNREADABLE", "The stored API key cannot be decrypted with this key"
        ) from exc


async def validate_key(api_key: str, settings: AssistantSettings) -> dict[str, Any]:
    """Ask the Messages API's models endpoint whether it accepts the key.

    A refused key (401, 403) is `valid: false`; an unreachable or failing provider is a 503, as
    that says nothing about the key."""
    async with make_client(api_key, settings) as client:
        try:
            await client.models.list(limit=1)
        except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as exc:
            return {"valid": False, "error": upstream_message(exc)}
        except anthropic.APIStatusError as exc:
            log.warning("anthropic models check failed", status=exc.status_code)
            raise ServiceError(
                503,
                "AI_PROVIDER_UNAVAILABLE",
                f"The Anthropic API answered {exc.status_code}: {upstream_message(exc)}",
            ) from None
        except anthropic.APIError as exc:  # connection errors and timeouts
            log.warning("anthropic models check failed", error=str(exc))
            raise ServiceError(
                503, "AI_PROVIDER_UNAVAILABLE", "The Anthropic API could not be reached"
            ) from None
    return {"valid": True}


def upstream_message(exc: anthropic.APIError) -> str:
    """The message of Anthropic's error JSON (`{"type":"error","error":{"type","message"}}`)."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return exc.message


async def rotate_key(conn: Connection, old: SecretBox, new: SecretBox) -> int:
    """Re-seal every stored AI key from the old key to the new one in one transaction; a key that
    does not open with the old one aborts with nothing changed."""
    async with conn.transaction():
        rows = await ai_keys_repo.lock_all_sealed(conn)
        resealed: list[tuple[uuid.UUID, bytes]] = []
        for owner_id, blob in rows:
            try:
                resealed.append((owner_id, new.seal(old.open(blob, owner_id), owner_id)))
            except DecryptionError as exc:
                raise DecryptionError(
                    f"the AI key of user {owner_id} does not open with the current key"
                ) from exc
        if resealed:
            await ai_keys_repo.replace_sealed(conn, resealed)
    return len(resealed)
