"""Bitstring Status List v1.0: bit order, encoding, allocation and status checks."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import random
import re
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microcred.credentials.status_list import (
    MAX_BYTES,
    MIN_ENTRIES,
    Bitstring,
    StatusListError,
    StatusResult,
    allocate_across,
    allocate_indexes,
    entry,
    list_credential,
    status_of,
)

# The encodedList of the status list credential example in W3C Bitstring Status List v1.0
# (also used verbatim by Digital Bazaar's and other implementations' tests): 131,072 zero bits.
SPEC_ENCODED_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"

LIST_URL = "https://example.com/credentials/status/3"


def _encode_raw(raw: bytes) -> str:
    """encodedList built with the stdlib only, independently of the module under test."""
    return "u" + base64.urlsafe_b64encode(gzip.compress(raw, mtime=0)).decode().rstrip("=")


# --------------------------------------------------------------------------- bit order


def test_index_zero_is_the_most_significant_bit_of_the_first_byte() -> None:
    bits = Bitstring()
    for index in (0, 3, 7, 9, 14):
        bits.set(index, True)
    raw = bits.to_bytes()
    # Bits 0, 3, 7 -> 1001 0001; bits 9, 14 of the second byte -> 0100 0010.
    assert raw[0] == 0b1001_0001 == 0x91
    assert raw[1] == 0b0100_0010 == 0x42
    assert raw[2:] == bytes(len(raw) - 2)
    assert [i for i in range(16) if bits.get(i)] == [0, 3, 7, 9, 14]


def test_from_bytes_reads_msb_first() -> None:
    raw = bytearray(MIN_ENTRIES // 8)
    raw[0], raw[-1] = 0x80, 0x01
    bits = Bitstring.from_bytes(bytes(raw))
    assert bits.get(0)
    assert not bits.get(1)
    assert bits.get(MIN_ENTRIES - 1)
    assert not bits.get(MIN_ENTRIES - 2)
    assert bits.count() == 2


def test_set_false_clears_only_that_bit() -> None:
    bits = Bitstring()
    bits.set(8, True)
    bits.set(9, True)
    bits.set(8, False)
    assert not bits.get(8)
    assert bits.get(9)
    assert bits.to_bytes()[1] == 0x40


def test_index_bounds_and_types() -> None:
    bits = Bitstring()
    with pytest.raises(IndexError, match="131072"):
        bits.get(MIN_ENTRIES)
    with pytest.raises(IndexError):
        bits.set(-1, True)
    with pytest.raises(TypeError):
        bits.get(True)


def test_length_rules() -> None:
    assert len(Bitstring()) == MIN_ENTRIES
    assert len(Bitstring(64, minimum=64)) == 64
    with pytest.raises(StatusListError, match="multiple of 8"):
        Bitstring(MIN_ENTRIES + 3)
    with pytest.raises(
        StatusListError, match="status list has 1024 entries; at least 131072 are required"
    ):
        Bitstring(1024)
    with pytest.raises(StatusListError, match="at most"):
        Bitstring(MAX_BYTES * 8 + 8)


def test_set_many_matches_single_sets_and_checks_range_first() -> None:
    rng = np.random.default_rng(7)
    picks = rng.choice(MIN_ENTRIES, size=5000, replace=False)
    bulk, single = Bitstring(), Bitstring()
    bulk.set_many(picks)
    for index in picks.tolist():
        single.set(index, True)
    assert bulk == single
    assert bulk.count() == 5000
    bulk.set_many([int(picks[0])], value=False)
    assert not bulk.get(int(picks[0]))
    before = bulk.to_bytes()
    with pytest.raises(IndexError):
        bulk.set_many([1, 2, MIN_ENTRIES])
    assert bulk.to_bytes() == before


# --------------------------------------------------------------------------- encoding


def test_spec_example_encoded_list_decodes_to_an_empty_list() -> None:
    bits = Bitstring.decode(SPEC_ENCODED_LIST)
    assert len(bits) == MIN_ENTRIES
    assert bits.count() == 0
    assert bits == Bitstring()


def test_encode_is_multibase_base64url_of_gzip_and_deterministic() -> None:
    bits = Bitstring()
    bits.set(0, True)
    bits.set(94567, True)
    encoded = bits.encode()
    assert encoded == bits.encode()
    assert encoded.startswith("u")
    assert re.fullmatch(r"u[A-Za-z0-9_-]+", encoded)
    body = encoded[1:]
    compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert compressed[:2] == b"\x1f\x8b"  # GZIP, not bare zlib
    assert compressed[4:8] == b"\0\0\0\0"  # mtime 0
    assert gzip.decompress(compressed) == bits.to_bytes()
    # An empty list encodes like the spec's example (same gzip member; the header's
    # XFL/OS bytes may differ between compressors).
    ours = Bitstring().encode()
    assert Bitstring.decode(ours) == Bitstring.decode(SPEC_ENCODED_LIST)
    assert len(ours) == len(SPEC_ENCODED_LIST)


@settings(max_examples=25, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=MIN_ENTRIES - 1), max_size=300))
def test_round_trip(indexes: set[int]) -> None:
    bits = Bitstring()
    for index in indexes:
        bits.set(index, True)
    back = Bitstring.decode(bits.encode())
    assert back == bits
    assert {i for i in indexes if back.get(i)} == indexes
    assert back.count() == len(indexes)


def test_decode_accepts_an_independently_built_list_and_multi_member_gzip() -> None:
    raw = bytearray(MIN_ENTRIES // 8)
    raw[11] = 0x10  # index 11*8 + 3 = 91
    assert Bitstring.decode(_encode_raw(bytes(raw))).get(91)
    half = len(raw) // 2
    two_members = gzip.compress(bytes(raw[:half]), mtime=0) + gzip.compress(
        bytes(raw[half:]), mtime=0
    )
    encoded = "u" + base64.urlsafe_b64encode(two_members).decode().rstrip("=")
    assert Bitstring.decode(encoded).get(91)


def _b64(data: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ("", "encodedList is empty"),
        ("z" + SPEC_ENCODED_LIST[1:], "multibase base64url prefix 'u', not 'z'"),
        (SPEC_ENCODED_LIST[1:], "multibase base64url prefix 'u', not 'H'"),
        (SPEC_ENCODED_LIST + "=", "without padding"),
        ("uH4sI+AAA/", "not base64url: invalid character '\\+'"),
        ("uA", "not valid base64url"),
        (_b64(b"hello, world"), "not GZIP-compressed"),
        (_b64(b"\x1f\x8b\x08\x00garbage-not-deflate"), "not valid GZIP data"),
        (_b64(gzip.compress(bytes(16384), mtime=0)[:-20]), "truncated"),
        (_b64(gzip.compress(bytes(16384), mtime=0) + b"xx"), "trailing bytes"),
        (
            _b64(gzip.compress(bytes(128), mtime=0)),
            "status list has 1024 entries; at least 131072 are required",
        ),
        (_b64(gzip.compress(b"", mtime=0)), "status list has 0 entries"),
    ],
)
def test_decode_rejections(encoded: str, message: str) -> None:
    with pytest.raises(StatusListError, match=message):
        Bitstring.decode(encoded)


def test_decode_minimum_override() -> None:
    short = _b64(gzip.compress(bytes(128), mtime=0))
    assert len(Bitstring.decode(short, minimum=1024)) == 1024
    with pytest.raises(StatusListError, match="at least 2048"):
        Bitstring.decode(short, minimum=2048)


def test_decode_refuses_a_gzip_bomb() -> None:
    bomb = gzip.compress(bytes(MAX_BYTES + 1024), compresslevel=9, mtime=0)
    assert len(bomb) < 100_000  # small on the wire
    with pytest.raises(StatusListError, match=f"more than {MAX_BYTES} bytes"):
        Bitstring.decode(_b64(bomb))


# --------------------------------------------------------------------------- allocation


def test_allocation_is_unique_and_avoids_used_indexes() -> None:
    used = Bitstring()
    used.set_many(range(0, MIN_ENTRIES, 3))
    free_before = MIN_ENTRIES - used.count()
    chosen = allocate_indexes(used, 50_000, size=MIN_ENTRIES, rng=np.random.default_rng(1))
    assert len(chosen) == len(set(chosen)) == 50_000
    assert all(index % 3 != 0 for index in chosen)
    assert all(isinstance(index, int) for index in chosen[:10])
    assert used.count() == MIN_ENTRIES - free_before  # not modified
    used.set_many(chosen)
    rest = allocate_indexes(used, free_before - 50_000, size=MIN_ENTRIES, rng=random.Random(2))
    assert not set(rest) & set(chosen)
    used.set_many(rest)
    assert used.count() == MIN_ENTRIES


def test_allocation_from_a_set_and_edge_cases() -> None:
    used = {0, 1, 2, 5}
    chosen = allocate_indexes(used, 4, size=8, rng=random.Random(0))
    assert sorted(chosen) == [3, 4, 6, 7]
    assert allocate_indexes(used, 0, size=8, rng=random.Random(0)) == []
    with pytest.raises(StatusListError, match="status list full: 4 of 8 indexes free, 5 requested"):
        allocate_indexes(used, 5, size=8, rng=random.Random(0))
    with pytest.raises(StatusListError, match="outside the list"):
        allocate_indexes({8}, 1, size=8)
    with pytest.raises(StatusListError, match="allocation map has 131072 entries"):
        allocate_indexes(Bitstring(), 1, size=262_144)
    with pytest.raises(StatusListError, match="non-negative"):
        allocate_indexes(set(), -1, size=8)


def test_allocation_is_reproducible_with_a_seed() -> None:
    a = allocate_indexes(Bitstring(), 100, size=MIN_ENTRIES, rng=np.random.default_rng(42))
    b = allocate_indexes(Bitstring(), 100, size=MIN_ENTRIES, rng=np.random.default_rng(42))
    c = allocate_indexes(Bitstring(), 100, size=MIN_ENTRIES, rng=random.Random(42))
    d = allocate_indexes(Bitstring(), 100, size=MIN_ENTRIES, rng=random.Random(42))
    assert a == b
    assert c == d


@pytest.mark.parametrize(
    "make_rng", [lambda: np.random.default_rng(2024), lambda: random.Random(7)]
)
def test_allocation_is_uniform_over_free_indexes(make_rng: Any) -> None:
    # 64-entry map, first 16 taken; 6,000 draws of 8 indexes: each of the 48 free indexes
    # should be chosen ~1,000 times. Chi-square with 47 degrees of freedom has mean 47 and
    # its 99.9th percentile near 82; the seeds are fixed, so this cannot flake.
    used = Bitstring(64, minimum=64)
    used.set_many(range(16))
    rng = make_rng()
    counts = np.zeros(64, dtype=np.int64)
    for _ in range(6000):
        picked = allocate_indexes(used, 8, size=64, rng=rng)
        assert len(set(picked)) == 8
        counts[picked] += 1
    assert counts[:16].sum() == 0
    expected = 6000 * 8 / 48
    chi2 = float(((counts[16:] - expected) ** 2 / expected).sum())
    print(f"chi-square over 47 dof: {chi2:.1f}")
    assert chi2 < 90


def test_bulk_allocation_of_100000_indexes_over_several_lists() -> None:
    maps = [Bitstring() for _ in range(4)]
    maps[0].set_many(range(0, MIN_ENTRIES, 2))  # half full
    maps[1].set_many(range(MIN_ENTRIES - 1000))  # almost full
    started = time.perf_counter()
    pairs = allocate_across(maps, 100_000, rng=np.random.default_rng(3))
    elapsed = time.perf_counter() - started
    print(f"allocated 100,000 indexes over 4 lists in {elapsed * 1000:.1f} ms")
    assert len(pairs) == len(set(pairs)) == 100_000
    by_list = [sorted(i for p, i in pairs if p == k) for k in range(4)]
    # Filled in order: all 65,536 free slots of list 0, all 1,000 of list 1, the rest in 2.
    assert len(by_list[0]) == MIN_ENTRIES // 2
    assert all(i % 2 == 1 for i in by_list[0])
    assert by_list[1] == list(range(MIN_ENTRIES - 1000, MIN_ENTRIES))
    assert len(by_list[2]) == 100_000 - MIN_ENTRIES // 2 - 1000
    assert by_list[3] == []
    # Random positions, not a prefix: list 2's picks span the whole list.
    assert min(by_list[2]) < 1000
    assert max(by_list[2]) > MIN_ENTRIES - 1000
    for k, used in enumerate(maps):
        used.set_many(by_list[k])
    started = time.perf_counter()
    single = allocate_indexes(Bitstring(), 100_000, size=MIN_ENTRIES, rng=random.Random(5))
    print(f"100,000 from one list with random.Random: {time.perf_counter() - started:.3f} s")
    assert len(set(single)) == 100_000


def test_allocate_across_is_all_or_nothing() -> None:
    maps = [Bitstring(64, minimum=64), Bitstring(64, minimum=64)]
    maps[0].set_many(range(60))
    with pytest.raises(
        StatusListError, match="status list full: 68 indexes free across 2 lists, 69 requested"
    ):
        allocate_across(maps, 69, rng=random.Random(1))
    pairs = allocate_across(maps, 68, rng=random.Random(1))
    assert sorted(pairs) == [(0, i) for i in range(60, 64)] + [(1, i) for i in range(64)]


# --------------------------------------------------------------------------- JSON shapes


def test_entry_shape() -> None:
    assert entry(LIST_URL, 94567) == {
        "id": f"{LIST_URL}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }
    assert entry(LIST_URL, 0, purpose="suspension")["statusPurpose"] == "suspension"
    for bad in (-1, True, "5"):
        with pytest.raises(StatusListError):
            entry(LIST_URL, bad)  # type: ignore[arg-type]


def test_list_credential_shape() -> None:
    bits = Bitstring()
    bits.set(94567, True)
    valid_from = dt.datetime(2021, 4, 5, 14, 27, 40, 123456, tzinfo=dt.UTC)
    credential = list_credential(LIST_URL, "did:example:12345", bits, valid_from=valid_from)
    assert credential == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": "did:example:12345",
        "validFrom": "2021-04-05T14:27:40Z",
        "credentialSubject": {
            "id": f"{LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": bits.encode(),
        },
    }
    plus_two = dt.timezone(dt.timedelta(hours=2))
    timed = list_credential(
        LIST_URL,
        "did:example:12345",
        bits,
        purpose="suspension",
        valid_from=dt.datetime(2025, 1, 1, 2, 0, tzinfo=plus_two),
        valid_until="2025-02-01T00:00:00Z",
        ttl_ms=300_000,
    )
    assert timed["validFrom"] == "2025-01-01T00:00:00Z"
    assert timed["validUntil"] == "2025-02-01T00:00:00Z"
    assert timed["credentialSubject"]["ttl"] == 300_000
    assert timed["credentialSubject"]["statusPurpose"] == "suspension"
    with pytest.raises(StatusListError, match="time zone"):
        list_credential(LIST_URL, "did:x", bits, valid_from=dt.datetime(2025, 1, 1))
    with pytest.raises(StatusListError, match="time zone"):
        list_credential(LIST_URL, "did:x", bits, valid_from="2025-01-01T00:00:00")
    with pytest.raises(StatusListError, match="ISO 8601"):
        list_credential(LIST_URL, "did:x", bits, valid_from="yesterday")


# --------------------------------------------------------------------------- status_of


def _pair(
    index: int = 94567, *, revoked: bool = True, purpose: str = "revocation"
) -> tuple[dict[str, Any], dict[str, Any]]:
    bits = Bitstring()
    if revoked:
        bits.set(index, True)
    return (
        entry(LIST_URL, index, purpose=purpose),
        list_credential(
            LIST_URL, "did:example:12345", bits, purpose=purpose, valid_from="2021-04-05T14:27:40Z"
        ),
    )


def test_status_of_reads_the_bit() -> None:
    status, lst = _pair()
    result = status_of(status, lst)
    assert result == StatusResult(
        set=True,
        purpose="revocation",
        index=94567,
        reason=f"revoked: bit 94567 of status list {LIST_URL}",
    )
    status, lst = _pair(revoked=False, purpose="suspension")
    result = status_of(status, lst)
    assert not result.set
    assert result.reason.startswith("not suspended")


def test_status_of_the_spec_example() -> None:
    # The credential and entry of the W3C specification's examples, verbatim in substance.
    status = {
        "id": "https://example.com/credentials/status/3#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://example.com/credentials/status/3",
    }
    lst = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "https://example.com/credentials/status/3",
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": "did:example:12345",
        "validFrom": "2021-04-05T14:27:40Z",
        "credentialSubject": {
            "id": "https://example.com/status/3#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": SPEC_ENCODED_LIST,
        },
    }
    result = status_of(status, lst)
    assert (result.set, result.index, result.purpose) == (False, 94567, "revocation")


def _mutated(path: str, value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    status, lst = _pair()
    target: dict[str, Any] = {"entry": status, "list": lst}
    *parents, last = path.split(".")
    node = target
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return status, lst


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("entry.type", "StatusList2021Entry", "credentialStatus type is 'StatusList2021Entry'"),
        ("entry.statusPurpose", "suspension", "entry statusPurpose 'suspension' does not match"),
        ("entry.statusPurpose", _DELETE, "statusPurpose is missing"),
        ("entry.statusListIndex", 94567, "must be a string of decimal digits, got 94567"),
        ("entry.statusListIndex", "-1", "must be a string of decimal digits, got '-1'"),
        ("entry.statusListIndex", "0x10", "decimal digits"),
        ("entry.statusListIndex", "1e3", "decimal digits"),
        ("entry.statusListIndex", "", "decimal digits"),
        ("entry.statusListIndex", "131072", "statusListIndex 131072 is outside the status list"),
        ("entry.statusListIndex", "9" * 5000, "is outside the status list"),
        ("entry.statusSize", 2, "statusSize 2 is not supported"),
        ("entry.statusListCredential", "https://evil.example/list", "entry points to status list"),
        ("list.type", ["VerifiableCredential"], "does not include 'BitstringStatusListCredential'"),
        ("list.credentialSubject.type", "StatusList2021", "credentialSubject type is"),
        ("list.credentialSubject.statusPurpose", "suspension", "does not match"),
        ("list.credentialSubject.encodedList", 5, "encodedList is missing or not a string"),
        (
            "list.credentialSubject.encodedList",
            _b64(gzip.compress(bytes(128), mtime=0)),
            "status list has 1024 entries; at least 131072 are required",
        ),
        ("list.credentialSubject.encodedList", "zABC", "prefix 'u'"),
        ("list.credentialSubject", "nope", "no single credentialSubject object"),
    ],
)
def test_status_of_rejections(path: str, value: Any, message: str) -> None:
    status, lst = _mutated(path, value)
    with pytest.raises(StatusListError, match=re.escape(message) if "(" in message else message):
        status_of(status, lst)


def test_status_of_lenient_shapes_and_minimum() -> None:
    status, lst = _pair(index=5)
    status["type"] = ["BitstringStatusListEntry"]
    lst["credentialSubject"]["statusPurpose"] = ["revocation", "suspension"]
    lst["credentialSubject"] = [lst["credentialSubject"]]
    assert status_of(status, lst).set
    small = Bitstring(1024, minimum=1024)
    small.set(5, True)
    lst = list_credential(LIST_URL, "did:x", Bitstring(), valid_from="2025-01-01T00:00:00Z")
    lst["credentialSubject"]["encodedList"] = small.encode()
    with pytest.raises(StatusListError, match="1024 entries"):
        status_of(status, lst)
    assert status_of(status, lst, minimum=1024).set
