"""The skills framework: importing an ESCO CSV release, and the lexical queries over it.

An import reads the official ESCO CSV layout (``skills_en.csv``, ``skillGroups_en.csv``,
``occupations_en.csv``, ``occupationSkillRelations.csv`` or ``.csv.gz``,
``broaderRelationsSkillPillar.csv``), validates every file completely before touching the
database, then replaces the framework in one transaction (delete, bulk insert). Achievements'
alignments keep their skill URIs as text, so a re-import never breaks them.

The stored version is the release's own ("1.1.1") plus a fingerprint of the content
("1.1.1+3f2a9c1d"): two different subsets of one release must never share a version, because
caches (the label index here, the embedding index in ``learning``) are keyed by it.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from microcred.catalog import repository as repo
from microcred.catalog.models import FrameworkSkill, Occupation
from microcred.kit import audit
from microcred.kit.errors import Forbidden, InvalidInput, NotFound
from microcred.kit.principal import Principal

ESCO_BASE = "http://data.europa.eu/esco/"
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
SKILL_URI = re.compile(rf"^http://data\.europa\.eu/esco/skill/{_UUID}$")
# Skill groups are ESCO skill concepts or ISCED-F fields of education (two to four digits).
GROUP_URI = re.compile(rf"^http://data\.europa\.eu/esco/(?:skill/{_UUID}|isced-f/[0-9]{{2,4}})$")
OCCUPATION_URI = re.compile(rf"^http://data\.europa\.eu/esco/occupation/{_UUID}$")
OCCUPATION_PREFIX = ESCO_BASE + "occupation/"
SKILL_TYPES = frozenset({"skill/competence", "knowledge", ""})
RELATION_TYPES = ("essential", "optional")
VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,10}$")
BUNDLED_VERSION = "1.1.1"
# Enough to fix a file in one go without flooding a terminal or a problem document.
MAX_ERRORS = 20
MAX_LABEL = 400
MAX_URI = 200


class FrameworkDataError(InvalidInput, ValueError):
    """A release that cannot be imported; `errors` lists each problem by file, line, column."""


@dataclass(frozen=True, slots=True)
class FileProblem:
    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return (
            f"{where}, column {self.column}: {self.message}"
            if self.column
            else (f"{where}: {self.message}")
        )

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "detail": self.message}


@dataclass(frozen=True, slots=True)
class FrameworkImport:
    """What an import wrote. Skipped rows point at concepts the release itself does not define
    (ESCO v1.1.1 has 67 relations of one withdrawn occupation and 7 links to absent groups)."""

    version: str
    skills: int
    skill_groups: int
    occupations: int
    essential: int
    optional: int
    hierarchy_links: int
    skipped_relations: int
    skipped_links: int
    skipped_examples: tuple[str, ...]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "skills": self.skills,
            "skill_groups": self.skill_groups,
            "occupations": self.occupations,
            "essential": self.essential,
            "optional": self.optional,
            "hierarchy_links": self.hierarchy_links,
            "skipped_relations": self.skipped_relations,
            "skipped_links": self.skipped_links,
            "seconds": round(self.seconds, 2),
        }


# --- reading and validating a release ---------------------------------------------------------


@dataclass
class _Problems:
    found: list[FileProblem] = field(default_factory=list)
    total: int = 0

    def add(self, file: str, line: int, column: str, message: str) -> None:
        self.total += 1
        # Past the cap only the count matters: a broken file could otherwise produce a
        # problem per line.
        if len(self.found) < MAX_ERRORS:
            self.found.append(FileProblem(file, line, column, message))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        detail = f"the ESCO release cannot be imported: {self.found[0]}"
        if self.total > 1:
            detail += f" (and {self.total - 1} more problem{'s' if self.total > 2 else ''})"
        raise FrameworkDataError(
            detail, errors=[p.as_dict() for p in self.found], problems=self.total
        )


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    rows: list[tuple[int, dict[str, str]]]


def _relations_file(directory: Path) -> Path | None:
    for name in ("occupationSkillRelations.csv", "occupationSkillRelations.csv.gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def _read(path: Path, required: Sequence[str], problems: _Problems, digest: Any) -> _Table:
    """Rows with the line each starts on (ESCO fields span lines: alt labels are one a line)."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    digest.update(path.name.removesuffix(".gz").encode() + b"\0" + raw)
    name = path.name
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.add(name, line, "", "is not UTF-8 text")
        return _Table(name, [])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        problems.add(name, 1, "", "is empty (a header line is required)")
        return _Table(name, [])
    except csv.Error as exc:
        problems.add(name, 1, "", f"is not CSV ({exc})")
        return _Table(name, [])
    header = [h.strip() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        problems.add(name, 1, missing[0], f"required column(s) missing: {', '.join(missing)}")
        return _Table(name, [])
    rows: list[tuple[int, dict[str, str]]] = []
    start = reader.line_num + 1
    try:
        for record in reader:
            if record and len(record) != len(header):
                problems.add(
                    name, start, "", f"has {len(record)} fields where the header has {len(header)}"
                )
            elif record:
                rows.append((start, dict(zip(header, record, strict=True))))
            start = reader.line_num + 1
    except csv.Error as exc:
        problems.add(name, start, "", f"is not valid CSV ({exc})")
    return _Table(name, rows)


def _labels(value: str) -> list[str]:
    """ESCO separates alternative labels by new lines; the collections' files use " | "."""
    parts = re.split(r"\n| \| ", value)
    return list(dict.fromkeys(p.strip() for p in parts if p.strip()))


def _check_concept(
    table: _Table,
    line: int,
    row: dict[str, str],
    pattern: re.Pattern[str],
    seen: dict[str, str],
    problems: _Problems,
) -> str | None:
    uri = row["conceptUri"].strip()
    if not pattern.match(uri):
        problems.add(table.name, line, "conceptUri", f"{uri!r} is not an ESCO concept URI here")
        return None
    if uri in seen:
        problems.add(table.name, line, "conceptUri", f"{uri} is defined twice (also {seen[uri]})")
        return None
    seen[uri] = f"{table.name} line {line}"
    label = row["preferredLabel"].strip()
    if not label:
        problems.add(table.name, line, "preferredLabel", "is empty")
        return None
    if len(label) > MAX_LABEL:
        problems.add(table.name, line, "preferredLabel", f"is longer than {MAX_LABEL} characters")
        return None
    return uri


@dataclass
class _Release:
    skills: list[dict[str, Any]]
    occupations: list[dict[str, Any]]
    relations: list[dict[str, Any]]
    hierarchy: list[dict[str, Any]]
    fingerprint: str
    groups: int
    essential: int
    optional: int
    skipped_relations: int
    skipped_links: int
    skipped_examples: list[str]


def _parse_release(directory: Path, *, strict: bool, problems: _Problems) -> _Release | None:
    if not directory.is_dir():
        problems.add(str(directory), 0, "", "is not a directory")
        return None
    relations_path = _relations_file(directory)
    paths = {
        "skills": directory / "skills_en.csv",
        "groups": directory / "skillGroups_en.csv",
        "occupations": directory / "occupations_en.csv",
        "hierarchy": directory / "broaderRelationsSkillPillar.csv",
    }
    for path in paths.values():
        if not path.is_file():
            problems.add(path.name, 0, "", "is missing from the release")
    if relations_path is None:
        problems.add("occupationSkillRelations.csv", 0, "", "is missing (nor .csv.gz)")
    if problems.found:
        return None
    assert relations_path is not None
    digest = hashlib.sha256()
    concept = ["conceptUri", "preferredLabel", "altLabels", "description"]
    skills = _read(paths["skills"], [*concept, "skillType", "reuseLevel"], problems, digest)
    groups = _read(paths["groups"], concept, problems, digest)
    occupations = _read(paths["occupations"], [*concept, "iscoGroup"], problems, digest)
    relations = _read(
        relations_path, ["occupationUri", "relationType", "skillUri"], problems, digest
    )
    hierarchy = _read(paths["hierarchy"], ["conceptUri", "broaderUri"], problems, digest)
    if problems.found:
        return None

    seen: dict[str, str] = {}
    skill_rows: list[dict[str, Any]] = []
    for line, row in skills.rows:
        uri = _check_concept(skills, line, row, SKILL_URI, seen, problems)
        skill_type = row["skillType"].strip()
        if skill_type not in SKILL_TYPES:
            problems.add(
                skills.name,
                line,
                "skillType",
                f"{skill_type!r} is not skill/competence or knowledge",
            )
            continue
        if len(row["reuseLevel"].strip()) > 40:
            problems.add(skills.name, line, "reuseLevel", "is longer than 40 characters")
            continue
        if uri:
            skill_rows.append(
                {
                    "uri": uri,
                    "label": row["preferredLabel"].strip(),
                    "alt_labels": _labels(row["altLabels"]),
                    "description": row["description"].strip(),
                    "skill_type": skill_type,
                    "reuse_level": row["reuseLevel"].strip(),
                    "is_group": False,
                }
            )
    if not skills.rows:
        problems.add(skills.name, 2, "", "has no skills")
    for line, row in groups.rows:
        uri = _check_concept(groups, line, row, GROUP_URI, seen, problems)
        if uri:
            skill_rows.append(
                {
                    "uri": uri,
                    "label": row["preferredLabel"].strip(),
                    "alt_labels": _labels(row["altLabels"]),
                    "description": row["description"].strip(),
                    "skill_type": "",
                    "reuse_level": "",
                    "is_group": True,
                }
            )
    occupation_rows: list[dict[str, Any]] = []
    for line, row in occupations.rows:
        uri = _check_concept(occupations, line, row, OCCUPATION_URI, seen, problems)
        isco = row["iscoGroup"].strip()
        if not re.fullmatch(r"[0-9]{1,4}", isco):
            problems.add(occupations.name, line, "iscoGroup", f"{isco!r} is not an ISCO-08 code")
            continue
        if uri:
            occupation_rows.append(
                {
                    "uri": uri,
                    "label": row["preferredLabel"].strip(),
                    "alt_labels": _labels(row["altLabels"]),
                    "description": row["description"].strip(),
                    "isco_group": isco,
                }
            )
    if problems.found:
        return None

    occupation_uris = {r["uri"] for r in occupation_rows}
    skill_uris = {r["uri"] for r in skill_rows}
    # Per missing concept: where it is first referred to, and how many rows refer to it.
    missing: dict[str, list[Any]] = {}
    skipped_relations = skipped_links = 0

    def unknown(file: str, line: int, column: str, message: str) -> None:
        # A dangling reference is the release's own inconsistency, not a malformed file:
        # skipped and reported unless the caller asked for a strict import.
        if strict:
            problems.add(file, line, column, message)
        elif message in missing:
            missing[message][1] += 1
        else:
            missing[message] = [f"{file}, line {line}, column {column}: {message}", 1]

    relation_rows: list[dict[str, Any]] = []
    pairs: dict[tuple[str, str], int] = {}
    counts = dict.fromkeys(RELATION_TYPES, 0)
    for line, row in relations.rows:
        occupation = row["occupationUri"].strip()
        skill = row["skillUri"].strip()
        kind = row["relationType"].strip()
        if not OCCUPATION_URI.match(occupation):
            problems.add(
                relations.name,
                line,
                "occupationUri",
                f"{occupation!r} is not an ESCO occupation URI",
            )
            continue
        if not GROUP_URI.match(skill):
            problems.add(relations.name, line, "skillUri", f"{skill!r} is not an ESCO skill URI")
            continue
        if kind not in counts:
            problems.add(
                relations.name, line, "relationType", f"{kind!r} is not essential or optional"
            )
            continue
        if (occupation, skill) in pairs:
            problems.add(
                relations.name,
                line,
                "skillUri",
                f"{occupation} → {skill} is listed twice (also line {pairs[occupation, skill]})",
            )
            continue
        pairs[occupation, skill] = line
        if occupation not in occupation_uris:
            skipped_relations += 1
            unknown(relations.name, line, "occupationUri", f"unknown occupation {occupation}")
            continue
        if skill not in skill_uris:
            skipped_relations += 1
            unknown(relations.name, line, "skillUri", f"unknown skill {skill}")
            continue
        counts[kind] += 1
        relation_rows.append({"occupation_uri": occupation, "skill_uri": skill, "relation": kind})

    links: dict[tuple[str, str], int] = {}
    hierarchy_rows: list[dict[str, Any]] = []
    for line, row in hierarchy.rows:
        narrower = row["conceptUri"].strip()
        broader = row["broaderUri"].strip()
        bad = next(
            (
                (col, v)
                for col, v in (("conceptUri", narrower), ("broaderUri", broader))
                if not GROUP_URI.match(v)
            ),
            None,
        )
        if bad:
            problems.add(hierarchy.name, line, bad[0], f"{bad[1]!r} is not an ESCO skill URI")
            continue
        if narrower == broader:
            problems.add(
                hierarchy.name, line, "broaderUri", "a concept cannot be broader than itself"
            )
            continue
        if (narrower, broader) in links:
            problems.add(
                hierarchy.name,
                line,
                "broaderUri",
                f"{narrower} → {broader} is listed twice (also line {links[narrower, broader]})",
            )
            continue
        links[narrower, broader] = line
        absent = next(
            (
                (col, v)
                for col, v in (("conceptUri", narrower), ("broaderUri", broader))
                if v not in skill_uris
            ),
            None,
        )
        if absent:
            skipped_links += 1
            unknown(hierarchy.name, line, absent[0], f"unknown skill or group {absent[1]}")
            continue
        hierarchy_rows.append({"skill_uri": narrower, "broader_uri": broader})
    if problems.found:
        return None
    return _Release(
        skills=skill_rows,
        occupations=occupation_rows,
        relations=relation_rows,
        hierarchy=hierarchy_rows,
        fingerprint=digest.hexdigest()[:8],
        groups=len(groups.rows),
        essential=counts["essential"],
        optional=counts["optional"],
        skipped_relations=skipped_relations,
        skipped_links=skipped_links,
        skipped_examples=[
            where + (f" ({n} rows)" if n > 1 else "") for where, n in list(missing.values())[:10]
        ],
    )


def _release_version(directory: Path, version: str | None) -> str:
    if version is None:
        found = re.search(r"v?([0-9]+\.[0-9]+(?:\.[0-9]+)?)$", directory.resolve().name)
        version = found.group(1) if found else "custom"
    if not VERSION.match(version):
        raise InvalidInput(
            f"version {version!r}: use up to 11 letters, digits, dots and hyphens, e.g. 1.1.1"
        )
    return version


# --- import -----------------------------------------------------------------------------------


def import_esco(
    session: Session,
    *,
    directory: Path,
    actor: Principal,
    version: str | None = None,
    strict: bool = False,
) -> FrameworkImport:
    """Replace the skills framework with the ESCO release in `directory`.

    Every file is validated before anything is written; any problem raises FrameworkDataError
    naming file, line and column. With `strict`, relations and hierarchy links that point at a
    concept the release does not define are errors too; otherwise they are skipped and counted.
    `version` defaults to the one in the directory's name (``esco-v1.1.1`` → ``1.1.1``).
    """
    if actor.kind != "system":
        # One framework serves every institution, so no institution's account may replace it.
        raise Forbidden("only the platform (the import-esco command) imports a skills framework")
    return _import(session, directory=directory, actor=actor, version=version, strict=strict)


def _import(
    session: Session, *, directory: Path, actor: Principal, version: str | None, strict: bool
) -> FrameworkImport:
    started = time.perf_counter()
    release_version = _release_version(directory, version)
    problems = _Problems()
    release = _parse_release(directory, strict=strict, problems=problems)
    problems.raise_if_any()
    assert release is not None
    stored = f"{release_version}+{release.fingerprint}"
    before = repo.framework_version(session)
    repo.delete_framework(session)
    repo.insert_framework(
        session,
        skills=[{**r, "framework_version": stored} for r in release.skills],
        occupations=[{**r, "framework_version": stored} for r in release.occupations],
        relations=release.relations,
        hierarchy=release.hierarchy,
    )
    result = FrameworkImport(
        version=stored,
        skills=len(release.skills) - release.groups,
        skill_groups=release.groups,
        occupations=len(release.occupations),
        essential=release.essential,
        optional=release.optional,
        hierarchy_links=len(release.hierarchy),
        skipped_relations=release.skipped_relations,
        skipped_links=release.skipped_links,
        skipped_examples=tuple(release.skipped_examples),
        seconds=time.perf_counter() - started,
    )
    audit.record(
        session,
        actor=actor,
        action="framework.import",
        subject_type="skills_framework",
        subject_id="esco",
        institution_id=actor.institution_id,
        before={"version": before} if before else None,
        after={**result.as_dict(), "source": directory.resolve().name},
    )
    session.flush()
    return result


def bundled_directory() -> Path:
    """The demo subset shipped in the package (see data/ATTRIBUTION.md)."""
    with as_file(files("microcred.catalog") / "data" / "esco") as path:
        return Path(path)


def load_bundled_framework(session: Session, *, actor: Principal) -> FrameworkImport | None:
    """Import the bundled subset unless a framework is already there (then None).

    A framework already present is left alone even when it is not the subset: an operator who
    imported the full release must not lose it to the demo seed. Since this only ever fills an
    empty framework with the package's own data, any actor may do it (the demo seeds it as the
    demo institution's admin); the import is audited under that actor.
    """
    if repo.framework_version(session) is not None:
        return None
    return _import(
        session, directory=bundled_directory(), actor=actor, version=BUNDLED_VERSION, strict=True
    )


# --- lexical search ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Concept:
    """A skill or occupation as search returns it; `matched` is the alternative label that
    matched when the preferred one did not."""

    uri: str
    label: str
    description: str
    kind: str
    matched: str | None = None


@dataclass(frozen=True, slots=True)
class _Entry:
    uri: str
    label: str
    description: str
    kind: str
    names: tuple[str, ...]  # lower-cased; the preferred label first
    haystack: str  # the names joined, for one fast substring test per concept
    originals: tuple[str, ...]


class _Index:
    """Every concept's names in memory, keyed by the content-addressed framework version, so a
    search costs one small query (the version) plus a scan in memory, never 14,000 rows."""

    def __init__(self, entries: list[_Entry]) -> None:
        self.entries = entries

    def search(self, query: str, limit: int) -> list[Concept]:
        needle = " ".join(query.lower().split())
        if not needle:
            return []
        words = needle.split(" ")
        ranked: list[tuple[tuple[int, int, int, str], Concept]] = []
        for entry in self.entries:
            if needle in entry.haystack:
                best = min(
                    (_rank(name, needle, position), position)
                    for position, name in enumerate(entry.names)
                    if needle in name
                )
            elif len(words) > 1 and all(w in entry.haystack for w in words):
                hits = [p for p, name in enumerate(entry.names) if all(w in name for w in words)]
                if not hits:
                    continue
                best = (8, hits[0])
            else:
                continue
            tier, position = best
            matched = entry.originals[position] if position else None
            ranked.append(
                (
                    (tier, len(entry.names[position]), position, entry.label.lower()),
                    Concept(entry.uri, entry.label, entry.description, entry.kind, matched),
                )
            )
        ranked.sort(key=lambda pair: pair[0])
        return [concept for _, concept in ranked[:limit]]


def _rank(name: str, needle: str, position: int) -> int:
    """Lower is better: the whole name, then a prefix, then a word's prefix, then anywhere;
    at the first two steps the preferred label beats an alternative one (so "data" finds
    "data mining" before "statistics", whose alternative label is "data")."""
    alt = 1 if position else 0
    if name == needle:
        return 0 + 2 * alt
    if name.startswith(needle):
        return 1 + 2 * alt
    if f" {needle}" in name or f"({needle}" in name or f"-{needle}" in name:
        return 4 + alt
    return 6 + alt


_indexes: OrderedDict[tuple[str, str], _Index] = OrderedDict()
_lock = threading.Lock()
_CACHED = 8


def _index(kind: str, version: str, load: Any) -> _Index:
    key = (kind, version)
    with _lock:
        found = _indexes.get(key)
        if found is not None:
            _indexes.move_to_end(key)
            return found
    built = _Index(list(load()))
    with _lock:
        _indexes[key] = built
        while len(_indexes) > _CACHED:
            _indexes.popitem(last=False)
    return built


def _entries(rows: Iterable[tuple[str, str, list[Any], str, str]]) -> Iterator[_Entry]:
    for uri, label, alt_labels, description, kind in rows:
        originals = (label, *(str(a) for a in alt_labels if str(a) != label))
        names = tuple(n.lower() for n in originals)
        yield _Entry(uri, label, description, kind, names, "\n".join(names), originals)


def search_framework_skills(
    session: Session, *, query: str, limit: int = 20, include_groups: bool = False
) -> list[Concept]:
    """Skills whose preferred or alternative label contains the query (case-insensitive),
    whole-name and prefix matches first."""
    version = repo.framework_version(session)
    if version is None:
        return []
    index = _index(
        "groups" if include_groups else "skills",
        version,
        lambda: _entries(repo.skill_names(session, include_groups=include_groups)),
    )
    return index.search(query, limit)


def search_occupations(session: Session, *, query: str, limit: int = 20) -> list[Concept]:
    """Occupations by preferred or alternative label, whole-name and prefix matches first."""
    version = repo.framework_version(session)
    if version is None:
        return []
    index = _index("occupations", version, lambda: _entries(repo.occupation_names(session)))
    return index.search(query, limit)


# --- reading the framework --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OccupationDetail:
    occupation: Occupation
    essential: list[FrameworkSkill]
    optional: list[FrameworkSkill]


def occupation_uri(occupation_id: str) -> str:
    """The concept URI of an occupation named by the UUID at the end of it (URL-safe)."""
    return OCCUPATION_PREFIX + occupation_id.lower()


def get_occupation(session: Session, *, uri: str) -> OccupationDetail:
    occupation = repo.occupation(session, uri=uri)
    if occupation is None:
        raise NotFound(f"no occupation {uri} in the skills framework")
    essential: list[FrameworkSkill] = []
    optional: list[FrameworkSkill] = []
    for skill, relation in repo.occupation_skills(session, uri=uri):
        (essential if relation == "essential" else optional).append(skill)
    return OccupationDetail(occupation, essential, optional)


def framework_skills(session: Session, *, uris: Iterable[str]) -> dict[str, FrameworkSkill]:
    """The skills among `uris` that the framework knows, by URI (unknown ones are absent)."""
    return repo.framework_skills(session, uris=set(uris))


def all_framework_skills(session: Session) -> list[FrameworkSkill]:
    """Every skill and knowledge concept (no groups), ordered by URI, for building indexes."""
    return repo.all_framework_skills(session)


def framework_version(session: Session) -> str | None:
    """The imported framework's version ("1.1.1+<fingerprint>"), or None before any import."""
    return repo.framework_version(session)
