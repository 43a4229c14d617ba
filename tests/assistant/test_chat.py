"""/api/chat against a local Messages API server: the documented stream, the flow context in the
system prompt, stored messages, tool-use proposals checked by the evaluator, and every upstream
failure ending the stream with an error event."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from ordex.config import Settings
from tests.assistant.fake_anthropic import (
    GOOD_KEY,
    FakeAnthropic,
    Reply,
    error_json,
    message_start,
    text_block,
    text_reply,
    tool_reply,
)
from tests.assistant.helpers import chat, create_flow, save_key, sse_events
from tests.flows.examples import EXAMPLE_FLOW
from tests.workspace.helpers import User, api_error

DOCUMENTED = ["I can help", " you with", " that strategy."]


async def _messages(client: httpx.AsyncClient, user: User, flow_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/chat/messages", params={"flowId": flow_id}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"messages"}
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def _stream(client: httpx.AsyncClient, user: User, content: str, **extra: Any) -> list[Any]:
    async with asyncio.timeout(20):  # never a hang
        response = await chat(client, user, content, **extra)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return sse_events(response.text)


async def test_documented_stream_is_stored(
    client: httpx.AsyncClient, alice: User, anthropic_api: FakeAnthropic
) -> None:
    await save_key(client, alice)
    flow = await create_flow(client, alice)
    anthropic_api.script(Reply(events=text_reply(DOCUMENTED)))

    response = await chat(client, alice, "How should I set up RSI?", flowId=flow["id"])
    assert response.status_code == 200
    # The contract's example, byte for byte apart from the event separators.
    lines = [line for line in response.text.splitlines() if line and not line.startswith(":")]
    assert lines == [
        'data: {"text":"I can help"}',
        'data: {"text":" you with"}',
        'data: {"text":" that strategy."}',
        "data: [DONE]",
    ]

    messages = await _messages(client, alice, flow["id"])
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "How should I set up RSI?"),
        ("assistant", "I can help you with that strategy."),
    ]
    for message in messages:
        assert set(message) == {"id", "role", "content", "created_at"}
        uuid.UUID(message["id"])
        assert message["created_at"].endswith("Z")

    # What went upstream: the key, the configured model, a stream, the flow and the tool.
    [sent] = anthropic_api.requests
    assert sent["headers"]["x-api-key"] == GOOD_KEY
    body = sent["body"]
    assert body["model"] == "claude-test-model" and body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "How should I set up RSI?"}]
    assert '"indicator.rsi"' in body["system"] and '"RSI"' in body["system"]
    assert "not been backtested" in body["system"]
    assert [t["name"] for t in body["tools"]] == ["propose_flow_change"]

    response = await client.delete(
        "/api/chat/messages", params={"flowId": flow["id"]}, headers=alice.headers
    )
    assert response.status_code == 200 and response.json() == {"success": True}
    assert await _messages(client, alice, flow["id"]) == []


async def test_conversation_grows_in_order(
    client: httpx.AsyncClient, alice: User, anthropic_api: FakeAnthropic
) -> None:
    await save_key(client, alice)
    flow = await create_flow(client, alice)
    anthropic_api.script(
        Reply(events=text_reply(["One", ", two"])), Reply(events=text_reply(["Three"]))
    )
    events = await _stream(client, alice, "first", flowId=flow["id"])
    assert events == [(None, {"text": "One"}), (None, {"text": ", two"}), (None, "[DONE]")]
    history = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "One, two", "id": "x", "created_at": "y"},
        {"role": "user", "content": "second"},
    ]
    response = await client.post(
        "/api/chat", json={"messages": history, "flowId": flow["id"]}, headers=alice.headers
    )
    assert sse_events(response.text) == [(None, {"text": "Three"}), (None, "[DONE]")]
    assert anthropic_api.requests[1]["body"]["messages"] == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "One, two"},
        {"role": "user", "content": "second"},
    ]
    stored = [(m["role"], m["content"]) for m in await _messages(client, alice, flow["id"])]
    assert stored == [
        ("user", "first"), ("assistant", "One, two"), ("user", "second"), ("assistant", "Three")
    ]  # fmt: skip


async def test_flow_context_and_latest_backtest_in_system_prompt(
    client: httpx.AsyncClient, alice: User, anthropic_api: FakeAnthropic, settings: Settings
) -> None:
    await save_key(client, alice)
    flow = await create_flow(client, alice)
    conn = await asyncpg.connect(settings.database_url)
    try:
        for pnl in (111.5, 1250.25):  # the later one is the latest
            await conn.execute(
                """
                INSERT INTO backtests (user_id, flow_id, exchange, symbol, timeframe, start_date,
                    end_date, status, flow_snapshot, metrics, equity_curve, bars)
                VALUES ($1, $2, 'binance', 'BTC/USDT', '1h', '2025-01-01', '2025-02-01',
                    'completed', '{}', $3::jsonb, '[]', 744)
                """,
                alice.id, uuid.UUID(flow["id"]), orjson.dumps({"pnl": pnl, "winRate": 0.62}).decode(),
            )  # fmt: skip
    finally:
        await conn.close()
    editor = EXAMPLE_FLOW()
    editor["nodes"][1]["params"]["period"] = 21  # unsaved in the editor
    anthropic_api.script(Reply(events=text_reply(["ok"])))
    await _stream(client, alice, "How did it do?", flowId=flow["id"], flowContext=editor)
    system = anthropic_api.requests[0]["body"]["system"]
    assert "1250.25" in system and "111.5" not in system and '"winRate": 0.62' in system
    assert '"period": 21' in system and '"period": 14' not in system

    # No flow at all: the chat still answers, and stores nothing.
    anthropic_api.script(Reply(events=text_reply(["Hi"])))
    events = await _stream(client, alice, "hello")
    assert events == [(None, {"text": "Hi"}), (None, "[DONE]")]
    assert "None yet" in anthropic_api.requests[1]["body"]["system"]


async def test_valid_proposal_is_emitted_and_not_saved(
    client: httpx.AsyncClient, alice: User, anthropic_api: FakeAnthropic
) -> None:
    await save_key(client, alice)
    flow = await create_flow(client, alice)
    patch = {"upsertNodes": [{"id": "sl", "type": "risk.stop_loss", "params": {"pct": 0.01}}]}
    anthropic_api.script(
        Reply(
            events=tool_reply(
                "Tightening the stop.", "toolu_01", {"summary": "1% stop", "patch": patch}
            )
        ),
        Reply(events=text_reply([" Apply it if you like."])),
    )
    events = await _stream(client, alice, "Make the stop 1%", flowId=flow["id"])
    assert [name for name, _ in events] == [None, "flow_proposal", None, None]
    assert events[0] == (None, {"text": "Tightening the stop."})
    proposal = events[1][1]["proposal"]
    assert proposal["valid"] is True and proposal["mode"] == "patch"
    assert proposal["id"] == "toolu_01" and proposal["summary"] == "1% stop"
    assert "error" not in proposal
    expected = EXAMPLE_FLOW()
    expected["nodes"][4]["params"]["pct"] = 0.01
    assert proposal["document"] == expected
    assert events[2:] == [(None, {"text": " Apply it if you like."}), (None, "[DONE]")]

    # The verdict went back to the model with its own tool call.
    second = anthropic_api.requests[1]["body"]["messages"]
    assert second[-2]["role"] == "assistant"
    assert second[-2]["content"][-1] == {
        "type": "tool_use", "id": "toolu_01", "name": "propose_flow_change",
        "input": {"summary": "1% stop", "patch": patch},
    }  # fmt: skip
    [result] = second[-1]["content"]
    assert result["type"] == "tool_result" and result["tool_use_id"] == "toolu_01"
    assert result["is_error"] is False

    # Nothing saved to the flow; the answer's text is stored.
    stored = (await client.get(f"/api/flows/{flow['id']}", headers=alice.headers)).json()
    assert stored["nodes"][4]["params"]["pct"] == 0.02
    messages = await _messages(client, alice, flow["id"])
    assert messages[-1]["content"] == "Tightening the stop. Apply it if you like."


async def test_invalid_proposal_names_the_node(
    client: httpx.AsyncClient, alice: User, anthropic_api: FakeAnthropic
) -> None:
    await save_key(client, alice)
    flow = await create_flow(client, alice)
    document = EXAMPLE_FLOW()
    document["nodes"][1]["params"]["period"] = 1
    anthropic_api.script(
        Reply(
            events=tool_reply("Faster RSI.", "toolu_02", {"summary": "RSI 1", "document": document})
        ),
        Reply(events=text_reply(["That period is not allowed."])),
    )
    events = await _stream(client, alice, "Use RSI 1", flowId=flow["id"])
    assert [name for name, _ in events] == [None, "flow_proposal", None, None]
    proposal = events[1][1]["proposal"]
    assert proposal["valid"] is False and proposal["mode"] == "document"
    assert proposal["error"]["code"] == "INVALID_FLOW"
    assert proposal["error"]["details"] == {
        "node": "rsi",
        "problem": "bad_param",
        "param": "period",
    }
    assert "rsi" in proposal["error"]["error"]
    [result] = anthropic_api.requests[1]["body"]["messages"][-1]["content"]
    assert result["is_error"] is True and "INVALID_FLOW" in result["content"]


async def test_patch_without_a_flow_is_refused(
    client: httpx.AsyncClient, alice: User, anthropic_api: FakeAnthropic
) -> None:
    await save_key(client, alice)
    anthropic_api.script(
        Reply(events=tool_reply("", "toolu_03", {"summary": "s", "patch": {"removeNodes": ["x"]}})),
        Reply(events=text_reply(["Sorry."])),
    )
    events = await _stream(client, alice, "change it")
    proposals = [data["proposal"] for name, data in events if name == "flow_proposal"]
    assert proposals[0]["valid"] is False
    assert proposals[0]["error"]["code"] == "INVALID_PROPOSAL"
    assert events[-1] == (None, "[DONE]")


async def test_no_key_is_a_400(
    client: httpx.AsyncClient, alice: User, anthropic_api: FakeAnthropic
) -> None:
    flow = await create_flow(client, alice)
    body = api_error(await chat(client, alice, "hi", flowId=flow["id"]), 400, "AI_KEY_REQUIRED")
    assert "POST /api/ai-keys" in body["error"]
    assert anthropic_api.requests == []
    assert await _messages(client, alice, flow["id"]) == []


async def test_bad_bodies(client: httpx.AsyncClient, alice: User) -> None:
    await save_key(client, alice)
    bodies: list[dict[str, Any]] = [
        {},
        {"messages": []},
        {"messages": [{"role": "system", "content": "x"}]},
        {"messages": [{"role": "user", "content": ""}]},
        {"messages": [{"role": "assistant", "content": "last is not the user's"}]},
    ]
    for body in bodies:
        api_error(await client.post("/api/chat", json=body, headers=alice.headers), 400)


async def test_another_users_flow_is_404(
    client: httpx.AsyncClient, alice: User, bob: User, anthropic_api: FakeAnthropic
) -> None:
    flow = await create_flow(client, alice)
    await save_key(client, bob)
    api_error(await chat(client, bob, "hi", flowId=flow["id"]), 404, "FLOW_NOT_FOUND")
    api_error(await chat(client, bob, "hi", flowId="not-a-uuid"), 404, "FLOW_NOT_FOUND")
    for method in ("GET", "DELETE"):
        for flow_id in (flow["id"], "nope", str(uuid.uuid4())):
            response = await client.request(
                method, "/api/chat/messages", params={"flowId": flow_id}, headers=bob.headers
            )
            api_error(response, 404, "FLOW_NOT_FOUND")
    assert anthropic_api.requests == []
    api_error(await client.get("/api/chat/messages", headers=alice.headers), 400)


def _error_event(events: list[Any]) -> dict[str, Any]:
    """The last event: an error that ends the stream, with no [DONE]."""
    name, data = events[-1]
    assert name == "error", events
    assert (None, "[DONE]") not in events
    assert isinstance(data["error"], str) and data["error"]
    error: dict[str, Any] = data
    return error


async def test_upstream_401_ends_with_an_error_event(
    client: httpx.AsyncClient, alice: User, anthropic_api: FakeAnthropic
) -> None:
    await save_key(client, alice, "sk-ant-api03-revoked")
    flow = await create_flow(client, alice)
    events = await _stream(client, alice, "hi", flowId=flow["id"])
    assert len(events) == 1
    error = _error_event(events)
    assert error["code"] == "AI_KEY_REJECTED" and error["details"] == {"status": 401}
    assert "invalid x-api-key" in error["error"]
    # The question is kept; no answer is stored.
    assert [m["role"] for m in await _messages(client, alice, flow["id"])] == ["user"]


@pytest.mark.parametrize(
    "reply",
    [
        Reply(status=529, error=error_json("overloaded_error", "Overloaded")),
        # The overload reported inside an accepted stream, as the API does.
        Reply(
            events=[
                message_start(),
                *text_block(0, ["par"])[:3],
                ("error", error_json("overloaded_error", "Overloaded")),
            ]
        ),
    ],
    ids=["http-529", "stream-error-event"],
)
async def test_overloaded_ends_with_an_error_event(
    client: httpx.AsyncClient, alice: User, anthropic_api: FakeAnthropic, reply: Reply
) -> None:
    await save_key(client, alice)
    anthropic_api.script(reply)
    events = await _stream(client, alice, "hi")
    error = _error_event(events)
    assert error["code"] == "AI_PROVIDER_OVERLOADED"
    assert error["error"] == "Overloaded"


async def test_broken_stream_ends_with_an_error_event(
    client: httpx.AsyncClient, alice: User, anthropic_api: FakeAnthropic
) -> None:
    await save_key(client, alice)
    flow = await create_flow(client, alice)
    events = [message_start(), *text_block(0, ["partial", " answer"])][:-1]
    anthropic_api.script(Reply(events=events, broken=True))
    received = await _stream(client, alice, "hi", flowId=flow["id"])
    assert received[:2] == [(None, {"text": "partial"}), (None, {"text": " answer"})]
    assert _error_event(received)["code"] == "AI_STREAM_BROKEN"
    assert [m["role"] for m in await _messages(client, alice, flow["id"])] == ["user"]


async def test_stream_without_message_stop_is_broken(
    client: httpx.AsyncClient, alice: User, anthropic_api: FakeAnthropic
) -> None:
    await save_key(client, alice)
    anthropic_api.script(Reply(events=text_reply(["cut"])[:-1]))
    received = await _stream(client, alice, "hi")
    assert received[0] == (None, {"text": "cut"})
    assert _error_event(received)["code"] == "AI_STREAM_BROKEN"


async def test_stalled_stream_times_out(
    client: httpx.AsyncClient,
    alice: User,
    anthropic_api: FakeAnthropic,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDEX_ANTHROPIC_TIMEOUT_SECONDS", "0.5")
    await save_key(client, alice)
    anthropic_api.script(Reply(events=[message_start(), *text_block(0, ["wait"])[:3]], stall=True))
    received = await _stream(client, alice, "hi")
    assert received[0] == (None, {"text": "wait"})
    assert _error_event(received)["code"] == "AI_PROVIDER_TIMEOUT"
