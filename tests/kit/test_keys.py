"""Ed25519 keys and Multikey text, pinned to the 1EdTech Open Badges 3.0 test vector keys."""

from __future__ import annotations

import pytest

from microcred.kit.crypto.keys import (
    Ed25519KeyPair,
    Ed25519PublicKey,
    key_pair_from_multikey,
    public_key_from_multikey,
)
from microcred.kit.crypto.multibase import base58btc_encode

# OB 3.0 implementation guide, "Linked Data Proof Test Vector" (1EdTech/openbadges-specification,
# ob_v3p0/impl/linked-data-proof-ob.md): the key pair that signed the eddsa-rdfc-2022 vector.
VECTOR_SEED = bytes.fromhex("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4")
VECTOR_PUBLIC = bytes.fromhex("4bdeafde2ea8beefadd8c699b5c7e0704cf51154d52e17b20b71337ca04cc5a5")
VECTOR_PUBLIC_MULTIKEY = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
# Digital Bazaar's ed25519-multikey writes the 64-byte secret key (seed + public key).
VECTOR_SECRET_MULTIKEY_64 = (
    "zrv2bqTbNwCTsRrHFcJCPjVAduh4Ezcnoq1A3ZxH1GWTNkxipLVuaAoMFmze2gFN9oNXfJjufxSHWVZzsJiUsMHFMcx"
)


def test_test_vector_seed_gives_the_published_public_key() -> None:
    pair = Ed25519KeyPair.from_seed(VECTOR_SEED)
    assert pair.public_key.raw == VECTOR_PUBLIC
    assert pair.public_multikey == VECTOR_PUBLIC_MULTIKEY
    assert pair.seed == VECTOR_SEED


def test_digital_bazaar_secret_multikey_is_read() -> None:
    pair = key_pair_from_multikey(VECTOR_SECRET_MULTIKEY_64)
    assert pair.seed == VECTOR_SEED
    assert Ed25519KeyPair.from_multikey(VECTOR_SECRET_MULTIKEY_64).public_key == pair.public_key


def test_private_multikey_is_the_standard_32_byte_form_and_round_trips() -> None:
    pair = Ed25519KeyPair.generate()
    text = pair.private_multikey()
    assert text == "z" + base58btc_encode(b"\x80\x26" + pair.seed)
    assert key_pair_from_multikey(text).public_key == pair.public_key


def test_public_multikey_round_trips_and_starts_z6mk() -> None:
    pair = Ed25519KeyPair.generate()
    assert pair.public_multikey.startswith("z6Mk")
    assert public_key_from_multikey(pair.public_multikey) == pair.public_key
    assert Ed25519PublicKey.from_multikey(pair.public_multikey).raw == pair.public_key.raw


def test_sign_and_verify() -> None:
    pair = Ed25519KeyPair.generate()
    signature = pair.sign(b"hash data")
    assert len(signature) == 64
    assert pair.verify(signature, b"hash data")
    assert pair.public_key.verify(signature, b"hash data")
    assert not pair.public_key.verify(signature, b"hash datA")
    assert not pair.public_key.verify(signature[:-1], b"hash data")
    assert not Ed25519KeyPair.generate().public_key.verify(signature, b"hash data")
    tampered = bytes([signature[0] ^ 1]) + signature[1:]
    assert not pair.public_key.verify(tampered, b"hash data")


def test_generated_keys_differ_and_the_seed_never_shows_in_repr() -> None:
    first, second = Ed25519KeyPair.generate(), Ed25519KeyPair.generate()
    assert first.public_key != second.public_key
    assert first.seed.hex() not in repr(first)
    assert first.private_multikey() not in repr(first)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi", "starting with 'z'"),
        ("z6Mk0OIl", "not valid base58btc"),
        # an X25519 key (multicodec 0xec) is not a signing key
        ("z" + base58btc_encode(b"\xec\x01" + bytes(32)), "expected ed01"),
        ("z" + base58btc_encode(b"\xed\x01" + bytes(31)), "31 key bytes"),
        ("z" + base58btc_encode(b"\xed\x01" + bytes(33)), "33 key bytes"),
    ],
)
def test_public_key_from_multikey_explains_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        public_key_from_multikey(text)


def test_secret_multikey_problems_are_reported() -> None:
    with pytest.raises(ValueError, match="expected 8026"):
        key_pair_from_multikey(VECTOR_PUBLIC_MULTIKEY)
    mismatched = "z" + base58btc_encode(b"\x80\x26" + VECTOR_SEED + bytes(32))
    with pytest.raises(ValueError, match="does not match its seed"):
        key_pair_from_multikey(mismatched)
    with pytest.raises(ValueError, match="32 bytes"):
        Ed25519KeyPair.from_seed(b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        Ed25519PublicKey(b"short")
