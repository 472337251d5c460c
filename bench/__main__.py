"""`make bench`: every benchmark section, each beside its reference implementation in the same
run, written to docs/benchmarks.md with the machine, the date and the command.

    python -m bench [--only credentials,irt,cat] [--sample N] [--bulk N] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
from collections.abc import Callable
from pathlib import Path

from bench.credentials import ROOT, machine

SECTIONS = {
    "credentials": "bench.credentials",
    "irt": "bench.irt_calibration",
    "cat": "bench.cat_simulation",
    "pages": "bench.credential_page",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--sample", type=int, default=300, help="credentials for sign/verify")
    parser.add_argument("--bulk", type=int, default=100_000, help="bulk issue size (0: skip)")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections: {', '.join(unknown)}")
    lines = [
        "# Benchmarks",
        "",
        f"Measured on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `make bench` "
        f"(`python -m bench --only {','.join(chosen)}`).",
        "",
        f"Machine: {machine()}. The machine is shared and noisy; each figure is the best of "
        "a few runs on one core, and whole runs differ by up to a third (signing has measured "
        "between 2,300/s and 3,400/s on the same code).",
        "",
    ]
    for name in chosen:
        module = importlib.import_module(SECTIONS[name])
        section: Callable[..., list[str]] = module.section
        if name == "credentials":
            lines += section(sample=args.sample, bulk_size=args.bulk)
        else:
            lines += section()
        lines.append("")
    args.out.write_text("\n".join(lines).rstrip() + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
