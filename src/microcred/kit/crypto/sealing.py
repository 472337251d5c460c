"""Envelope encryption of secrets at rest (issuer private keys) under the key-encryption key.

A KMS can replace `Sealer` behind the same two methods.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12


class Sealer:
    def __init__(self, key_encryption_key_b64: str) -> None:
        self._aead = AESGCM(base64.urlsafe_b64decode(key_encryption_key_b64.encode()))

    def seal(self, secret: bytes, *, context: bytes) -> bytes:
        """Encrypt `secret`, bound to `context` (e.g. the key id) so blobs cannot be swapped."""
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, secret, context)

    def unseal(self, sealed: bytes, *, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], context)
        except InvalidTag as exc:
            raise ValueError("sealed secret does not open with this key-encryption key") from exc
