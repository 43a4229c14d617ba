"""The assistant in the browser against the local Anthropic-speaking server: no key (the page
says so), a key saved and shown back as its hint only, an answer streamed as Server-Sent Events,
a proposed flow change applied to the flow, the conversation kept, and the key removed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.assistant.fake_anthropic import (
    GOOD_KEY,
    FakeAnthropic,
    Reply,
    serve,
    text_reply,
    tool_reply,
)
from tests.flows.examples import EXAMPLE_FLOW
from tests.web.conftest import WebServer, new_page, sign_up


@pytest.fixture
async def anthropic_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeAnthropic]:
    async with serve() as fake:
        # Read by the app on its first assistant request.
        monkeypatch.setenv("ORDEX_ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ORDEX_ANTHROPIC_MODEL", "claude-test-model")
        monkeypatch.setenv("ORDEX_ANTHROPIC_MAX_RETRIES", "0")
        monkeypatch.setenv("ORDEX_ANTHROPIC_TIMEOUT_SECONDS", "5")
        yield fake


async def test_chat_streams_proposes_applies_and_keeps_the_key_hidden(
    web: WebServer, browser: Any, shots: Path, anthropic_api: FakeAnthropic
) -> None:
    page = await new_page(browser, web)
    await sign_up(page, "assistant@example.com")
    await expect(page.locator("#notifications-button")).to_be_visible()  # signed in
    created = await page.request.post("/api/flows", data={"name": "RSI", **EXAMPLE_FLOW()})
    assert created.status == 201, await created.text()
    flow = await created.json()

    await page.goto(f"/app#/assistant/{flow['id']}")
    section = page.locator("section.page[data-page='assistant']")
    await expect(section.locator("#ai-key-status")).to_have_text(
        "No key saved: the assistant needs one."
    )
    question = section.get_by_label("Ask the assistant")
    await question.fill("Hello?")
    await section.get_by_role("button", name="Send").click()
    await expect(section.get_by_role("alert")).to_contain_text("save your Anthropic key")

    await section.get_by_label("Anthropic API key").fill(GOOD_KEY)
    await section.get_by_role("button", name="Save key").click()
    await expect(section.locator("#ai-key-status")).to_have_attribute("data-has-key", "true")
    assert GOOD_KEY not in await page.content()
    await expect(section.get_by_label("Anthropic API key")).to_have_value("")

    # A streamed answer with a proposal: the period of the RSI node changes.
    proposed = EXAMPLE_FLOW()
    rsi = next(n for n in proposed["nodes"] if n["type"] == "indicator.rsi")
    rsi["params"]["period"] = 7
    anthropic_api.script(
        Reply(
            events=tool_reply(
                "Shorter RSI. ", "toolu_1", {"summary": "RSI 7", "document": proposed}
            )
        ),
        Reply(events=text_reply(["Apply it ", "when ready."])),
    )
    await question.fill("Make the RSI faster")
    await section.get_by_role("button", name="Send").click()
    answer = section.locator(".chat-message.assistant").last
    await expect(answer).to_have_text("Shorter RSI. Apply it when ready.")
    await expect(answer).to_have_attribute("data-done", "true")
    card = section.locator(".proposal")
    await expect(card).to_contain_text("Proposed change: RSI 7")
    await card.get_by_role("button", name="Apply to flow").click()
    await expect(card.get_by_role("status")).to_have_text("Applied to the flow")
    saved = await (await page.request.get(f"/api/flows/{flow['id']}")).json()
    saved_rsi = next(n for n in saved["nodes"] if n["id"] == rsi["id"])
    assert saved_rsi["params"]["period"] == 7 and saved["name"] == "RSI"
    sent = anthropic_api.requests[0]["body"]["messages"]
    assert sent[-1] == {"role": "user", "content": "Make the RSI faster"}
    await page.screenshot(path=shots / "assistant.png")

    # The conversation is kept with the flow; the key is removed.
    await page.reload()
    section = page.locator("section.page[data-page='assistant']")
    await expect(section.locator(".chat-message")).to_have_count(2)
    await section.get_by_role("button", name="Remove key").click()
    await expect(section.locator("#ai-key-status")).to_have_attribute("data-has-key", "false")
    assert (await (await page.request.get("/api/ai-keys")).json())["hasKey"] is False
    assert page.errors == []
