"""Rebuild the bundled skill-span model, src/microcred/learning/data/skill_spans.crfsuite.

    .venv/bin/python scripts/train-skill-spans.py [--out PATH]

Trains `microcred.learning.spans.train` on SkillSpan train + dev (Zhang et al., NAACL 2022, MIT)
with the fixed parameters below; L-BFGS over a fixed sentence order is deterministic, so the
same data give the same file. Data are read from ../shared/data/skillspan (override the data
root with MICROCRED_SHARED_DATA).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from pathlib import Path

from microcred.learning import spans

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MICROCRED_SHARED_DATA", ROOT.parent / "shared" / "data"))
OUT = ROOT / "src" / "microcred" / "learning" / "data" / spans.MODEL_RESOURCE
# Chosen on SkillSpan dev with the model trained on train alone (bench/span_extraction.py).
PARAMS: dict[str, float | int | bool] = dict(spans.DEFAULT_PARAMS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = [
        *spans.read_skillspan(DATA / "skillspan" / "json" / "train.json"),
        *spans.read_skillspan(DATA / "skillspan" / "json" / "dev.json"),
    ]
    start = time.perf_counter()
    spans.train(data, args.out, params=PARAMS)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()[:16]
    print(
        f"{args.out}: {len(data)} sentences, {time.perf_counter() - start:.0f} s, "
        f"{args.out.stat().st_size / 1e6:.2f} MB, sha256 {digest}, params {PARAMS}"
    )


if __name__ == "__main__":
    main()
