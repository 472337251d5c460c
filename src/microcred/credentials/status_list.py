"""W3C Bitstring Status List v1.0: the bitstring, its encoding, index allocation, status checks.

Pure functions and values only: nothing here signs, stores or fetches. The signed list
credential is produced elsewhere from the unsigned dict `list_credential` returns, and the
verifier hands `status_of` a list credential whose proof it has already checked.

Conventions fixed by the specification (https://www.w3.org/TR/vc-bitstring-status-list/):

* index 0 is the most significant bit of the first byte;
* `encodedList` is multibase base64url (prefix ``u``, no padding) of the GZIP-compressed bits;
* a list has at least 131,072 entries (16 KiB), so that one credential hides among many
  (herd privacy); the 1EdTech validator rejects shorter lists;
* `statusListIndex` is a base-10 integer written as a JSON *string*.

Allocation state. A status bit answers "is this credential revoked?", which says nothing
about whether the index has been handed out: almost every issued credential has its bit at 0.
So each list keeps a second `Bitstring` of the same length, the *allocation map*, in which
bit ``i`` is 1 once index ``i`` belongs to a credential (the ``status_lists.allocated`` column
next to ``bits``). Bits in the map are only ever set, never cleared: a revoked credential keeps
its index forever, because the published list must keep saying it is revoked.
`allocate_indexes` reads such a map (or, for small callers and tests, a set of used indexes)
and returns fresh indexes without modifying it; the caller records them with
`Bitstring.set_many` in the same transaction that stores the credentials, which is what keeps
two concurrent issuers from receiving the same index (row lock or optimistic revision check
at the storage layer).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import random
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "ENTRY_TYPE",
    "LIST_CREDENTIAL_TYPE",
    "LIST_TYPE",
    "MAX_BYTES",
    "MIN_ENTRIES",
    "VC_V2_CONTEXT",
    "Bitstring",
    "StatusListError",
    "StatusResult",
    "allocate_across",
    "allocate_indexes",
    "entry",
    "list_credential",
    "status_of",
]

MIN_ENTRIES = 131_072
"""Smallest list the specification (and the 1EdTech validator) accepts: 16 KiB of bits."""

MAX_BYTES = 16 * 1024 * 1024
"""Largest decompressed list we accept or build (16 MiB = 134,217,728 entries).

A few KiB of GZIP can expand to gigabytes; `Bitstring.decode` stops decompressing here, so a
hostile list credential costs at most this much memory. No real list comes close.
"""

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"

# base64url without padding: the only alphabet the spec allows after the "u" prefix. Checked
# up front because the stdlib decoder silently skips characters outside its alphabet.
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_DECIMAL = re.compile(r"[0-9]+")
_GZIP_MAGIC = b"\x1f\x8b"
# An index can never exceed the largest list; anything longer than this many digits is out of
# range without converting it (which also avoids Python's 4300-digit int() limit).
_MAX_INDEX_DIGITS = len(str(MAX_BYTES * 8))

Rng = random.Random | np.random.Generator


class StatusListError(ValueError):
    """A status list, entry or allocation request that cannot be used, with the precise reason."""


class Bitstring:
    """A fixed-length, mutable string of bits backed by a `bytearray`.

    Contract: the length is a positive multiple of 8, at least ``minimum`` (default
    `MIN_ENTRIES`) and at most ``MAX_BYTES * 8``; bit ``i`` is bit ``7 - i % 8`` of byte
    ``i // 8`` (most significant bit first, as the specification requires). New bitstrings are
    all zeros. Instances are mutable and therefore unhashable; equality compares the bits.
    """

    __slots__ = ("_bits",)
    __hash__ = None  # type: ignore[assignment]  # mutable: must not be a dict key

    def __init__(self, length: int = MIN_ENTRIES, *, minimum: int = MIN_ENTRIES) -> None:
        _check_length(length, minimum)
        self._bits = bytearray(length // 8)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray, *, minimum: int = MIN_ENTRIES) -> Bitstring:
        """Wrap a copy of raw (uncompressed) bytes; the length is ``8 * len(data)`` bits."""
        _check_length(8 * len(data), minimum)
        new = cls.__new__(cls)
        new._bits = bytearray(data)
        return new

    @classmethod
    def decode(cls, encoded: str, *, minimum: int = MIN_ENTRIES) -> Bitstring:
        """Parse an `encodedList` value.

        Raises `StatusListError` naming the first problem found: not a string, wrong multibase
        prefix, characters outside base64url or padding, bytes that are not GZIP, a GZIP stream
        that is corrupt or truncated, more than `MAX_BYTES` once decompressed, or fewer than
        ``minimum`` entries.
        """
        if not isinstance(encoded, str):
            raise StatusListError(f"encodedList must be a string, not {type(encoded).__name__}")
        if not encoded:
            raise StatusListError("encodedList is empty")
        if encoded[0] != "u":
            raise StatusListError(
                f"encodedList must use the multibase base64url prefix 'u', not {encoded[0]!r}"
            )
        body = encoded[1:]
        if "=" in body:
            raise StatusListError("encodedList must be base64url without padding ('=')")
        if _B64URL.fullmatch(body) is None:
            bad = next(c for c in body if _B64URL.fullmatch(c) is None)
            raise StatusListError(f"encodedList is not base64url: invalid character {bad!r}")
        try:
            compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError) as exc:
            raise StatusListError(f"encodedList is not valid base64url: {exc}") from None
        raw = _gunzip_capped(compressed)
        if 8 * len(raw) < minimum:
            raise StatusListError(
                f"status list has {8 * len(raw)} entries; at least {minimum} are required"
            )
        return cls.from_bytes(raw, minimum=minimum)

    def encode(self) -> str:
        """The `encodedList` value: ``"u"`` + unpadded base64url of the GZIP-compressed bytes.

        Deterministic for a given zlib build (the GZIP header's mtime is fixed at 0), so an
        unchanged list re-encodes to the same string and need not be re-signed.
        """
        compressed = gzip.compress(self._bits, compresslevel=9, mtime=0)
        return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")

    def to_bytes(self) -> bytes:
        """A copy of the raw bits, ``len(self) // 8`` bytes, MSB-first."""
        return bytes(self._bits)

    def __len__(self) -> int:
        return 8 * len(self._bits)

    def get(self, index: int) -> bool:
        """The bit at ``index``; raises `IndexError` outside ``0 <= index < len(self)``."""
        self._check_index(index)
        return bool(self._bits[index >> 3] >> (7 - (index & 7)) & 1)

    def set(self, index: int, value: bool) -> None:
        """Set (``True``) or clear (``False``) the bit at ``index``."""
        self._check_index(index)
        mask = 0x80 >> (index & 7)
        if value:
            self._bits[index >> 3] |= mask
        else:
            self._bits[index >> 3] &= ~mask & 0xFF

    def set_many(
        self, indexes: Iterable[int] | npt.NDArray[np.integer[Any]], value: bool = True
    ) -> None:
        """Set or clear every bit in ``indexes`` at once (bulk issue records 100,000 at a time).

        All indexes are range-checked before any bit changes, so a bad index leaves the
        bitstring untouched.
        """
        idx = (
            np.fromiter(indexes, dtype=np.int64)
            if not isinstance(indexes, np.ndarray)
            else (indexes.astype(np.int64, copy=False))
        )
        if idx.size == 0:
            return
        low, high = int(idx.min()), int(idx.max())
        if low < 0 or high >= len(self):
            bad = low if low < 0 else high
            raise IndexError(f"bit index {bad} outside 0..{len(self) - 1}")
        bits = self.to_numpy()
        bits[idx] = value
        self._bits[:] = np.packbits(bits).tobytes()

    def count(self) -> int:
        """How many bits are set (for an allocation map: how many indexes are taken)."""
        return int.from_bytes(self._bits, "big").bit_count()

    def to_numpy(self) -> npt.NDArray[np.bool_]:
        """A fresh boolean array, element ``i`` = bit ``i``."""
        # unpackbits' default bit order is "big", i.e. MSB first: the spec's order.
        return np.unpackbits(np.frombuffer(self._bits, dtype=np.uint8)).astype(np.bool_)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Bitstring):
            return NotImplemented
        return self._bits == other._bits

    def __repr__(self) -> str:
        return f"Bitstring(length={len(self)}, set={self.count()})"

    def _check_index(self, index: int) -> None:
        # bool is an int subclass; a True index is always a caller bug.
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"bit index must be an int, not {type(index).__name__}")
        if not 0 <= index < len(self):
            raise IndexError(f"bit index {index} outside 0..{len(self) - 1}")


def _check_length(length: int, minimum: int) -> None:
    if length <= 0 or length % 8:
        raise StatusListError(f"status list length must be a positive multiple of 8, not {length}")
    if length < minimum:
        raise StatusListError(f"status list has {length} entries; at least {minimum} are required")
    if length > MAX_BYTES * 8:
        raise StatusListError(f"status list has {length} entries; at most {MAX_BYTES * 8} allowed")


def _gunzip_capped(data: bytes) -> bytes:
    """Decompress GZIP (one or more members) into at most `MAX_BYTES`, or raise."""
    if not data.startswith(_GZIP_MAGIC):
        raise StatusListError("encodedList is not GZIP-compressed (no GZIP header)")
    out = bytearray()
    rest = data
    try:
        # RFC 1952 allows several concatenated members; peers using streaming gzip emit them.
        while rest:
            if not rest.startswith(_GZIP_MAGIC):
                raise StatusListError("encodedList has trailing bytes after its GZIP data")
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            # max_length makes zlib stop instead of materialising a decompression bomb.
            out += inflater.decompress(rest, MAX_BYTES + 1 - len(out))
            if len(out) > MAX_BYTES or inflater.unconsumed_tail:
                raise StatusListError(
                    f"encodedList decompresses to more than {MAX_BYTES} bytes; refused"
                )
            if not inflater.eof:
                raise StatusListError("encodedList GZIP data is truncated")
            rest = inflater.unused_data
    except zlib.error as exc:
        raise StatusListError(f"encodedList is not valid GZIP data: {exc}") from None
    return bytes(out)


# --------------------------------------------------------------------------- allocation


def allocate_indexes(
    used: Bitstring | Set[int],
    count: int,
    *,
    size: int,
    rng: Rng | None = None,
) -> list[int]:
    """Choose ``count`` distinct free indexes of a list of ``size`` entries, uniformly at random.

    ``used`` is the list's allocation map (a `Bitstring` of length ``size``; 1 = taken) or a
    set of taken indexes. It is not modified: record the result with ``used.set_many(...)``.

    Every free index is equally likely and every ``count``-subset of the free indexes is
    equally likely, so an index says nothing about when or in which batch a credential was
    issued (the herd-privacy reason for random assignment). ``rng`` may be a `random.Random`
    (including `random.SystemRandom`) or a numpy `Generator`; ``None`` draws a fresh
    OS-seeded numpy generator, which is what production should use.

    The result is in random order. Raises `StatusListError` if fewer than ``count`` indexes are
    free (``"status list full: ..."``) or if ``used`` does not fit ``size``.
    """
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise StatusListError(f"count must be a non-negative int, not {count!r}")
    free = _free_indexes(used, size)
    if free.size < count:
        raise StatusListError(
            f"status list full: {free.size} of {size} indexes free, {count} requested"
        )
    chosen: list[int] = _pick(free, count, rng).tolist()
    return chosen


def allocate_across(
    used_maps: Sequence[Bitstring],
    count: int,
    *,
    rng: Rng | None = None,
) -> list[tuple[int, int]]:
    """Allocate ``count`` indexes over several lists: ``(position in used_maps, index)`` pairs.

    Lists are filled in the order given (oldest first), each at random positions as in
    `allocate_indexes`, so a list is full before the next one is started and every published
    list ends up with a large herd. All or nothing: raises ``StatusListError("status list
    full: ...")`` before choosing anything if the lists together lack ``count`` free indexes;
    the caller then creates a new list and tries again. The maps are not modified.
    """
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise StatusListError(f"count must be a non-negative int, not {count!r}")
    frees: list[npt.NDArray[np.int64]] = []
    available = 0
    for used in used_maps:
        if available >= count:
            break
        free = _free_indexes(used, len(used))
        frees.append(free)
        available += free.size
    if available < count:
        raise StatusListError(
            f"status list full: {available} indexes free across {len(used_maps)} lists, "
            f"{count} requested"
        )
    result: list[tuple[int, int]] = []
    remaining = count
    for position, free in enumerate(frees):
        take = min(remaining, free.size)
        result.extend((position, index) for index in _pick(free, take, rng).tolist())
        remaining -= take
    return result


def _free_indexes(used: Bitstring | Set[int], size: int) -> npt.NDArray[np.int64]:
    if isinstance(used, Bitstring):
        if len(used) != size:
            raise StatusListError(f"allocation map has {len(used)} entries but the list has {size}")
        taken = used.to_numpy()
    else:
        if size <= 0:
            raise StatusListError(f"status list size must be positive, not {size}")
        taken = np.zeros(size, dtype=np.bool_)
        if used:
            marks = np.fromiter(used, dtype=np.int64, count=len(used))
            low, high = int(marks.min()), int(marks.max())
            if low < 0 or high >= size:
                raise StatusListError(
                    f"used index {low if low < 0 else high} is outside the list (size {size})"
                )
            taken[marks] = True
    return np.flatnonzero(~taken).astype(np.int64, copy=False)


def _pick(free: npt.NDArray[np.int64], count: int, rng: Rng | None) -> npt.NDArray[np.int64]:
    """``count`` elements of ``free`` without replacement, every subset equally likely."""
    if count == 0:
        return free[:0]
    if isinstance(rng, random.Random):
        # random.sample over a range never materialises the population and is uniform.
        positions = np.fromiter(rng.sample(range(free.size), count), dtype=np.int64, count=count)
        return free[positions]
    generator = rng if rng is not None else np.random.default_rng()
    return generator.choice(free, size=count, replace=False, shuffle=True)


# --------------------------------------------------------------------------- JSON shapes


def entry(list_url: str, index: int, *, purpose: str = "revocation") -> dict[str, str]:
    """The `credentialStatus` value for a credential holding ``index`` of the list at ``list_url``.

    Shape of the spec's example: ``id`` is ``list_url#index`` and ``statusListIndex`` is the
    index as a decimal string. One object, not an array: the 1EdTech schema rejects arrays.
    """
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise StatusListError(f"status list index must be a non-negative int, not {index!r}")
    _require_text("list_url", list_url)
    _require_text("purpose", purpose)
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def list_credential(
    list_url: str,
    issuer_id: str,
    bits: Bitstring,
    *,
    purpose: str = "revocation",
    valid_from: dt.datetime | str,
    valid_until: dt.datetime | str | None = None,
    ttl_ms: int | None = None,
) -> dict[str, Any]:
    """The unsigned `BitstringStatusListCredential` publishing ``bits`` at ``list_url``.

    Dates may be timezone-aware datetimes (written as UTC, ``Z``, whole seconds) or ISO 8601
    strings that carry a time zone (written unchanged). ``ttl_ms`` is the spec's optional
    caching hint in milliseconds. Only the VC v2 context is needed: it defines every
    Bitstring Status List term. The caller signs the result.
    """
    _require_text("list_url", list_url)
    _require_text("issuer_id", issuer_id)
    _require_text("purpose", purpose)
    subject: dict[str, Any] = {
        "id": f"{list_url}#list",
        "type": LIST_TYPE,
        "statusPurpose": purpose,
        "encodedList": bits.encode(),
    }
    if ttl_ms is not None:
        if not isinstance(ttl_ms, int) or isinstance(ttl_ms, bool) or ttl_ms < 0:
            raise StatusListError(f"ttl_ms must be a non-negative int, not {ttl_ms!r}")
        subject["ttl"] = ttl_ms
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer_id,
        "validFrom": _timestamp("valid_from", valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = _timestamp("valid_until", valid_until)
    credential["credentialSubject"] = subject
    return credential


def _require_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise StatusListError(f"{name} must be a non-empty string, not {value!r}")


def _timestamp(name: str, value: dt.datetime | str) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise StatusListError(f"{name} must carry a time zone")
        utc = value.astimezone(dt.UTC).replace(microsecond=0)
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise StatusListError(f"{name} is not an ISO 8601 date-time: {value!r}") from None
        if parsed.tzinfo is None:
            raise StatusListError(f"{name} must carry a time zone: {value!r}")
        return value
    raise StatusListError(f"{name} must be a datetime or a string, not {type(value).__name__}")


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True, slots=True)
class StatusResult:
    """Outcome of one status check.

    ``set`` is the bit: for ``purpose == "revocation"`` True means revoked, for
    ``"suspension"`` suspended. ``reason`` is a sentence a verifier can show as is.
    """

    set: bool
    purpose: str
    index: int
    reason: str


_STATE_WORDS = {
    "revocation": ("revoked", "not revoked"),
    "suspension": ("suspended", "not suspended"),
}


def status_of(
    entry: Mapping[str, Any],
    list_credential: Mapping[str, Any],
    *,
    minimum: int = MIN_ENTRIES,
) -> StatusResult:
    """Read the bit that ``entry`` (a `credentialStatus` object) points at in ``list_credential``.

    ``list_credential`` must already be proof-checked and within its validity period; this
    function checks the data only, in this order, raising `StatusListError` at the first
    failure: the entry's type, purpose, index (a decimal string) and `statusSize` (1 only);
    that the list's ``id`` is the entry's `statusListCredential`; the list's type and its
    subject's type; that the subject's `statusPurpose` includes the entry's; the
    `encodedList` (see `Bitstring.decode`, including ``minimum``); that the index is inside
    the list.
    """
    if not isinstance(entry, Mapping):
        raise StatusListError(f"credentialStatus must be an object, not {type(entry).__name__}")
    if not _has_type(entry.get("type"), ENTRY_TYPE):
        raise StatusListError(
            f"credentialStatus type is {entry.get('type')!r}, expected {ENTRY_TYPE!r}"
        )
    purpose = entry.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose:
        raise StatusListError(f"credentialStatus statusPurpose is missing or invalid: {purpose!r}")
    raw_index = entry.get("statusListIndex")
    if not isinstance(raw_index, str) or _DECIMAL.fullmatch(raw_index) is None:
        raise StatusListError(
            f"statusListIndex must be a string of decimal digits, got {raw_index!r}"
        )
    status_size = entry.get("statusSize", 1)
    if status_size != 1 or isinstance(status_size, bool):
        raise StatusListError(
            f"statusSize {status_size!r} is not supported; only 1-bit entries are"
        )
    list_url = entry.get("statusListCredential")
    if not isinstance(list_url, str) or not list_url:
        raise StatusListError(f"statusListCredential is missing or invalid: {list_url!r}")

    if not isinstance(list_credential, Mapping):
        raise StatusListError(
            f"status list credential must be an object, not {type(list_credential).__name__}"
        )
    list_id = list_credential.get("id")
    if list_id is not None and list_id != list_url:
        raise StatusListError(
            f"entry points to status list {list_url!r} but the credential given is {list_id!r}"
        )
    if not _has_type(list_credential.get("type"), LIST_CREDENTIAL_TYPE):
        raise StatusListError(
            f"status list credential type {list_credential.get('type')!r} does not include "
            f"{LIST_CREDENTIAL_TYPE!r}"
        )
    subject = list_credential.get("credentialSubject")
    # VC 2.0 allows a one-element array where an object is usual; accept that, nothing more.
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    if not isinstance(subject, Mapping):
        raise StatusListError("status list credential has no single credentialSubject object")
    if not _has_type(subject.get("type"), LIST_TYPE):
        raise StatusListError(
            f"status list credentialSubject type is {subject.get('type')!r}, expected {LIST_TYPE!r}"
        )
    list_purpose = subject.get("statusPurpose")
    list_purposes = [list_purpose] if isinstance(list_purpose, str) else list_purpose
    if not isinstance(list_purposes, list) or purpose not in list_purposes:
        raise StatusListError(
            f"entry statusPurpose {purpose!r} does not match the list's statusPurpose "
            f"{list_purpose!r}"
        )
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise StatusListError(f"status list encodedList is missing or not a string: {encoded!r}")
    bits = Bitstring.decode(encoded, minimum=minimum)

    if len(raw_index) > _MAX_INDEX_DIGITS or int(raw_index) >= len(bits):
        raise StatusListError(
            f"statusListIndex {raw_index} is outside the status list ({len(bits)} entries)"
        )
    index = int(raw_index)
    is_set = bits.get(index)
    yes, no = _STATE_WORDS.get(purpose, (f"{purpose} bit set", f"{purpose} bit not set"))
    reason = f"{yes if is_set else no}: bit {index} of status list {list_url}"
    return StatusResult(set=is_set, purpose=purpose, index=index, reason=reason)


def _has_type(value: object, wanted: str) -> bool:
    # JSON-LD lets "type" be a string or an array of strings.
    return value == wanted or (isinstance(value, list) and wanted in value)
