"""/api/ai-keys: the hint, the prefix rule, sealed at rest, removal, validation against the local
Messages API's models endpoint."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from ordex.config import Settings
from ordex.crypto import DecryptionError, SecretBox
from ordex.services import ai_keys
from tests.assistant.fake_anthropic import GOOD_KEY, FakeAnthropic
from tests.assistant.helpers import save_key
from tests.workspace.helpers import User, api_error


async def test_documented_examples(client: httpx.AsyncClient, alice: User) -> None:
    response = await client.get("/api/ai-keys", headers=alice.headers)
    assert response.status_code == 200
    assert response.json() == {"hasKey": False, "hint": None}

    response = await client.post("/api/ai-keys", json={"apiKey": GOOD_KEY}, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "hint": "sk-ant-****"}

    response = await client.get("/api/ai-keys", headers=alice.headers)
    assert response.json() == {"hasKey": True, "hint": "sk-ant-****"}

    response = await client.delete("/api/ai-keys", headers=alice.headers)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    response = await client.get("/api/ai-keys", headers=alice.headers)
    assert response.json() == {"hasKey": False, "hint": None}


async def test_key_must_start_with_sk_ant(client: httpx.AsyncClient, alice: User) -> None:
    for bad in ("sk-proj-123", "", "sk-ant-", "  "):
        response = await client.post("/api/ai-keys", json={"apiKey": bad}, headers=alice.headers)
        body = api_error(response, 400)
        assert body["field"] == "apiKey"
    api_error(await client.post("/api/ai-keys", json={}, headers=alice.headers), 400)
    response = await client.get("/api/ai-keys", headers=alice.headers)
    assert response.json()["hasKey"] is False


async def test_sealed_at_rest_for_its_owner_only(
    client: httpx.AsyncClient, alice: User, bob: User, settings: Settings
) -> None:
    await save_key(client, alice)
    assert (await client.get("/api/ai-keys", headers=bob.headers)).json()["hasKey"] is False
    conn = await asyncpg.connect(settings.database_url)
    try:
        blob = await conn.fetchval("SELECT key_enc FROM ai_keys WHERE user_id = $1", alice.id)
        dump = await conn.fetchval("SELECT row_to_json(ai_keys)::text FROM ai_keys")
    finally:
        await conn.close()
    assert GOOD_KEY.encode() not in blob and GOOD_KEY not in dump
    box = SecretBox.from_settings(settings)
    assert box.open(blob, alice.id) == GOOD_KEY
    try:
        box.open(blob, bob.id)
    except DecryptionError:
        pass
    else:  # pragma: no cover
        raise AssertionError("another owner opened the key")
    # Removing bob's (absent) key leaves alice's alone.
    assert (await client.delete("/api/ai-keys", headers=bob.headers)).json() == {"success": True}
    assert (await client.get("/api/ai-keys", headers=alice.headers)).json()["hasKey"] is True


async def test_needs_a_credential(client: httpx.AsyncClient) -> None:
    api_error(await client.get("/api/ai-keys"), 401)
    api_error(await client.post("/api/ai-keys", json={"apiKey": GOOD_KEY}), 401)
    api_error(await client.post("/api/chat", json={"messages": []}), 401)


async def test_validate_valid_and_invalid(
    client: httpx.AsyncClient, alice: User, anthropic_api: FakeAnthropic
) -> None:
    response = await client.post("/api/ai-keys/validate", headers=alice.headers)
    api_error(response, 400, "AI_KEY_REQUIRED")

    await save_key(client, alice)
    response = await client.post("/api/ai-keys/validate", headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"valid": True}  # the documented example
    assert anthropic_api.model_checks == [GOOD_KEY]

    await save_key(client, alice, "sk-ant-api03-revoked")
    response = await client.post("/api/ai-keys/validate", headers=alice.headers)
    assert response.status_code == 200
    assert response.json() == {"valid": False, "error": "invalid x-api-key"}

    # A key given in the body is checked without being saved.
    response = await client.post(
        "/api/ai-keys/validate", json={"apiKey": GOOD_KEY}, headers=alice.headers
    )
    assert response.json()["valid"] is True
    status = (await client.get("/api/ai-keys", headers=alice.headers)).json()
    assert status == {"hasKey": True, "hint": "sk-ant-****"}
    assert anthropic_api.model_checks[-1] == GOOD_KEY


async def test_validate_provider_down_is_503(
    client: httpx.AsyncClient, alice: User, anthropic_api: FakeAnthropic
) -> None:
    await save_key(client, alice)
    anthropic_api.models_status = 529
    response = await client.post("/api/ai-keys/validate", headers=alice.headers)
    api_error(response, 503, "AI_PROVIDER_UNAVAILABLE")


async def test_rotate_key_reseals_ai_keys(
    client: httpx.AsyncClient, alice: User, settings: Settings
) -> None:
    await save_key(client, alice)
    old, new = SecretBox.from_settings(settings), SecretBox("ab" * 32)
    conn = await asyncpg.connect(settings.database_url)
    try:
        assert await ai_keys.rotate_key(conn, old, new) == 1
        blob = await conn.fetchval("SELECT key_enc FROM ai_keys WHERE user_id = $1", alice.id)
        with pytest.raises(DecryptionError):  # a second rotation from the old key changes nothing
            await ai_keys.rotate_key(conn, old, new)
        assert await conn.fetchval("SELECT key_enc FROM ai_keys") == blob
    finally:
        await conn.close()
    assert new.open(blob, alice.id) == GOOD_KEY


async def test_documented_in_openapi(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths["/api/ai-keys"]) == {"get", "post", "delete"}
    assert set(paths["/api/ai-keys/validate"]) == {"post"}
    assert set(paths["/api/chat/messages"]) == {"get", "delete"}
    chat = paths["/api/chat"]["post"]
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    assert {"400", "401", "404"} <= set(chat["responses"])
    assert chat["security"]
