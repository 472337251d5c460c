"""Multibase text encodings used by Data Integrity and status lists.

Only the two bases the standards we implement need: base58btc (prefix `z`: `proofValue`,
`publicKeyMultibase`) and base64url without padding (prefix `u`: `encodedList` of a
Bitstring Status List). base58btc is our own implementation because no runtime dependency
offers it; it works two digits at a time so a 64-byte signature takes a few microseconds.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

__all__ = [
    "Multibase",
    "base58btc_decode",
    "base58btc_encode",
    "base64url_decode",
    "base64url_encode",
    "multibase_decode",
    "multibase_encode",
]

Multibase = Literal["base58btc", "base64url"]

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# Every two-character string in digit order: one divmod by 58**2 yields two characters.
_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)
_PAIR_BASE = 58 * 58
_CHUNK_BASE = 58**5
_INVALID = 255
# ASCII code -> digit value (255 = not in the alphabet), for bytes.translate.
_DIGITS = bytes(_ALPHABET.index(chr(i)) if chr(i) in _ALPHABET else _INVALID for i in range(256))

_PREFIX: dict[Multibase, str] = {"base58btc": "z", "base64url": "u"}


def base58btc_encode(data: bytes) -> str:
    """Bitcoin-alphabet base58 of `data`; each leading zero byte becomes a leading `1`."""
    number = int.from_bytes(data, "big")
    pairs: list[str] = []
    while number:
        number, remainder = divmod(number, _PAIR_BASE)
        pairs.append(_PAIRS[remainder])
    # The top pair may carry a leading zero digit ("1"); the zero-byte prefix is added apart.
    digits = "".join(reversed(pairs)).lstrip("1")
    leading_zero_bytes = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zero_bytes + digits


def base58btc_decode(text: str) -> bytes:
    """Inverse of `base58btc_encode`; `ValueError` on characters outside the alphabet."""
    if not text.isascii():
        raise ValueError("base58btc text contains non-ASCII characters")
    digits = text.encode("ascii").translate(_DIGITS)
    if _INVALID in digits:
        bad = next(c for c, d in zip(text, digits, strict=True) if d == _INVALID)
        raise ValueError(f"{bad!r} is not a base58btc character")
    length = len(digits)
    head = length % 5
    number = 0
    for i in range(head):
        number = number * 58 + digits[i]
    # Five digits at a time keeps the big-integer multiplications few.
    for i in range(head, length, 5):
        number = number * _CHUNK_BASE + (
            (((digits[i] * 58 + digits[i + 1]) * 58 + digits[i + 2]) * 58 + digits[i + 3]) * 58
            + digits[i + 4]
        )
    leading_ones = length - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * leading_ones + body


def base64url_encode(data: bytes) -> str:
    """RFC 4648 base64url without `=` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def base64url_decode(text: str) -> bytes:
    """Strict inverse of `base64url_encode`: no padding, no characters outside the alphabet."""
    if "=" in text:
        raise ValueError("base64url text must not be padded")
    if len(text) % 4 == 1:
        raise ValueError("base64url text has an impossible length")
    standard = text.translate(str.maketrans("-_", "+/"))
    if "+" in text or "/" in text:
        raise ValueError("base64url text contains '+' or '/' (standard base64, not base64url)")
    try:
        return base64.b64decode(standard + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not valid base64url: {exc}") from exc


def multibase_encode(data: bytes, base: Multibase = "base58btc") -> str:
    """Multibase text: the base's one-letter prefix followed by the encoding."""
    if base == "base58btc":
        return "z" + base58btc_encode(data)
    if base == "base64url":
        return "u" + base64url_encode(data)
    raise ValueError(f"unsupported multibase encoding {base!r}")


def multibase_decode(value: str, expected: Multibase | None = None) -> bytes:
    """Decode multibase text; with `expected`, any other base is refused."""
    if not value:
        raise ValueError("empty multibase value")
    prefix, body = value[0], value[1:]
    if expected is not None and prefix != _PREFIX[expected]:
        raise ValueError(
            f"expected {expected} multibase (prefix {_PREFIX[expected]!r}), got prefix {prefix!r}"
        )
    if prefix == "z":
        return base58btc_decode(body)
    if prefix == "u":
        return base64url_decode(body)
    raise ValueError(f"unsupported multibase prefix {prefix!r} (only 'z' and 'u' are accepted)")
