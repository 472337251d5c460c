"""The `microcred` command against a real, migrated SQLite file."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from microcred import demo
from microcred.cli import app
from microcred.credentials import baking
from microcred.kit.settings import get_settings

runner = CliRunner()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # One demo for the module: seeding takes seconds, and the tests only add to it (issue,
    # verify, rotate a key last), so they can share it.
    tmp_path = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("MICROCRED_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
        monkeypatch.setenv("MICROCRED_ENVIRONMENT", "test")
        monkeypatch.setenv("MICROCRED_SECRET_KEY", "t" * 40)
        monkeypatch.setenv(
            "MICROCRED_KEY_ENCRYPTION_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode()
        )
        monkeypatch.setenv("MICROCRED_DATA_DIR", str(tmp_path / "var"))
        # The semantic model is the `ml` tests' business; the demo's postings link with the
        # dependency-free embedder here so the CLI tests stay fast.
        monkeypatch.setenv("MICROCRED_EMBEDDER", "hashed")
        get_settings.cache_clear()
        result = runner.invoke(app, ["demo", "--no-serve", "--port", "8123"])
        assert result.exit_code == 0, result.output
        assert "demo-university" in result.output and "API token" in result.output
        assert "/s/" in result.output and "/ask" in result.output
        yield tmp_path
        get_settings.cache_clear()


def test_ask_answers_from_the_demo_knowledge_base(seeded: Path) -> None:
    result = runner.invoke(app, ["ask", "How much does SQL Foundations cost?"])
    assert result.exit_code == 0, result.output
    assert "150.00 EUR" in result.output and "[1] SQL Foundations:" in result.output
    off = runner.invoke(app, ["ask", "What is the capital of Peru?", "--persona", "employer"])
    assert off.exit_code == 0 and "do not cover this question" in off.output
    bad = runner.invoke(app, ["ask", "Hello?", "--persona", "ceo"])
    assert bad.exit_code == 2 and "unknown persona" in bad.output
    purged = runner.invoke(app, ["purge-survey-responses"])
    assert purged.exit_code == 0 and "job(s) run" in purged.output


def test_issue_then_verify_json_png_and_revoked(seeded: Path) -> None:
    out = seeded / "cred.json"
    result = runner.invoke(
        app,
        [
            "issue",
            "--institution",
            demo.DEMO_SLUG,
            "--achievement",
            "sql-foundations",
            "--learner",
            "new.learner@example.org",
            "--create-learner",
            "New Learner",
            "--result",
            "scaled-score=88",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    credential = json.loads(out.read_text())
    assert credential["credentialSubject"]["result"][0]["value"] == "88"

    verified = runner.invoke(app, ["verify", str(out)])
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith("VALID") and "Signature" in verified.output

    png = seeded / "badge.png"
    png.write_bytes(
        baking.bake_png(baking.default_badge_png(size=32, label="x"), json.dumps(credential))
    )
    assert runner.invoke(app, ["verify", str(png), "--json"]).exit_code == 0

    tampered = seeded / "tampered.json"
    credential["name"] = "Something grander"
    tampered.write_text(json.dumps(credential))
    result = runner.invoke(app, ["verify", str(tampered)])
    assert result.exit_code == 1 and result.output.startswith("INVALID")


def test_verify_usage_errors_exit_2(seeded: Path) -> None:
    assert runner.invoke(app, ["verify", str(seeded / "missing.json")]).exit_code == 2
    bad_doc = seeded / "doc.json"
    bad_doc.write_text("[1, 2]")
    any_file = seeded / "x.json"
    any_file.write_text("{}")
    assert runner.invoke(app, ["verify", str(any_file), "--document", str(bad_doc)]).exit_code == 2
    assert runner.invoke(app, ["verify", str(any_file)]).exit_code == 1


def test_issue_errors_and_key_rotation(seeded: Path) -> None:
    result = runner.invoke(
        app,
        [
            "issue",
            "--institution",
            demo.DEMO_SLUG,
            "--achievement",
            "no-such-thing",
            "--learner",
            "amira.haddad@example.org",
            "--out",
            str(seeded / "x.json"),
        ],
    )
    assert result.exit_code == 1 and "no-such-thing" in result.output
    assert (
        runner.invoke(
            app,
            [
                "issue",
                "--institution",
                demo.DEMO_SLUG,
                "--achievement",
                "x",
                "--learner",
                "a@b.org",
                "--result",
                "novalue",
                "--out",
                "x",
            ],
        ).exit_code
        == 2
    )
    rotated = runner.invoke(app, ["keys", "rotate", "--institution", demo.DEMO_SLUG])
    assert rotated.exit_code == 0 and "new signing key z6Mk" in rotated.output
    assert runner.invoke(app, ["keys", "rotate", "--institution", "nope"]).exit_code == 2
    again = runner.invoke(app, ["demo", "--no-serve"])
    assert again.exit_code == 0 and "already seeded" in again.output
    assert runner.invoke(app, ["db", "check"]).exit_code == 0
