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
    "linking": "bench.skill_linking",
    "spans": "bench.span_extraction",
    "mastery": "bench.knowledge_tracing",
    "planning": "bench.path_planning",
    "ask": "bench.ask_evaluation",
    "ask-page": "bench.ask_page",
}


def _sections_of(text: str) -> list[tuple[str, list[str]]]:
    """The file's `## ` sections in order, as (heading, lines), so a partial run keeps the rest."""
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("## "):
            out.append((line, [line]))
        elif out:
            out[-1][1].append(line)
    return out


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
        f"Last measured on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `make bench` "
        f"(`python -m bench --only {','.join(chosen)}`); sections not re-measured in that run "
        "are kept as they were, each with its own date.",
        "",
        f"Machine: {machine()}. The machine is shared and noisy; each figure is the best of "
        "a few runs on one core, and whole runs differ by up to a third (signing has measured "
        "between 2,300/s and 3,400/s on the same code).",
        "",
    ]
    fresh: list[tuple[str, list[str]]] = []
    for name in chosen:
        module = importlib.import_module(SECTIONS[name])
        section: Callable[..., list[str]] = module.section
        if name == "credentials":
            body = section(sample=args.sample, bulk_size=args.bulk)
        else:
            body = section()
        stamp = f"_Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC._"
        fresh.append((body[0], [body[0], "", stamp, *body[1:], ""]))
        print("\n".join(fresh[-1][1]), flush=True)
    # Replace re-measured sections in place (matched by heading, ignoring a trailing
    # parenthesis), keep the others, append new ones at the end.
    key = lambda heading: heading.split(" (")[0].strip()  # noqa: E731
    kept = _sections_of(args.out.read_text()) if args.out.exists() else []
    by_key = {key(h): block for h, block in fresh}
    merged = [(h, by_key.pop(key(h), block)) for h, block in kept]
    merged += [(h, block) for h, block in fresh if key(h) in by_key]
    for _, block in merged:
        lines += block
        if block[-1] != "":
            lines.append("")
    args.out.write_text("\n".join(lines).rstrip() + "\n")


if __name__ == "__main__":
    main()
