"""Secrets at rest: AES-256-GCM (cryptography's AESGCM), a random nonce per value, the owner's id as
associated data.

A sealed value is `VERSION || nonce(12) || ciphertext+tag(16)`. Binding the owner id means a blob
moved to another user's row fails to open instead of decrypting under the wrong owner.
"""

from __future__ import annotations

import os
import re
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ordex.config import Settings

VERSION = b"\x01"
NONCE_BYTES = 12
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")
_MIN_KEY_CHARS = 16
_HKDF_INFO = b"ordex secrets at rest v1"


class SecretKeyError(ValueError):
    """The configured key is unusable (empty or too short)."""


class DecryptionError(ValueError):
    """A sealed value does not open with this key and owner (wrong key, owner or tampered)."""


def derive_key(key_material: str) -> bytes:
    """64 hex digits (the generated key file) are the raw 256-bit key; any other string of at least
    16 characters is stretched to 256 bits with HKDF-SHA256."""
    material = key_material.strip()
    if _HEX_KEY.match(material):
        return bytes.fromhex(material)
    if len(material) < _MIN_KEY_CHARS:
        raise SecretKeyError(
            f"ORDEX_SECRET_KEY must be 64 hex digits or at least {_MIN_KEY_CHARS} characters"
        )
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return hkdf.derive(material.encode())


def _associated_data(owner_id: uuid.UUID) -> bytes:
    return str(owner_id).encode()


class SecretBox:
    """Seals and opens strings for one owner at a time with one key."""

    def __init__(self, key_material: str) -> None:
        self._aead = AESGCM(derive_key(key_material))

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        key = settings.with_secrets().ordex_secret_key
        assert key is not None  # with_secrets() loads or generates it
        return cls(key.get_secret_value())

    def seal(self, plaintext: str, owner_id: uuid.UUID) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), _associated_data(owner_id))
        return VERSION + nonce + sealed

    def open(self, blob: bytes, owner_id: uuid.UUID) -> str:
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != VERSION:
            raise DecryptionError("not a sealed value of a known version")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            plaintext = self._aead.decrypt(nonce, sealed, _associated_data(owner_id))
        except InvalidTag as exc:
            raise DecryptionError("sealed value does not open with this key and owner") from exc
        return plaintext.decode()

    def seal_optional(self, plaintext: str | None, owner_id: uuid.UUID) -> bytes | None:
        return None if plaintext is None else self.seal(plaintext, owner_id)

    def open_optional(self, blob: bytes | None, owner_id: uuid.UUID) -> str | None:
        return None if blob is None else self.open(blob, owner_id)
