"""The skills framework: ESCO import (validation, all-or-nothing, re-import), the bundled subset,
lexical search, occupations with their skills, the JSON routes and the `import-esco` command."""

from __future__ import annotations

import base64
import csv
import gzip
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from microcred.catalog import framework
from microcred.catalog.models import FrameworkSkill, Occupation, OccupationSkill, SkillHierarchy
from microcred.cli import app
from microcred.kit import audit
from microcred.kit.errors import Forbidden, InvalidInput, NotFound
from microcred.kit.principal import SYSTEM
from microcred.kit.settings import get_settings
from tests import factories

MINI = Path(__file__).resolve().parents[1] / "data" / "esco_mini"
DATA_ANALYST = "http://data.europa.eu/esco/occupation/d3edb8f8-3a06-47a0-8fb9-9b212c006aa2"
DATA_ANALYST_ID = DATA_ANALYST.rsplit("/", 1)[1]
STATS = "http://data.europa.eu/esco/skill/11111111-1111-4111-8111-111111111111"


def count(db: Session, model: type[object]) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def mini(db: Session, **kwargs: object) -> framework.FrameworkImport:
    return framework.import_esco(db, directory=MINI, actor=SYSTEM, version="mini", **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """A writable copy of the mini release, to break in one place per test."""
    target = tmp_path / "esco-v9.9"
    shutil.copytree(MINI, target)
    return target


def edit(path: Path, change: Callable[[list[list[str]]], object]) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    change(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


# --- import -----------------------------------------------------------------------------------


def test_import_counts_writes_and_audits(db: Session) -> None:
    result = mini(db)
    assert (result.skills, result.skill_groups, result.occupations) == (5, 2, 2)
    assert (result.essential, result.optional, result.hierarchy_links) == (3, 3, 4)
    assert result.skipped_relations == result.skipped_links == 0
    assert result.version.startswith("mini+") and len(result.version) == 13
    assert framework.framework_version(db) == result.version
    assert count(db, FrameworkSkill) == 7 and count(db, Occupation) == 2
    assert count(db, OccupationSkill) == 6 and count(db, SkillHierarchy) == 4
    python = framework.framework_skills(db, uris=[factories.PYTHON_SKILL])[factories.PYTHON_SKILL]
    assert python.alt_labels == ["Python", "Python 3"] and python.skill_type == "knowledge"
    assert [s.uri for s in framework.all_framework_skills(db)] == sorted(
        s.uri for s in framework.all_framework_skills(db)
    )
    assert all(not s.is_group for s in framework.all_framework_skills(db))
    events = db.scalars(
        select(audit.AuditEvent).where(audit.AuditEvent.action == "framework.import")
    ).all()
    assert len(events) == 1 and events[0].after is not None
    assert events[0].after["occupations"] == 2 and events[0].after["source"] == "esco_mini"


def test_version_comes_from_the_folder_name_and_the_content(db: Session, release: Path) -> None:
    first = framework.import_esco(db, directory=release, actor=SYSTEM)
    assert first.version.startswith("9.9+")
    edit(release / "skills_en.csv", lambda rows: rows[1].__setitem__(4, "Python"))
    second = framework.import_esco(db, directory=release, actor=SYSTEM)
    assert second.version.startswith("9.9+") and second.version != first.version


def test_reimport_replaces_the_framework_and_keeps_alignments(db: Session, release: Path) -> None:
    t = factories.tenant(db)
    mini(db)
    achievement = factories.achievement(db, t)
    edit(release / "occupations_en.csv", lambda rows: rows.pop())  # statistician goes
    edit(
        release / "occupationSkillRelations.csv",
        lambda rows: rows.__setitem__(slice(None), [r for r in rows if "ac8b3cd1" not in r[0]]),
    )
    result = framework.import_esco(db, directory=release, actor=SYSTEM)
    assert result.occupations == 1 and count(db, Occupation) == 1
    assert count(db, OccupationSkill) == 4
    db.expire_all()
    assert [a.target_url for a in achievement.alignments] == [
        factories.PYTHON_SKILL,
        factories.SQL_SKILL,
    ]


def test_relations_may_come_gzipped(db: Session, release: Path) -> None:
    plain = release / "occupationSkillRelations.csv"
    (release / "occupationSkillRelations.csv.gz").write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    assert framework.import_esco(db, directory=release, actor=SYSTEM).essential == 3


def test_the_full_release_layout_quirks(db: Session, release: Path) -> None:
    """A byte order mark, CRLF line ends and alternative labels in " | " form all read."""
    path = release / "skills_en.csv"
    text = path.read_text(encoding="utf-8").replace("Python\nPython 3", "Python | Python 3")
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    framework.import_esco(db, directory=release, actor=SYSTEM)
    python = framework.framework_skills(db, uris=[factories.PYTHON_SKILL])[factories.PYTHON_SKILL]
    assert python.alt_labels == ["Python", "Python 3"]


BROKEN: list[tuple[str, Callable[[Path], object], str]] = [
    (
        "missing file",
        lambda d: (d / "skillGroups_en.csv").unlink(),
        "skillGroups_en.csv: is missing from the release",
    ),
    (
        "missing relations",
        lambda d: (d / "occupationSkillRelations.csv").unlink(),
        "occupationSkillRelations.csv: is missing",
    ),
    (
        "missing column",
        lambda d: edit(d / "occupations_en.csv", lambda r: r[0].__setitem__(2, "isco")),
        "occupations_en.csv, line 1, column iscoGroup: required column(s) missing: iscoGroup",
    ),
    (
        "bad uri",
        lambda d: edit(d / "skills_en.csv", lambda r: r[3].__setitem__(1, "http://x.org/s/1")),
        # Line 4: the header and Python's two-line alternative labels come first.
        "skills_en.csv, line 5, column conceptUri: 'http://x.org/s/1' is not an ESCO concept URI",
    ),
    (
        "bad relation type",
        lambda d: edit(
            d / "occupationSkillRelations.csv", lambda r: r[2].__setitem__(1, "required")
        ),
        "occupationSkillRelations.csv, line 3, column relationType: 'required' is not essential",
    ),
    (
        "bad skill type",
        lambda d: edit(d / "skills_en.csv", lambda r: r[2].__setitem__(2, "ability")),
        "skills_en.csv, line 4, column skillType: 'ability' is not skill/competence",
    ),
    (
        "empty label",
        lambda d: edit(d / "occupations_en.csv", lambda r: r[1].__setitem__(3, " ")),
        "occupations_en.csv, line 2, column preferredLabel: is empty",
    ),
    (
        "duplicate concept",
        lambda d: edit(d / "skillGroups_en.csv", lambda r: r[2].__setitem__(1, r[1][1])),
        "skillGroups_en.csv, line 3, column conceptUri: http://data.europa.eu/esco/skill/aaaaaaaa",
    ),
    (
        "duplicate relation",
        lambda d: edit(d / "occupationSkillRelations.csv", lambda r: r.append(r[1])),
        "occupationSkillRelations.csv, line 8, column skillUri:",
    ),
    (
        "self link",
        lambda d: edit(
            d / "broaderRelationsSkillPillar.csv", lambda r: r[1].__setitem__(3, r[1][1])
        ),
        "broaderRelationsSkillPillar.csv, line 2, column broaderUri: a concept cannot be broader",
    ),
    (
        "ragged row",
        lambda d: edit(d / "occupations_en.csv", lambda r: r[2].pop()),
        "occupations_en.csv, line 4: has 7 fields where the header has 8",
    ),
    (
        "not utf-8",
        lambda d: (d / "skills_en.csv").write_bytes(
            (d / "skills_en.csv").read_bytes().replace(b"SQL", b"S\xe9L")
        ),
        "skills_en.csv, line 4: is not UTF-8 text",
    ),
    (
        "bad isco group",
        lambda d: edit(d / "occupations_en.csv", lambda r: r[1].__setitem__(2, "25a1")),
        "occupations_en.csv, line 2, column iscoGroup: '25a1' is not an ISCO-08 code",
    ),
]


@pytest.mark.parametrize(("case", "breakage", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_release_names_file_line_and_column_and_writes_nothing(
    db: Session, release: Path, case: str, breakage: Callable[[Path], object], message: str
) -> None:
    before = mini(db)
    breakage(release)
    with pytest.raises(framework.FrameworkDataError) as caught:
        framework.import_esco(db, directory=release, actor=SYSTEM)
    assert message in caught.value.detail, caught.value.detail
    assert isinstance(caught.value, ValueError)
    assert caught.value.status == 422
    problem = caught.value.to_problem()
    assert problem["errors"][0]["file"] in caught.value.detail
    assert framework.framework_version(db) == before.version
    assert count(db, OccupationSkill) == 6


def test_many_problems_are_counted_and_the_first_ones_listed(db: Session, release: Path) -> None:
    def every_type(rows: list[list[str]]) -> None:
        for row in rows[1:]:
            row[1] = "sometimes"

    for _ in range(5):
        edit(release / "occupationSkillRelations.csv", lambda r: r.extend(r[1:]))
    edit(release / "occupationSkillRelations.csv", every_type)
    with pytest.raises(framework.FrameworkDataError) as caught:
        framework.import_esco(db, directory=release, actor=SYSTEM)
    assert caught.value.detail.endswith("(and 191 more problems)")
    assert len(caught.value.errors) == framework.MAX_ERRORS


def test_dangling_relations_are_skipped_and_reported_or_refused_when_strict(
    db: Session, release: Path
) -> None:
    ghost = "http://data.europa.eu/esco/occupation/a9e54177-a185-404d-b6e6-15663d31137e"
    edit(
        release / "occupationSkillRelations.csv",
        lambda r: r.append([ghost, "essential", "knowledge", STATS]),
    )
    edit(
        release / "broaderRelationsSkillPillar.csv",
        lambda r: r.append(["SkillGroup", r[4][1], "SkillGroup", STATS.replace("1111", "9999")]),
    )
    result = framework.import_esco(db, directory=release, actor=SYSTEM)
    assert (result.skipped_relations, result.skipped_links) == (1, 1)
    assert result.essential == 3 and result.hierarchy_links == 4
    assert (
        f"line 8, column occupationUri: unknown occupation {ghost}" in (result.skipped_examples[0])
    )
    with pytest.raises(framework.FrameworkDataError, match="line 8, column occupationUri"):
        framework.import_esco(db, directory=release, actor=SYSTEM, strict=True)


def test_only_the_platform_imports_and_the_directory_must_exist(
    db: Session, tmp_path: Path
) -> None:
    t = factories.tenant(db)
    with pytest.raises(Forbidden):
        framework.import_esco(db, directory=MINI, actor=t.admin)
    with pytest.raises(framework.FrameworkDataError, match="is not a directory"):
        framework.import_esco(db, directory=tmp_path / "nowhere", actor=SYSTEM)
    with pytest.raises(InvalidInput, match="version"):
        framework.import_esco(db, directory=MINI, actor=SYSTEM, version="1.1.1 final")
    assert framework.framework_version(db) is None


def test_the_bundled_subset_loads_once(db: Session) -> None:
    # Any actor may fill an empty framework with the package's own subset (the demo's admin).
    admin = factories.tenant(db).admin
    result = framework.load_bundled_framework(db, actor=admin)
    assert result is not None and result.version.startswith("1.1.1+")
    assert (result.occupations, result.skill_groups) == (94, 360)
    assert result.skipped_relations == result.skipped_links == 0
    assert framework.load_bundled_framework(db, actor=admin) is None
    assert framework.load_bundled_framework(db, actor=SYSTEM) is None
    detail = framework.get_occupation(db, uri=DATA_ANALYST)
    assert detail.occupation.label == "data analyst" and len(detail.essential) > 10
    assert framework.search_occupations(db, query="data scien", limit=1)[0].label == (
        "data scientist"
    )


def test_the_bundled_subset_is_what_the_script_makes(tmp_path: Path) -> None:
    """The shipped folder is reproducible from the full release (when it is at hand)."""
    source = Path(os.environ.get("MICROCRED_ESCO_RELEASE", "/work/shared/data/esco-v1.1.1"))
    if not (source / "skills_en.csv").exists():
        pytest.skip("the full ESCO release is not here")
    import runpy

    script = Path(__file__).resolve().parents[2] / "scripts" / "make-esco-subset.py"
    module = runpy.run_path(str(script))
    module["main"](source, tmp_path)
    for path in sorted(framework.bundled_directory().glob("*.csv")):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


# --- queries ----------------------------------------------------------------------------------


def test_skill_search_ranks_labels_then_alternative_labels(db: Session) -> None:
    assert framework.search_framework_skills(db, query="data", limit=10) == []  # no framework
    mini(db)
    hits = framework.search_framework_skills(db, query="DATA", limit=10)
    # A whole alternative label ("data" for statistics) beats alternative labels that start
    # with it (the shorter first); a preferred label that only ends with it comes after.
    assert [(h.label, h.matched) for h in hits] == [
        ("statistics", "data"),
        ("perform data mining", "data mining"),
        ("visualise data", "data visualisation"),
    ]
    sql = framework.search_framework_skills(db, query="structured query", limit=5)
    assert [(h.label, h.matched) for h in sql] == [("SQL", "structured query language")]
    assert [h.label for h in framework.search_framework_skills(db, query="py", limit=5)] == [
        "Python (computer programming)"
    ]
    assert framework.search_framework_skills(db, query="   ", limit=5) == []
    assert framework.search_framework_skills(db, query="mining data", limit=5)[0].label == (
        "perform data mining"
    )
    assert framework.search_framework_skills(db, query="py", limit=5)[0].kind == "knowledge"
    assert framework.search_framework_skills(db, query="computers", limit=5) == []
    groups = framework.search_framework_skills(db, query="computers", limit=5, include_groups=True)
    assert [(g.label, g.kind) for g in groups] == [("working with computers", "group")]


def test_occupation_search_and_detail(db: Session) -> None:
    mini(db)
    assert [o.label for o in framework.search_occupations(db, query="stat", limit=5)] == [
        "statistician"
    ]
    found = framework.search_occupations(db, query="analyst of", limit=5)
    assert [(o.label, o.matched, o.kind) for o in found] == [
        ("data analyst", "analyst of data", "2511")
    ]
    detail = framework.get_occupation(db, uri=framework.occupation_uri(DATA_ANALYST_ID))
    assert [s.label for s in detail.essential] == ["SQL", "statistics"]
    assert [s.label for s in detail.optional] == [
        "Python (computer programming)",
        "visualise data",
    ]
    with pytest.raises(NotFound):
        framework.get_occupation(db, uri=DATA_ANALYST.replace("d3ed", "ffff"))


def test_search_index_follows_a_reimport(db: Session, release: Path) -> None:
    mini(db)
    assert framework.search_occupations(db, query="statistician", limit=5)
    edit(release / "occupations_en.csv", lambda rows: rows[2].__setitem__(3, "data statistician"))
    framework.import_esco(db, directory=release, actor=SYSTEM)
    assert [o.label for o in framework.search_occupations(db, query="statistician", limit=5)] == [
        "data statistician"
    ]


# --- JSON routes ------------------------------------------------------------------------------


def test_api_searches_and_shows_occupations_and_skills(db: Session, client: TestClient) -> None:
    t = factories.tenant(db)
    mini(db)
    found = client.get("/api/v1/occupations", params={"q": "data"}, headers=t.headers)
    assert found.status_code == 200
    assert found.json()[0] == {
        "id": DATA_ANALYST_ID,
        "uri": DATA_ANALYST,
        "label": "data analyst",
        "isco_group": "2511",
        "description": "Data analysts import, inspect, clean and model data.",
        "matched": None,
    }
    one = client.get(f"/api/v1/occupations/{DATA_ANALYST_ID}", headers=t.headers)
    assert one.status_code == 200
    body = one.json()
    assert body["alt_labels"] == ["data analysis specialist", "analyst of data"]
    assert [s["label"] for s in body["essential_skills"]] == ["SQL", "statistics"]
    assert body["optional_skills"][0]["uri"] == factories.PYTHON_SKILL
    skills = client.get("/api/v1/skills", params={"q": "sql", "limit": 1}, headers=t.headers)
    assert skills.status_code == 200
    assert skills.json() == [
        {
            "uri": factories.SQL_SKILL,
            "label": "SQL",
            "skill_type": "knowledge",
            "description": "The query language SQL.",
            "matched": None,
        }
    ]


def test_api_refuses_bad_input_as_problem_details(db: Session, client: TestClient) -> None:
    t = factories.tenant(db)
    mini(db)
    missing = client.get(f"/api/v1/occupations/{DATA_ANALYST_ID[:-4]}ffff", headers=t.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "no occupation" in missing.json()["detail"]
    cases: list[tuple[str, dict[str, str | int]]] = [
        ("/api/v1/occupations/not-a-uuid", {}),
        ("/api/v1/occupations", {}),
        ("/api/v1/occupations", {"q": ""}),
        ("/api/v1/skills", {"q": "x" * 101}),
        ("/api/v1/skills", {"q": "sql", "limit": 0}),
    ]
    for path, params in cases:
        refused = client.get(path, params=params, headers=t.headers)
        assert refused.status_code == 422, (path, params)
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/skills", params={"q": "sql"}).status_code == 401


# --- the command ------------------------------------------------------------------------------


runner = CliRunner()


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from microcred.kit import migrate

    monkeypatch.setenv("MICROCRED_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MICROCRED_ENVIRONMENT", "test")
    monkeypatch.setenv("MICROCRED_SECRET_KEY", "t" * 40)
    monkeypatch.setenv(
        "MICROCRED_KEY_ENCRYPTION_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode()
    )
    monkeypatch.setenv("MICROCRED_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    migrate.upgrade()
    yield tmp_path
    get_settings.cache_clear()


def test_cli_imports_and_reports(cli_database: Path, release: Path) -> None:
    result = runner.invoke(app, ["import-esco", str(release)])
    assert result.exit_code == 0, result.output
    assert "imported ESCO 9.9+" in result.output
    assert "5 skills, 2 skill groups, 2 occupations, 3 essential and 3 optional" in result.output


def test_cli_refuses_a_broken_release_in_one_line(cli_database: Path, release: Path) -> None:
    edit(release / "occupationSkillRelations.csv", lambda r: r[2].__setitem__(1, "required"))
    result = runner.invoke(app, ["import-esco", str(release)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the ESCO release cannot be imported")
    assert "occupationSkillRelations.csv, line 3, column relationType" in lines[0]
