"""Request bodies, response models and documented errors of `/api/ai-keys` and `/api/chat`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ordex.api.schemas import ApiErrorOut
from ordex.api.schemas_workspace import Body, JsonObject, check_storable

MAX_MESSAGES = 200
MAX_MESSAGE_CHARS = 100_000


class AiKeyCreate(Body):
    apiKey: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = Field(
        description="Anthropic API key (must start with sk-ant-)",
        json_schema_extra={"pattern": r"^\s*sk-ant-[\s\S]*\S"},  # the service's rule
    )


class AiKeyValidate(Body):
    apiKey: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = Field(
        default=None, description="a key to check without saving it; the saved one if absent"
    )


class AiKeyStatus(BaseModel):
    hasKey: bool
    hint: str | None = Field(description="masked, e.g. `sk-ant-****`; null without a key")


class AiKeySaved(BaseModel):
    success: bool
    hint: str


class Success(BaseModel):
    success: bool


class AiKeyValidity(BaseModel):
    valid: bool
    error: str | None = Field(default=None, description="why the key was refused (valid: false)")


class ChatTurnIn(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a saved message sent back keeps its id and date

    role: Literal["user", "assistant"]
    content: Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS)]


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    messages: list[ChatTurnIn] = Field(
        min_length=1,
        max_length=MAX_MESSAGES,
        description="the conversation, oldest first; the last one is the user's",
    )
    flowContext: JsonObject | None = Field(
        default=None,
        description="the editor's current flow (settings, nodes, edges), used instead of the "
        "stored document in the system prompt",
    )
    flowId: str | None = Field(
        default=None,
        description="the flow to talk about and to store the messages under (another user's "
        "flow is a 404)",
    )

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        check_storable(value)
        return value


class ChatMessageOut(BaseModel):
    id: str
    role: Literal["user", "assistant"]
    content: str
    created_at: str


class ChatMessages(BaseModel):
    messages: list[ChatMessageOut] = Field(description="oldest first")


KEY_REQUIRED_400 = {
    "model": ApiErrorOut,
    "description": "AI_KEY_REQUIRED (no saved Anthropic key), VALIDATION_ERROR or INVALID_JSON",
}
FLOW_NOT_FOUND_404 = {
    "model": ApiErrorOut,
    "description": "FLOW_NOT_FOUND: no such flow of the caller's (or an id that is not a UUID)",
}
CHAT_ERRORS: dict[int | str, dict[str, Any]] = {400: KEY_REQUIRED_400, 404: FLOW_NOT_FOUND_404}
MESSAGES_ERRORS: dict[int | str, dict[str, Any]] = {404: FLOW_NOT_FOUND_404}
VALIDATE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: KEY_REQUIRED_400,
    503: {"model": ApiErrorOut, "description": "AI_PROVIDER_UNAVAILABLE: the check could not run"},
}
SAVE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ApiErrorOut, "description": "INVALID_API_KEY: not an sk-ant- key"}
}

CHAT_STREAM_DESCRIPTION = """\
Server-Sent Events, each `data:` a JSON object, in this order:

- `data: {"text": "..."}`: the answer's text deltas, in order;
- `event: flow_proposal` / `data: {"proposal": {"id", "summary", "mode", "valid", "document",
  "error"?}}`: a change to the flow the assistant proposes, checked by the flow evaluator
  (`valid: false` carries the evaluator's error naming the node); nothing is saved;
- `data: [DONE]` when the answer is complete (and stored under `flowId`);
- or, instead of `[DONE]`, `event: error` / `data: {"error": message, "code": CODE}` when the
  Anthropic API fails (refused key, overloaded, broken or stalled stream): the stream ends there.
"""
