"""`/api/devbe`: the catalogue, the scripts and their parameter checks."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_defunct

from tests.devbe.conftest import Reader
from tests.workspace.helpers import api_error

KEY = "0x" + "11" * 32
SIGNER = Account.from_key(KEY).address
OTHER = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"


def _sign(message: str) -> str:
    return "0x" + Account.sign_message(encode_defunct(text=message), KEY).signature.hex()


async def test_catalogue_lists_every_entry_with_its_parameters(reader: Reader) -> None:
    r = await reader.http.get("/api/devbe")
    assert r.status_code == 200, r.text
    body = r.json()
    queries = {e["name"]: e for e in body["queries"]}
    scripts = {e["name"]: e for e in body["scripts"]}
    assert {"walletSummary", "tokenBalances", "recentTransfers"} <= set(queries)
    assert {"verifySignature", "checksumAddress", "decodeTransaction"} <= set(scripts)
    verify = scripts["verifySignature"]
    assert verify["path"] == "/api/devbe/run/verifySignature"
    params = {p["name"]: p for p in verify["parameters"]}
    assert params["message"]["required"] is True and params["message"]["type"] == "string"
    assert params["address"]["required"] is False and params["address"]["description"]
    limit = {p["name"]: p for p in queries["recentTransfers"]["parameters"]}["limit"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 100, 20)
    assert queries["walletSummary"]["one_of"] == ["address", "walletId"]


async def test_openapi_documents_each_entry_and_its_parameters(reader: Reader) -> None:
    spec = (await reader.http.get("/openapi.json")).json()
    op = spec["paths"]["/api/devbe/run/verifySignature"]["get"]
    names = {p["name"]: p for p in op["parameters"]}
    assert set(names) == {"message", "signature", "address"}
    assert names["signature"]["required"] is True
    data = spec["paths"]["/api/devbe/data/tokenBalances"]["get"]
    assert [p["name"] for p in data["parameters"]] == ["address"]
    assert "/api/devbe/data/{queryType}" in spec["paths"]
    assert "/api/devbe/run/{script}" in spec["paths"]


async def test_verify_signature_recovers_the_signer(reader: Reader) -> None:
    signature = _sign("hello")
    r = await reader.http.get(
        "/api/devbe/run/verifySignature",
        params={"address": SIGNER.lower(), "message": "hello", "signature": signature},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"valid": True, "recovered": SIGNER, "address": SIGNER}

    other = await reader.http.get(
        "/api/devbe/run/verifySignature",
        params={"address": OTHER, "message": "hello", "signature": signature},
    )
    assert other.json()["valid"] is False and other.json()["recovered"] == SIGNER

    tampered = await reader.http.get(
        "/api/devbe/run/verifySignature",
        params={"address": SIGNER, "message": "hello!", "signature": signature},
    )
    assert tampered.json()["valid"] is False

    bare = await reader.http.get(
        "/api/devbe/run/verifySignature", params={"message": "hello", "signature": signature}
    )
    assert bare.json() == {"valid": True, "recovered": SIGNER, "address": None}

    # Well-formed but no key signs with v = 0x00 and r = s = 0: nothing to recover.
    zero = await reader.http.get(
        "/api/devbe/run/verifySignature",
        params={"address": SIGNER, "message": "hello", "signature": "0x" + "00" * 65},
    )
    assert zero.status_code == 200 and zero.json()["valid"] is False


async def test_verify_signature_rejects_bad_parameters(reader: Reader) -> None:
    url = "/api/devbe/run/verifySignature"
    good = {"address": SIGNER, "message": "hello", "signature": _sign("hello")}
    for bad, field in (
        ({**good, "signature": "0xsig..."}, "signature"),
        ({**good, "signature": "0x" + "ab" * 64}, "signature"),
        ({**good, "address": "0xd8dA..."}, "address"),
        ({**good, "address": OTHER.replace("d8dA", "D8dA")}, "address"),  # broken checksum
        ({"address": SIGNER, "message": "hello"}, "signature"),
        ({**good, "code": "import os"}, "code"),
        ({**good, "message": "x" * 10_001}, "message"),
    ):
        body = api_error(await reader.http.get(url, params=bad), 400)
        assert body["field"] == field, body
    repeated = await reader.http.get(url + "?message=a&message=b&signature=" + good["signature"])
    assert api_error(repeated, 400)["field"] == "message"


async def test_checksum_address(reader: Reader) -> None:
    r = await reader.http.get("/api/devbe/run/checksumAddress", params={"address": OTHER.lower()})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "input": OTHER.lower(),
        "checksummed": OTHER,
        "input_has_checksum": False,
        "input_checksum_valid": None,
    }
    wrong = OTHER.replace("d8dA", "D8dA")
    body = (
        await reader.http.get("/api/devbe/run/checksumAddress", params={"address": wrong})
    ).json()
    assert body["checksummed"] == OTHER and body["input_checksum_valid"] is False
    right = (
        await reader.http.get("/api/devbe/run/checksumAddress", params={"address": OTHER})
    ).json()
    assert right["input_checksum_valid"] is True
    api_error(
        await reader.http.get("/api/devbe/run/checksumAddress", params={"address": "0x12"}), 400
    )
    api_error(await reader.http.get("/api/devbe/run/checksumAddress"), 400)


async def test_decode_transaction_legacy_and_eip1559(reader: Reader) -> None:
    account = Account.from_key(KEY)
    dynamic = account.sign_transaction(
        {
            "type": 2,
            "chainId": 1337,
            "nonce": 3,
            "to": OTHER,
            "value": 10**18,
            "gas": 21_000,
            "maxFeePerGas": 2 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "data": b"\x12\x34",
        }
    )
    r = await reader.http.get(
        "/api/devbe/run/decodeTransaction", params={"raw": "0x" + dynamic.raw_transaction.hex()}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["from"] == SIGNER
    assert body["hash"] == "0x" + dynamic.hash.hex()
    assert (body["type"], body["chain_id"], body["nonce"], body["gas"]) == (2, 1337, 3, 21_000)
    assert (body["to"], body["value"], body["data"]) == (OTHER, str(10**18), "0x1234")
    assert body["max_fee_per_gas"] == str(2 * 10**9)
    assert body["max_priority_fee_per_gas"] == str(10**9)

    legacy = account.sign_transaction(
        {"chainId": 1337, "nonce": 0, "to": OTHER, "value": 5, "gas": 21_000, "gasPrice": 10**9}
    )
    body = (
        await reader.http.get(
            "/api/devbe/run/decodeTransaction", params={"raw": "0x" + legacy.raw_transaction.hex()}
        )
    ).json()
    assert body["from"] == SIGNER and body["type"] == 0 and body["chain_id"] == 1337
    assert (body["gas_price"], body["value"], body["to"]) == (str(10**9), "5", OTHER)
    assert body["hash"] == "0x" + legacy.hash.hex()

    for raw in ("0x1234", "0xzz", "0x02" + "ff" * 10, "0x"):
        api_error(
            await reader.http.get("/api/devbe/run/decodeTransaction", params={"raw": raw}), 400
        )


async def test_unknown_names_are_404_and_credentials_are_required(reader: Reader) -> None:
    body = api_error(await reader.http.get("/api/devbe/run/eval", params={"code": "1"}), 404)
    assert "eval" in body["error"]
    api_error(await reader.http.get("/api/devbe/data/dropTables"), 404)
    anonymous = await reader.http.get(
        "/api/devbe/run/checksumAddress",
        params={"address": OTHER},
        headers={"Authorization": ""},
    )
    assert anonymous.status_code == 401
