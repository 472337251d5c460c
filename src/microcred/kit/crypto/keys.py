"""Ed25519 keys and their Multikey text form (W3C Controlled Identifiers, `Multikey`).

A public Multikey is `z` + base58btc(0xed 0x01 + 32 key bytes), so it always starts `z6Mk`.
A secret Multikey is `z` + base58btc(0x80 0x26 + 32-byte seed). Some libraries (Digital
Bazaar's `ed25519-multikey`) append the 32 public bytes to the seed; we read both forms and
write the standard one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from microcred.kit.crypto.multibase import base58btc_decode, base58btc_encode

__all__ = [
    "ED25519_PRIVATE_PREFIX",
    "ED25519_PUBLIC_PREFIX",
    "Ed25519KeyPair",
    "Ed25519PublicKey",
    "key_pair_from_multikey",
    "public_key_from_multikey",
]

# Multicodec varints: ed25519-pub (0xed) and ed25519-priv (0x1300).
ED25519_PUBLIC_PREFIX = b"\xed\x01"
ED25519_PRIVATE_PREFIX = b"\x80\x26"
_KEY_LENGTH = 32
_SIGNATURE_LENGTH = 64
_RAW = serialization.Encoding.Raw


@dataclass(frozen=True)
class Ed25519PublicKey:
    """An Ed25519 public key: 32 raw bytes, comparable and hashable."""

    raw: bytes
    _key: ed25519.Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.raw) != _KEY_LENGTH:
            raise ValueError(f"an Ed25519 public key has 32 bytes, not {len(self.raw)}")
        # Parsed once: building the OpenSSL object per verification would cost more than
        # the verification of a short message.
        object.__setattr__(self, "_key", ed25519.Ed25519PublicKey.from_public_bytes(self.raw))

    @property
    def multikey(self) -> str:
        """`publicKeyMultibase` text (`z6Mk…`)."""
        return "z" + base58btc_encode(ED25519_PUBLIC_PREFIX + self.raw)

    @classmethod
    def from_multikey(cls, multikey: str) -> Ed25519PublicKey:
        return public_key_from_multikey(multikey)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True when `signature` is a valid Ed25519 signature of `data` under this key."""
        if len(signature) != _SIGNATURE_LENGTH:
            return False
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Ed25519KeyPair:
    """An Ed25519 signing key with its public half. The repr never shows the seed."""

    _private: ed25519.Ed25519PrivateKey = field(repr=False, compare=False)
    public_key: Ed25519PublicKey

    @classmethod
    def generate(cls) -> Ed25519KeyPair:
        return cls._from_private(ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519KeyPair:
        """The key pair of a 32-byte private seed (RFC 8032 secret key)."""
        if len(seed) != _KEY_LENGTH:
            raise ValueError(f"an Ed25519 seed has 32 bytes, not {len(seed)}")
        return cls._from_private(ed25519.Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_multikey(cls, secret_multikey: str) -> Ed25519KeyPair:
        return key_pair_from_multikey(secret_multikey)

    @classmethod
    def _from_private(cls, private: ed25519.Ed25519PrivateKey) -> Ed25519KeyPair:
        public_raw = private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
        return cls(private, Ed25519PublicKey(public_raw))

    @property
    def seed(self) -> bytes:
        """The 32-byte private seed: store it sealed, never in clear."""
        return self._private.private_bytes(
            _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    @property
    def public_multikey(self) -> str:
        return self.public_key.multikey

    def private_multikey(self) -> str:
        """`secretKeyMultibase` text of the seed (a method, so it is never printed by accident)."""
        return "z" + base58btc_encode(ED25519_PRIVATE_PREFIX + self.seed)

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `data`."""
        return self._private.sign(data)

    def verify(self, signature: bytes, data: bytes) -> bool:
        return self.public_key.verify(signature, data)


def _multikey_bytes(multikey: str, prefix: bytes, what: str) -> bytes:
    if not isinstance(multikey, str) or not multikey.startswith("z"):
        raise ValueError(f"{what} must be base58btc multibase text starting with 'z'")
    try:
        decoded = base58btc_decode(multikey[1:])
    except ValueError as exc:
        raise ValueError(f"{what} is not valid base58btc: {exc}") from exc
    if not decoded.startswith(prefix):
        raise ValueError(
            f"{what} has multicodec prefix {decoded[:2].hex()}, expected {prefix.hex()} (Ed25519)"
        )
    return decoded[len(prefix) :]


def public_key_from_multikey(multikey: str) -> Ed25519PublicKey:
    """Parse `publicKeyMultibase`; `ValueError` says whether the base, codec or length is wrong."""
    raw = _multikey_bytes(multikey, ED25519_PUBLIC_PREFIX, "public Multikey")
    if len(raw) != _KEY_LENGTH:
        raise ValueError(f"public Multikey holds {len(raw)} key bytes, expected 32")
    return Ed25519PublicKey(raw)


def key_pair_from_multikey(secret_multikey: str) -> Ed25519KeyPair:
    """Parse `secretKeyMultibase`: a 32-byte seed, or seed + public key (64 bytes)."""
    raw = _multikey_bytes(secret_multikey, ED25519_PRIVATE_PREFIX, "secret Multikey")
    if len(raw) not in (_KEY_LENGTH, 2 * _KEY_LENGTH):
        raise ValueError(f"secret Multikey holds {len(raw)} bytes, expected 32 (or 64)")
    pair = Ed25519KeyPair.from_seed(raw[:_KEY_LENGTH])
    if len(raw) == 2 * _KEY_LENGTH and raw[_KEY_LENGTH:] != pair.public_key.raw:
        raise ValueError("secret Multikey carries a public key that does not match its seed")
    return pair
