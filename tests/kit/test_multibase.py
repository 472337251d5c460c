"""Multibase: base58btc and base64url, checked against published vectors and a slow reference."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microcred.kit.crypto.multibase import (
    base58btc_decode,
    base58btc_encode,
    base64url_decode,
    base64url_encode,
    multibase_decode,
    multibase_encode,
)

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def reference_base58(data: bytes) -> str:
    """The textbook algorithm, one digit at a time: the oracle for the fast implementation."""
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, digit = divmod(number, 58)
        digits = ALPHABET[digit] + digits
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + digits


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"", ""),
        (b"\0", "1"),
        (b"\0\0\x01", "112"),
        (b"Hello World!", "2NEpo7TZRRrLZSi2U"),
        (
            b"The quick brown fox jumps over the lazy dog.",
            "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
        ),
        (bytes.fromhex("0000287fb4cd"), "11233QC4"),
    ],
)
def test_base58btc_known_vectors(raw: bytes, text: str) -> None:
    # Vectors from the IETF base58 draft (draft-msporny-base58) and the Bitcoin test suite.
    assert base58btc_encode(raw) == text
    assert base58btc_decode(text) == raw


@given(st.binary(max_size=200))
def test_base58btc_matches_reference_and_round_trips(data: bytes) -> None:
    assert base58btc_encode(data) == reference_base58(data)
    assert base58btc_decode(base58btc_encode(data)) == data


@given(st.binary(max_size=100))
def test_base64url_round_trips_without_padding(data: bytes) -> None:
    text = base64url_encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert base64url_decode(text) == data


def test_multibase_spec_examples() -> None:
    # The multibase specification's example string in both encodings.
    data = b"Multibase is awesome! \\o/"
    assert multibase_encode(data) == "zYAjKoNbau5KiqmHPmSxYCvn66dA1vLmwbt"
    assert multibase_encode(data, "base64url") == "uTXVsdGliYXNlIGlzIGF3ZXNvbWUhIFxvLw"
    assert multibase_decode("zYAjKoNbau5KiqmHPmSxYCvn66dA1vLmwbt") == data
    assert multibase_decode("uTXVsdGliYXNlIGlzIGF3ZXNvbWUhIFxvLw", "base64url") == data


@pytest.mark.parametrize("bad", ["0", "O", "I", "l", "abc+", "zz\u00e9"])
def test_base58btc_refuses_characters_outside_the_alphabet(bad: str) -> None:
    with pytest.raises(ValueError, match="base58btc"):
        base58btc_decode(bad)


@pytest.mark.parametrize(
    ("value", "expected", "message"),
    [
        ("", None, "empty"),
        ("mTXVsdA", None, "unsupported multibase prefix 'm'"),
        ("uTXVsdA", "base58btc", "expected base58btc"),
        ("z2NEpo7", "base64url", "expected base64url"),
        ("uTXVsdA==", None, "must not be padded"),
        ("uTX+sdA", None, "standard base64"),
        ("uT", None, "impossible length"),
    ],
)
def test_multibase_decode_errors_say_what_is_wrong(value: str, expected: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        multibase_decode(value, expected)
