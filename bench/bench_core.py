"""Per-core throughput of the credential crypto core, beside pyld in the same run.

    PYTHONPATH=src python -m bench.bench_core [--rounds 5]

Prints signatures/s and verifications/s (eddsa-rdfc-2022, safe mode on) for a realistic
Open Badges 3.0 credential (10 alignments, 10 results, evidence, status) and a typical small
one, the cost of canonicalization alone, and pyld 3.3 canonicalizing the same documents, so the
ratio is known. One process, one thread: the figures are per core. Targets: >= 1,000/s each.
Timing only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.kit.jsonld.ob_samples import VERIFICATION_METHOD, pyld_canonical, realistic_credential

from microcred.credentials.proofs import sign, verify
from microcred.kit.crypto.keys import Ed25519KeyPair
from microcred.kit.jsonld.canon import canonicalize
from microcred.kit.jsonld.rdf import to_rdf

# The credentials are those of the differential tests (hence: run from the repository root).
CREATED = "2026-03-01T09:30:00Z"


def best_seconds(action: Callable[[], object], *, rounds: int, budget: float = 0.4) -> float:
    """Seconds per call: the best of `rounds` batches, each sized to take about `budget` s."""
    started = time.perf_counter()
    action()
    calls = max(1, int(budget / max(time.perf_counter() - started, 1e-6)))
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            action()
        timings.append((time.perf_counter() - started) / calls)
    return min(timings)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def measure(name: str, document: dict[str, Any], pair: Ed25519KeyPair, rounds: int) -> None:
    signed = sign(document, key_pair=pair, verification_method=VERIFICATION_METHOD, created=CREATED)
    assert verify(signed, public_key=pair.public_key).ok  # a broken bench measures nothing
    options = {"@context": document["@context"], **signed["proof"]}
    del options["proofValue"]

    sign_s = best_seconds(
        lambda: sign(
            document, key_pair=pair, verification_method=VERIFICATION_METHOD, created=CREATED
        ),
        rounds=rounds,
    )
    verify_s = best_seconds(lambda: verify(signed, public_key=pair.public_key), rounds=rounds)
    rdf_s = best_seconds(lambda: to_rdf(document), rounds=rounds)
    quads = to_rdf(document)
    canon_s = best_seconds(lambda: canonicalize(quads), rounds=rounds)
    pyld_s = best_seconds(lambda: pyld_canonical(document), rounds=max(2, rounds // 2))
    signature = pair.sign(b"\0" * 64)
    pyld_verify_s = (
        pyld_s
        + best_seconds(lambda: pyld_canonical(options), rounds=max(2, rounds // 2))
        + best_seconds(lambda: pair.public_key.verify(signature, b"\0" * 64), rounds=rounds)
    )

    size = len(json.dumps(signed).encode())
    print(f"\n{name}: {size:,} bytes signed, {len(quads)} quads")
    print(f"  sign (eddsa-rdfc-2022)           {1 / sign_s:9,.0f}/s  {sign_s * 1e6:8.0f} us")
    print(f"  verify (safe mode on)            {1 / verify_s:9,.0f}/s  {verify_s * 1e6:8.0f} us")
    print(f"  JSON-LD -> RDF (to_rdf)          {1 / rdf_s:9,.0f}/s  {rdf_s * 1e6:8.0f} us")
    print(f"  RDFC-1.0 (canonicalize)          {1 / canon_s:9,.0f}/s  {canon_s * 1e6:8.0f} us")
    ours = rdf_s + canon_s
    print(f"  pyld normalize, same document    {1 / pyld_s:9,.0f}/s  {pyld_s * 1e6:8.0f} us")
    print(f"  -> canonicalization ratio        {pyld_s / ours:9.1f}x faster than pyld")
    print(
        f"  pyld-based verify (estimate)     {1 / pyld_verify_s:9,.0f}/s  -> ours is "
        f"{pyld_verify_s / verify_s:.1f}x faster"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed batches per figure")
    args = parser.parse_args()
    print(
        f"bench_core {datetime.now(UTC):%Y-%m-%d %H:%M} UTC | {cpu_model()} | "
        f"Python {platform.python_version()} | one process, one thread (per core)"
    )
    pair = Ed25519KeyPair.generate()
    ed25519_s = best_seconds(lambda: pair.sign(b"\0" * 64), rounds=args.rounds)
    signature = pair.sign(b"\0" * 64)
    ed25519_v = best_seconds(
        lambda: pair.public_key.verify(signature, b"\0" * 64), rounds=args.rounds
    )
    print(f"Ed25519 alone: sign {ed25519_s * 1e6:.0f} us, verify {ed25519_v * 1e6:.0f} us")
    measure(
        "realistic OB 3.0 credential (10 alignments, 10 results, 3 evidence)",
        realistic_credential(),
        pair,
        args.rounds,
    )
    measure(
        "typical small credential (3 alignments, 3 results, 1 evidence)",
        realistic_credential(alignments=3, results=3, evidence=1),
        pair,
        args.rounds,
    )


if __name__ == "__main__":
    main()
