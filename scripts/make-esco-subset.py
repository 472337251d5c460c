#!/usr/bin/env python3
"""Build the demo ESCO subset bundled in src/microcred/catalog/data/esco/ from a full release.

    python scripts/make-esco-subset.py /work/shared/data/esco-v1.1.1 src/microcred/catalog/data/esco

The subset: the occupations of ISCO groups 25 (ICT professionals) and 35 (ICT technicians) plus
a few data occupations (OCCUPATION_LABELS), all their essential and optional skills, the 1,201
skills of ESCO's digital skills collection, every skill group and broader skill those skills
sit under, and the hierarchy links among the chosen concepts. Files keep the release's names
and the columns the importer reads (see COLUMNS); rows keep the release's order, so the output
is byte-for-byte reproducible.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from pathlib import Path

ISCO_PREFIXES = ("25", "35")
OCCUPATION_LABELS = (
    "data analyst",
    "data scientist",
    "statistical assistant",
    "statistician",
    "business intelligence manager",
    "ICT business analyst",
)
# The release's columns the importer uses, and the few that keep a row self-explanatory.
# Dropped: hiddenLabels, inScheme, scopeNote, definition, modifiedDate and the like (size).
COLUMNS = {
    "skills_en.csv": [
        "conceptType",
        "conceptUri",
        "skillType",
        "reuseLevel",
        "preferredLabel",
        "altLabels",
        "status",
        "description",
    ],
    "skillGroups_en.csv": [
        "conceptType",
        "conceptUri",
        "preferredLabel",
        "altLabels",
        "status",
        "description",
        "code",
    ],
    "occupations_en.csv": [
        "conceptType",
        "conceptUri",
        "iscoGroup",
        "preferredLabel",
        "altLabels",
        "status",
        "description",
        "code",
    ],
    "occupationSkillRelations.csv": ["occupationUri", "relationType", "skillType", "skillUri"],
    "broaderRelationsSkillPillar.csv": ["conceptType", "conceptUri", "broaderType", "broaderUri"],
}


def read(path: Path) -> list[dict[str, str]]:
    if not path.exists() and path.with_suffix(".csv.gz").exists():
        path = path.with_suffix(".csv.gz")
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def write(path: Path, rows: list[dict[str, str]]) -> None:
    columns = COLUMNS[path.name]
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def main(source: Path, target: Path) -> None:
    occupations = read(source / "occupations_en.csv")
    skills = read(source / "skills_en.csv")
    groups = read(source / "skillGroups_en.csv")
    relations = read(source / "occupationSkillRelations.csv")
    hierarchy = read(source / "broaderRelationsSkillPillar.csv")
    digital = read(source / "digitalSkillsCollection_en.csv")

    by_label = {o["preferredLabel"]: o["conceptUri"] for o in occupations}
    missing = [label for label in OCCUPATION_LABELS if label not in by_label]
    if missing:
        sys.exit(f"occupations not in the release: {missing}")
    chosen_occupations = {
        o["conceptUri"] for o in occupations if o["iscoGroup"].startswith(ISCO_PREFIXES)
    } | {by_label[label] for label in OCCUPATION_LABELS}
    chosen_relations = [r for r in relations if r["occupationUri"] in chosen_occupations]
    concepts = {r["skillUri"] for r in chosen_relations} | {d["conceptUri"] for d in digital}

    # Everything the chosen skills sit under, up to the pillar's top: skill groups and the
    # broader skills of ESCO's skill-to-skill hierarchy alike.
    broader: dict[str, list[str]] = {}
    for link in hierarchy:
        broader.setdefault(link["conceptUri"], []).append(link["broaderUri"])
    known = {s["conceptUri"] for s in skills} | {g["conceptUri"] for g in groups}
    todo = list(concepts)
    while todo:
        for parent in broader.get(todo.pop(), []):
            if parent in known and parent not in concepts:
                concepts.add(parent)
                todo.append(parent)

    target.mkdir(parents=True, exist_ok=True)
    write(
        target / "occupations_en.csv",
        [o for o in occupations if o["conceptUri"] in chosen_occupations],
    )
    write(target / "skills_en.csv", [s for s in skills if s["conceptUri"] in concepts])
    write(target / "skillGroups_en.csv", [g for g in groups if g["conceptUri"] in concepts])
    write(target / "occupationSkillRelations.csv", chosen_relations)
    write(
        target / "broaderRelationsSkillPillar.csv",
        [h for h in hierarchy if h["conceptUri"] in concepts and h["broaderUri"] in concepts],
    )
    sizes = {p.name: p.stat().st_size for p in sorted(target.glob("*.csv"))}
    print(
        f"{len(chosen_occupations)} occupations, {len(chosen_relations)} relations, "
        f"{len(concepts)} skills and groups; {sum(sizes.values()) / 1e6:.2f} MB",
        sizes,
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
