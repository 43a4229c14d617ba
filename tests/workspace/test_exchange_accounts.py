"""Exchange accounts and exchange keys: one sealed table, two views, credentials never returned;
encryption at rest checked on the raw rows; key rotation through the CLI."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from ordex.cli import app as cli_app
from ordex.config import Settings, get_settings
from ordex.crypto import DecryptionError, SecretBox
from ordex.services import exchange_accounts
from tests.platform.helpers import ClientFactory
from tests.workspace.helpers import User, api_error, data, sign_up

ACCOUNT = {
    "exchange": "binance",
    "apiKey": "your-api-key",
    "secret": "your-secret",
    "password": "optional-passphrase",
    "label": "My Binance",
    "isEncrypted": True,
}
CREDENTIALS = ("your-api-key", "your-secret", "optional-passphrase")


def _assert_no_credentials(text: str) -> None:
    for value in CREDENTIALS:
        assert value not in text


async def _raw_rows(database_url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch("SELECT * FROM exchange_accounts ORDER BY created_at")
    finally:
        await conn.close()


async def test_account_examples(client: httpx.AsyncClient, alice: User) -> None:
    # POST /api/accounts  Body: { exchange, apiKey, secret, password, label, isEncrypted }
    response = await client.post("/api/accounts", json=ACCOUNT, headers=alice.headers)
    created = data(response, 201)
    _assert_no_credentials(response.text)
    assert (created["exchange"], created["label"], created["hasPassword"]) == (
        "binance", "My Binance", True,
    )  # fmt: skip
    # GET /api/accounts (API keys are NOT returned)
    listed = await client.get("/api/accounts", headers=alice.headers)
    _assert_no_credentials(listed.text)
    assert [a["id"] for a in data(listed)] == [created["id"]]
    assert not {"apiKey", "secret", "password"} & set(data(listed)[0])
    # PUT /api/accounts/:id  Body: { "label": "Binance Main", "apiKey": "new-key" }
    updated = await client.put(
        f"/api/accounts/{created['id']}",
        json={"label": "Binance Main", "apiKey": "new-key"},
        headers=alice.headers,
    )
    assert data(updated)["label"] == "Binance Main" and "new-key" not in updated.text
    # DELETE /api/accounts/:id
    assert (
        data(await client.delete(f"/api/accounts/{created['id']}", headers=alice.headers)) is None
    )
    assert data(await client.get("/api/accounts", headers=alice.headers)) == []


async def test_credentials_are_sealed_at_rest(
    client: httpx.AsyncClient, alice: User, database_url: str, settings: Settings
) -> None:
    created = data(await client.post("/api/accounts", json=ACCOUNT, headers=alice.headers), 201)
    [row] = await _raw_rows(database_url)
    sealed = [row["api_key_enc"], row["secret_enc"], row["passphrase_enc"]]
    for blob, plain in zip(sealed, CREDENTIALS, strict=True):
        assert plain.encode() not in blob and blob[:1] == b"\x01"
    assert len({blob[1:13] for blob in sealed}) == 3  # a fresh nonce per value
    # The app's key (generated into ORDEX_HOME) opens them for the owner, and only for the owner.
    box = SecretBox.from_settings(settings)
    assert box.open(row["secret_enc"], alice.id) == "your-secret"
    with pytest.raises(DecryptionError):
        box.open(row["secret_enc"], uuid.uuid4())
    with pytest.raises(DecryptionError):
        SecretBox("another-key-of-enough-length").open(row["secret_enc"], alice.id)
    # The service hands them to trading code.
    conn = await asyncpg.connect(database_url)
    try:
        opened = await exchange_accounts.credentials(conn, box, alice.id, uuid.UUID(created["id"]))
    finally:
        await conn.close()
    assert (opened.api_key, opened.secret, opened.passphrase) == CREDENTIALS
    assert "your" not in repr(opened)
    # Replacing a credential seals the new one; clearing the passphrase removes it.
    data(await client.put(f"/api/accounts/{created['id']}", json={"secret": "s2", "password": None},
                          headers=alice.headers))  # fmt: skip
    [row] = await _raw_rows(database_url)
    assert box.open(row["secret_enc"], alice.id) == "s2" and row["passphrase_enc"] is None
    assert box.open(row["api_key_enc"], alice.id) == "your-api-key"


async def test_key_from_ordex_secret_key(client_factory: ClientFactory, database_url: str) -> None:
    key = "an explicit ORDEX_SECRET_KEY value"
    async with client_factory(registration_mode="open", ordex_secret_key=SecretStr(key)) as c:
        user = await sign_up(c, "keyed@example.com")
        data(await c.post("/api/accounts", json=ACCOUNT, headers=user.headers), 201)
    [row] = await _raw_rows(database_url)
    assert SecretBox(key).open(row["api_key_enc"], user.id) == "your-api-key"


async def test_account_validation(client: httpx.AsyncClient, alice: User) -> None:
    h = alice.headers
    for body, field in [
        ({**ACCOUNT, "apiKey": ""}, "apiKey"),
        ({k: v for k, v in ACCOUNT.items() if k != "secret"}, "secret"),
        ({**ACCOUNT, "exchange": "bin ance"}, "exchange"),
        ({**ACCOUNT, "apiSecret": "x"}, "apiSecret"),
    ]:
        response = await client.post("/api/accounts", json=body, headers=h)
        body_out = api_error(response, 400, "VALIDATION_ERROR")
        assert body_out["field"] == field
        _assert_no_credentials(response.text)
    created = data(await client.post("/api/accounts", json=ACCOUNT, headers=h), 201)
    api_error(
        await client.put(f"/api/accounts/{created['id']}", json={"apiKey": None}, headers=h), 400
    )
    api_error(await client.put("/api/accounts/nope", json={"label": "x"}, headers=h), 404)


async def test_exchange_key_examples(client: httpx.AsyncClient, alice: User) -> None:
    # POST /api/exchange-keys  { exchange, label, apiKey, secret, passphrase? }
    body = {"exchange": "binance", "label": "Main Account", "apiKey": "k-123", "secret": "s-456"}
    response = await client.post("/api/exchange-keys", json=body, headers=alice.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "exchange", "label", "createdAt"}
    assert (created["exchange"], created["label"]) == ("binance", "Main Account")
    # GET /api/exchange-keys: { keys: [{ id, exchange, label, createdAt, isValid }] }, no secrets
    listed = await client.get("/api/exchange-keys", headers=alice.headers)
    assert listed.status_code == 200 and "k-123" not in listed.text and "s-456" not in listed.text
    [key] = listed.json()["keys"]
    assert set(key) == {"id", "exchange", "label", "createdAt", "isValid"}
    assert key["id"] == created["id"]
    # The same row is an account under /api/accounts.
    accounts = data(await client.get("/api/accounts", headers=alice.headers))
    assert [a["id"] for a in accounts] == [created["id"]]
    # DELETE /api/exchange-keys  { id } -> { deleted: true }
    deleted = await client.request(
        "DELETE", "/api/exchange-keys", json={"id": created["id"]}, headers=alice.headers
    )
    assert deleted.status_code == 200 and deleted.json() == {"deleted": True}
    assert (await client.get("/api/exchange-keys", headers=alice.headers)).json() == {"keys": []}
    again = await client.request(
        "DELETE", "/api/exchange-keys", json={"id": created["id"]}, headers=alice.headers
    )
    api_error(again, 404, "KEY_NOT_FOUND")


async def test_exchange_key_validation(client: httpx.AsyncClient, alice: User) -> None:
    base = {"apiKey": "k", "secret": "s"}
    for exchange in ("binance", "okx", "bybit", "mexc", "coinbase", "kraken"):
        extra = {"passphrase": "p"} if exchange == "okx" else {}
        response = await client.post(
            "/api/exchange-keys",
            json={**base, "exchange": exchange, **extra},
            headers=alice.headers,
        )
        assert response.status_code == 201, response.text
    for body in (
        {**base, "exchange": "okx"},  # OKX needs a passphrase
        {**base, "exchange": "gemini"},
        {"exchange": "binance", "apiKey": "k"},
    ):
        api_error(await client.post("/api/exchange-keys", json=body, headers=alice.headers), 400)
    missing_id = await client.request(
        "DELETE", "/api/exchange-keys", json={}, headers=alice.headers
    )
    assert api_error(missing_id, 400)["field"] == "id"


def test_rotate_key_command_reencrypts_every_row(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> None:
    import asyncio

    home = tmp_path / "home"
    old_key = "11" * 32
    (home).mkdir()
    (home / "secret_key").write_text(old_key + "\n")
    owners = [uuid.uuid4(), uuid.uuid4()]
    old = SecretBox(old_key)

    async def seed() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            for n, owner in enumerate(owners):
                await conn.execute(
                    "INSERT INTO users (id, email, password_hash, role, status) "
                    "VALUES ($1, $2, 'x', 'OPERATOR', 'ACTIVE')",
                    owner, f"u{n}@example.com",
                )  # fmt: skip
                await conn.execute(
                    "INSERT INTO exchange_accounts (user_id, exchange, api_key_enc, secret_enc, "
                    "passphrase_enc) VALUES ($1, 'okx', $2, $3, $4)",
                    owner, old.seal(f"key{n}", owner), old.seal(f"secret{n}", owner),
                    old.seal(f"pass{n}", owner) if n == 0 else None,
                )  # fmt: skip
            await conn.execute(
                "INSERT INTO ai_keys (user_id, key_enc, hint) VALUES ($1, $2, 'sk-ant-****')",
                owners[0], old.seal("sk-ant-test", owners[0]),
            )  # fmt: skip
        finally:
            await conn.close()

    async def ai_key() -> bytes:
        conn = await asyncpg.connect(database_url)
        try:
            blob: bytes = await conn.fetchval(
                "SELECT key_enc FROM ai_keys WHERE user_id = $1", owners[0]
            )
            return blob
        finally:
            await conn.close()

    asyncio.run(seed())
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ORDEX_HOME", str(home))
    monkeypatch.delenv("ORDEX_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["secrets", "rotate-key"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    new_key = (home / "secret_key").read_text().strip()
    assert new_key != old_key and not (home / "secret_key.next").exists()
    assert (home / "secret_key").stat().st_mode & 0o777 == 0o600
    new = SecretBox(new_key)
    rows = asyncio.run(_raw_rows(database_url))
    by_owner = {r["user_id"]: r for r in rows}
    for n, owner in enumerate(owners):
        row = by_owner[owner]
        assert new.open(row["api_key_enc"], owner) == f"key{n}"
        assert new.open(row["secret_enc"], owner) == f"secret{n}"
        with pytest.raises(DecryptionError):
            old.open(row["secret_enc"], owner)
    assert new.open(by_owner[owners[0]]["passphrase_enc"], owners[0]) == "pass0"
    assert by_owner[owners[1]]["passphrase_enc"] is None
    assert new.open(asyncio.run(ai_key()), owners[0]) == "sk-ant-test"

    # A key that opens nothing changes nothing.
    get_settings.cache_clear()
    try:
        failed = CliRunner().invoke(
            cli_app, ["secrets", "rotate-key", "--old-key", "wrong-key-but-long-enough"]
        )
    finally:
        get_settings.cache_clear()
    assert failed.exit_code == 1
    assert (home / "secret_key").read_text().strip() == new_key
    assert [r["secret_enc"] for r in asyncio.run(_raw_rows(database_url))] == [
        r["secret_enc"] for r in rows
    ]
