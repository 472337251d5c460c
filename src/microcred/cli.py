"""The `microcred` command."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from microcred.kit.settings import Settings, get_settings

app = typer.Typer(
    help="microcred: Open Badges 3.0 micro-credentials.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
keys_app = typer.Typer(help="Issuer signing keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")

Host = Annotated[str, typer.Option(help="interface to listen on")]
Port = Annotated[int, typer.Option(help="TCP port")]


def _settings_for(host: str, port: int) -> Settings:
    """The public base URL follows --host/--port unless MICROCRED_BASE_URL says otherwise."""
    settings = get_settings()
    if "base_url" not in settings.model_fields_set:
        settings = settings.model_copy(update={"base_url": f"http://{host}:{port}"})
    return settings


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from microcred.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command()
def serve(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Serve the platform (web pages, API, public credential endpoints)."""
    _serve(_settings_for(host, port), host, port)


@app.command()
def demo(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    no_serve: Annotated[bool, typer.Option(help="seed only")] = False,
) -> None:
    """Migrate, seed a demo institution (once), print how to use it, and serve."""
    from microcred import demo as demo_seed
    from microcred.kit import migrate
    from microcred.kit.db import make_engine, make_sessionmaker, unit_of_work

    settings = _settings_for(host, port)
    migrate.upgrade()
    engine = make_engine(settings)
    base = settings.public_base_url
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            typer.echo(
                "Preparing the demo (a first run seeds credentials, item banks, the ESCO "
                "subset and 72 job postings read by the skill linker: up to two minutes "
                "with the ml extra's model, seconds without it)..."
            )
            seeded = demo_seed.seed(session, settings=settings)
        typer.echo(f"""
microcred demo ({settings.database_url})

  Home / sign in     {base}/sign-in   institution: {seeded.institution_slug}
  Staff (admin)      {seeded.admin_email} / {seeded.password}
                     console: {base}/console (achievements, awards, bulk CSV, keys, KPIs)
  Learner            {seeded.learner_email} / {seeded.password}
                     their credentials: {base}/me (SQL Foundations is not shared yet)
  API token          {seeded.api_token}
  API docs           {base}/docs
  Public credential  {base}/credentials/{seeded.award_ids[0]}
  A revoked one      {base}/credentials/{seeded.revoked_award_id}
  A suspended one    {base}/credentials/{seeded.suspended_award_id}
  Employers verify   {base}/verify (paste, upload a badge or PDF, or open a link)
  An adaptive test   {base}/assessments/{seeded.assessments["sql-foundations"]}
                     (sign in as li.wei@example.org; Python is the other assessed achievement:
                     {base}/assessments/{seeded.assessments["python-data-analysis"]})
  A project          {base}/assessments/{seeded.project_achievement_id}/project
  Review queue       {base}/console/review (Sofia Rossi's project waits)
  An item bank       {base}/console/assessments/{seeded.assessments["sql-foundations"]}
  Target job & plan  {base}/me/target (as the learner: pick "data analyst" or paste a posting)
  Skills demand      {base}/console/demand (trends and coverage from 72 demo postings)
  Ask                {base}/ask (grounded answers with their sources; also on achievement pages)
  Knowledge base     {base}/console/knowledge and the answer log {base}/console/answers
  A survey           {base}/s/{seeded.survey_slug} (anonymous; the report, with 90 seeded
                     responses: {base}/console/surveys)

  Try: curl -H 'Accept: application/vc+ld+json' {base}/credentials/{seeded.award_ids[0]}
       curl -H 'Authorization: Bearer {seeded.api_token}' {base}/api/v1/awards
""")
    except FileExistsError:
        typer.echo(
            f"demo already seeded in {settings.database_url}; sign in at {base}/sign-in "
            f"(institution {demo_seed.DEMO_SLUG}, password {demo_seed.DEMO_PASSWORD})"
        )
    finally:
        engine.dispose()
    if not no_serve:
        _serve(settings, host, port)


@app.command()
def worker(poll_seconds: Annotated[float, typer.Option()] = 1.0) -> None:
    """Run outbox jobs (production: one or more next to the web processes)."""
    from microcred import tasks
    from microcred.kit import jobs
    from microcred.kit.db import make_engine, make_sessionmaker

    tasks.register_all()
    settings = get_settings()
    jobs.work_forever(make_sessionmaker(make_engine(settings)), settings, poll_seconds=poll_seconds)


@app.command("share-reminders")
def share_reminders() -> None:
    """Queue the once-per-award reminder to learners who opted in and have not shared a
    credential after MICROCRED_SHARE_REMINDER_DAYS days (run daily, e.g. from cron)."""
    from microcred import tasks
    from microcred.credentials.tasks import SHARE_REMINDERS
    from microcred.kit import jobs
    from microcred.kit.db import make_engine, make_sessionmaker, unit_of_work

    tasks.register_all()
    settings = get_settings()
    factory = make_sessionmaker(make_engine(settings))
    with unit_of_work(factory) as session:
        jobs.enqueue(session, SHARE_REMINDERS)
    # The worker runs it in production; run it here too so cron alone is enough.
    ran = jobs.run_pending(factory, settings)
    typer.echo(f"share reminders queued; {ran} job(s) run")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from microcred.kit import migrate

    migrate.upgrade(revision=revision)
    typer.echo(f"database at {revision}: {get_settings().database_url}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (`base` for an empty schema)."""
    from microcred.kit import migrate

    migrate.downgrade(revision=revision)


@db_app.command("check")
def db_check() -> None:
    """Upgrade, then fail if the models and migrations disagree (alembic check)."""
    from microcred.kit import migrate

    migrate.upgrade()
    migrate.check()
    typer.echo("migrations match the models")


@keys_app.command("rotate")
def keys_rotate(institution: Annotated[str, typer.Option(help="institution slug")]) -> None:
    """Retire the signing key and create a new one; old credentials keep verifying."""
    from microcred.credentials import service as credentials
    from microcred.identity import service as identity
    from microcred.kit.db import make_engine, make_sessionmaker, unit_of_work
    from microcred.kit.errors import DomainError
    from microcred.kit.principal import SYSTEM

    settings = get_settings()
    try:
        with unit_of_work(make_sessionmaker(make_engine(settings))) as session:
            found = identity.institution_by_slug(session, slug=institution)
            key = credentials.rotate_key(
                session, actor=SYSTEM, settings=settings, institution_id=found.id
            )
            typer.echo(f"new signing key {key.public_multikey} for {institution}")
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc


@app.command("purge-survey-responses")
def purge_survey_responses() -> None:
    """Delete survey responses past their survey's retention period, and responses started but
    never submitted after 7 days (run daily, e.g. from cron)."""
    from microcred import tasks
    from microcred.ask.tasks import PURGE_SURVEY_RESPONSES
    from microcred.kit import jobs
    from microcred.kit.db import make_engine, make_sessionmaker, unit_of_work

    tasks.register_all()
    settings = get_settings()
    factory = make_sessionmaker(make_engine(settings))
    with unit_of_work(factory) as session:
        jobs.enqueue(session, PURGE_SURVEY_RESPONSES)
    ran = jobs.run_pending(factory, settings)
    typer.echo(f"survey retention purge queued; {ran} job(s) run")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="the question, in quotes")],
    institution: Annotated[str | None, typer.Option(help="institution slug")] = None,
    persona: Annotated[str, typer.Option(help="learner, educator, employer")] = "unspecified",
) -> None:
    """Ask the knowledge base a question; prints the grounded answer and its sources."""
    from microcred.ask import service as knowledge
    from microcred.kit.db import make_engine, make_sessionmaker, unit_of_work
    from microcred.kit.errors import DomainError

    settings = get_settings()
    engine = make_engine(settings)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            answer = knowledge.ask(
                session,
                institution_id=knowledge.public_institution(session, slug=institution),
                question=question,
                persona=persona,
                settings=settings,
            )
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    typer.echo(answer.text)
    for citation in answer.citations:
        typer.echo(f"  [{citation['number']}] {citation['title']}: {citation['quote']}")
    typer.echo(f"({answer.reason}; {answer.model})")


@app.command("fit-mastery")
def fit_mastery() -> None:
    """Refit knowledge tracing (BKT) per skill from every learner's graded answers; skills
    with fewer than 50 answers keep the defaults (run nightly, e.g. from cron)."""
    from microcred import tasks
    from microcred.kit import jobs
    from microcred.kit.db import make_engine, make_sessionmaker, unit_of_work
    from microcred.learning.tasks import FIT_KNOWLEDGE_TRACING

    tasks.register_all()
    settings = get_settings()
    factory = make_sessionmaker(make_engine(settings))
    with unit_of_work(factory) as session:
        jobs.enqueue(session, FIT_KNOWLEDGE_TRACING)
    ran = jobs.run_pending(factory, settings)
    typer.echo(f"knowledge tracing refit queued; {ran} job(s) run")


@app.command("import-esco")
def import_esco(
    directory: Annotated[
        Path, typer.Argument(help="an ESCO CSV release (skills_en.csv, occupations_en.csv, ...)")
    ],
    version: Annotated[
        str | None, typer.Option(help="release version (default: from the folder's name)")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="refuse relations to concepts the release does not define")
    ] = False,
) -> None:
    """Replace the skills framework with an ESCO release (validated first; all or nothing)."""
    # Every context's tables, so the audit row's foreign keys resolve in this bare process.
    import microcred.models  # noqa: F401
    from microcred.catalog import framework
    from microcred.kit.db import make_engine, make_sessionmaker, unit_of_work
    from microcred.kit.errors import DomainError
    from microcred.kit.principal import SYSTEM

    engine = make_engine(get_settings())
    started = time.perf_counter()
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            result = framework.import_esco(
                session, directory=directory, actor=SYSTEM, version=version, strict=strict
            )
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    typer.echo(
        f"imported ESCO {result.version} in {time.perf_counter() - started:.1f} s: "
        f"{result.skills} skills, "
        f"{result.skill_groups} skill groups, {result.occupations} occupations, "
        f"{result.essential} essential and {result.optional} optional relations, "
        f"{result.hierarchy_links} hierarchy links"
    )
    if result.skipped_relations or result.skipped_links:
        typer.echo(
            f"skipped {result.skipped_relations} relation(s) and {result.skipped_links} "
            "hierarchy link(s) to concepts the release does not define:"
        )
        for example in result.skipped_examples[:5]:
            typer.echo(f"  {example}")


@app.command()
def issue(
    institution: Annotated[str, typer.Option(help="institution slug")],
    achievement: Annotated[str, typer.Option(help="achievement slug or id")],
    learner: Annotated[str, typer.Option(help="learner e-mail")],
    out: Annotated[Path, typer.Option(help="where to write the signed credential")],
    result: Annotated[list[str] | None, typer.Option(help="KEY=VALUE, repeatable")] = None,
    create_learner: Annotated[
        str | None, typer.Option(help="create the learner with this display name if missing")
    ] = None,
) -> None:
    """Issue one credential and write the signed JSON to --out."""
    from microcred.credentials import service as credentials
    from microcred.identity import service as identity
    from microcred.kit.db import make_engine, make_sessionmaker, unit_of_work
    from microcred.kit.errors import DomainError
    from microcred.kit.principal import SYSTEM

    settings = get_settings()
    results = []
    for item in result or []:
        key, sep, value = item.partition("=")
        if not sep:
            typer.echo(f"error: --result wants KEY=VALUE, got {item!r}", err=True)
            raise typer.Exit(2)
        results.append(credentials.ResultIn(key.strip(), value.strip()))
    try:
        with unit_of_work(make_sessionmaker(make_engine(settings))) as session:
            found = identity.institution_by_slug(session, slug=institution)
            report = credentials.bulk_issue(
                session,
                actor=SYSTEM,
                settings=settings,
                institution_id=found.id,
                rows=[
                    credentials.BulkRow(
                        learner_email=learner,
                        achievement=achievement,
                        learner_name=create_learner,
                        results=tuple(results),
                    )
                ],
                create_learners=create_learner is not None,
            )
            outcome = report.rows[0]
            if outcome.status != "issued" or outcome.award_id is None:
                typer.echo(f"error: {outcome.error}", err=True)
                raise typer.Exit(1)
            award = credentials.get_award(
                session, institution_id=found.id, award_id=outcome.award_id
            )
            out.write_text(json.dumps(award.credential, indent=2) + "\n")
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"issued {award.credential['id']} → {out}")


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="credential: JSON, or a baked PNG/SVG badge")],
    document: Annotated[
        list[Path] | None,
        typer.Option(help="a DID document or status list credential to use offline (repeatable)"),
    ] = None,
    offline: Annotated[bool, typer.Option(help="never fetch other issuers' documents")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the verdict as JSON")] = False,
) -> None:
    """Verify a credential. Exit status: 0 VALID, 1 INVALID, 2 usage error."""
    from microcred.credentials import verifier
    from microcred.credentials.resolvers import HttpResolver
    from microcred.credentials.service import PlatformResolver
    from microcred.kit.db import make_engine, make_sessionmaker

    if not file.is_file():
        typer.echo(f"error: {file} is not a readable file", err=True)
        raise typer.Exit(2)
    given: dict[str, dict[str, object]] = {}
    for path in document or []:
        try:
            loaded = json.loads(path.read_text())
            given[str(loaded["id"])] = loaded
        except (OSError, ValueError, KeyError, TypeError) as exc:
            typer.echo(f"error: {path} is not a JSON document with an id ({exc})", err=True)
            raise typer.Exit(2) from exc
    settings = get_settings()
    engine = make_engine(settings)
    with make_sessionmaker(engine)() as session:
        chain: list[verifier.Resolver] = [
            verifier.OfflineResolver(given),
            PlatformResolver(session, settings),
        ]
        if not offline and settings.verifier_fetch_remote:
            chain.append(HttpResolver(timeout_s=settings.verifier_fetch_timeout_s))
        verdict = verifier.verify(file.read_bytes(), resolver=verifier.ChainResolver(*chain))
    engine.dispose()
    if as_json:
        typer.echo(json.dumps(verdict.to_dict(), indent=2))
    else:
        typer.echo(f"{verdict.verdict}: {verdict.reason}")
        for check in verdict.checks:
            mark = "-" if check.skipped else ("ok" if check.ok else "FAIL")
            typer.echo(f"  [{mark:>4}] {check.label}: {check.reason}")
    raise typer.Exit(0 if verdict.valid else 1)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
