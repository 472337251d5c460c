"""The learner's record: private by default, the learner's choices of what is public, notes on
evidence, the share panel and its counts, the public page's tags, and the share reminder."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import uuid
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microcred.credentials import records, service
from microcred.credentials.models import Award, ShareEvent, VerificationEvent
from microcred.credentials.tasks import share_reminders
from microcred.identity import service as identity
from microcred.kit.audit import AuditEvent
from microcred.kit.errors import InvalidInput, NotFound
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings
from tests import factories
from tests.assessment.test_console import sign_in
from tests.assessment.test_pages import field

HTML = {"Accept": "text/html"}


def as_learner(learner_id: uuid.UUID, institution_id: uuid.UUID) -> Principal:
    return Principal(
        kind="learner", id=learner_id, institution_id=institution_id, roles=frozenset(), label="L"
    )


def awarded(
    db: Session, settings: Settings, *, valid_from: dt.datetime | None = None
) -> tuple[factories.Tenant, Award, str]:
    t = factories.tenant(db)
    learner = factories.learner(db, t, password=factories.PASSWORD, display_name="Ada Lovelace")
    achievement = factories.achievement(db, t)
    award, _ = service.issue_award(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        achievement_id=achievement.id,
        learner_id=learner.id,
        results=[service.ResultIn("score", "71")],
        evidence=[
            service.EvidenceIn(
                name="Bike-share analysis",
                narrative="Clear, well-argued analysis.",
                url="https://example.org/projects/bikes",
                genre="Project",
            )
        ],
        valid_from=valid_from,
    )
    db.commit()
    return t, award, learner.email


def path_of(award: Award) -> str:
    return str(award.credential["id"]).removeprefix("https://microcred.test")


def test_a_record_is_private_until_its_learner_turns_sharing_on(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t, award, email = awarded(db, settings)
    page = client.get(path_of(award), headers=HTML)
    assert page.status_code == 404
    assert "no public credential at this address" in page.text
    assert "text/html" in page.headers["content-type"]
    as_json = client.get(path_of(award), headers={"Accept": "application/vc+ld+json"})
    assert as_json.status_code == 404
    assert as_json.headers["content-type"] == "application/problem+json"
    for download in (".json", "/badge.png", "/badge.svg", "/certificate.pdf", "/share.png"):
        assert client.get(path_of(award) + download).status_code == 404, download

    sign_in(client, t, email)
    own = client.get(path_of(award), headers=HTML)
    assert own.status_code == 200
    assert "This record is private" in own.text
    assert 'name="robots" content="noindex"' in own.text
    assert own.headers["cache-control"] == "private, no-store"
    assert "og:image" not in own.text

    record = client.get(f"/me/credentials/{award.id}")
    assert record.status_code == 200
    assert "Turn sharing on" in record.text
    token = field(record.text, "csrf_token")
    saved = client.post(
        f"/me/credentials/{award.id}/visibility",
        data={"csrf_token": token, "public": "on", "show_results": "on", "show_evidence": "on"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    client.cookies.clear()

    public = client.get(path_of(award), headers=HTML)
    assert public.status_code == 200
    assert public.headers["cache-control"] == "public, max-age=60"
    credential_url = str(award.credential["id"])
    assert f'<link rel="canonical" href="{credential_url}">' in public.text
    assert f'<meta property="og:image" content="{credential_url}/share.png">' in public.text
    assert '<meta name="twitter:card" content="summary_large_image">' in public.text
    assert "Ada Lovelace" in public.text
    assert "Scaled score" in public.text and "71" in public.text  # results shown
    assert "Bike-share analysis" in public.text  # evidence shown
    assert "Total hours" not in public.text  # activity kept private
    assert client.get(path_of(award) + ".json").status_code == 200
    events = db.scalar(
        select(func.count())
        .select_from(VerificationEvent)
        .where(VerificationEvent.award_id == award.id, VerificationEvent.source == "page")
    )
    assert events == 2  # the owner's view and the anonymous one


def test_other_learners_and_other_institutions_see_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t, award, _ = awarded(db, settings)
    other = factories.learner(db, t, password=factories.PASSWORD)
    stranger_tenant = factories.tenant(db)
    db.commit()
    sign_in(client, t, other.email)
    assert client.get(path_of(award), headers=HTML).status_code == 404
    assert client.get(f"/me/credentials/{award.id}", headers=HTML).status_code == 404
    token = field(client.get("/me").text, "csrf_token")
    refused = client.post(
        f"/me/credentials/{award.id}/visibility",
        data={"csrf_token": token, "public": "on"},
        headers=HTML,
    )
    assert refused.status_code == 404
    assert records.settings_of(db, award_id=award.id).public is False
    client.cookies.clear()

    # Staff of the learner's institution may open the private page; staff elsewhere may not.
    sign_in(client, t, staff_email(db, t))
    assert client.get(path_of(award), headers=HTML).status_code == 200
    client.cookies.clear()
    sign_in(client, stranger_tenant, staff_email(db, stranger_tenant))
    assert client.get(path_of(award), headers=HTML).status_code == 404
    assert client.get(path_of(award) + "/certificate.pdf").status_code == 404


def staff_email(db: Session, t: factories.Tenant) -> str:
    email = f"staff-{uuid.uuid4().hex[:6]}@example.edu"
    identity.create_staff_member(
        db,
        actor=t.admin,
        institution_id=t.id,
        email=email,
        display_name="Staff",
        roles=["issuer"],
        password=factories.PASSWORD,
    )
    db.commit()
    return email


def test_notes_on_evidence_are_the_learners_and_validated(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t, award, email = awarded(db, settings)
    sign_in(client, t, email)
    record = client.get(f"/me/credentials/{award.id}")
    token = field(record.text, "csrf_token")
    saved = client.post(
        f"/me/credentials/{award.id}/notes",
        data={"csrf_token": token, "evidence_index": "0", "note": "  I built the pipeline.  "},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert records.notes_by_index(db, award_id=award.id) == {0: "I built the pipeline."}
    too_long = client.post(
        f"/me/credentials/{award.id}/notes",
        data={"csrf_token": token, "evidence_index": "0", "note": "x" * 2001},
        headers=HTML,
    )
    assert too_long.status_code == 422
    assert "at most 2000 characters" in too_long.text
    assert records.notes_by_index(db, award_id=award.id) == {0: "I built the pipeline."}
    no_such = client.post(
        f"/me/credentials/{award.id}/notes",
        data={"csrf_token": token, "evidence_index": "3", "note": "hello"},
        headers=HTML,
    )
    assert no_such.status_code == 422
    forged = client.post(
        f"/me/credentials/{award.id}/notes",
        data={"csrf_token": "forged", "evidence_index": "0", "note": "changed"},
        headers=HTML,
    )
    assert forged.status_code == 401
    cleared = client.post(
        f"/me/credentials/{award.id}/notes",
        data={"csrf_token": token, "evidence_index": "0", "note": ""},
        follow_redirects=False,
    )
    assert cleared.status_code == 303
    assert records.notes_by_index(db, award_id=award.id) == {}
    actions = db.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_id == str(award.id))
    ).all()
    assert actions.count("record.annotate") == 2


def test_sharing_counts_and_leads_to_linkedin_with_the_public_page(
    client: TestClient, db: Session, settings: Settings
) -> None:
    issued = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
    t, award, email = awarded(db, settings, valid_from=issued)
    sign_in(client, t, email)
    early = client.get(f"/me/credentials/{award.id}/share/linkedin", follow_redirects=False)
    assert early.status_code == 303
    assert early.headers["location"].startswith(f"/me/credentials/{award.id}?m=Turn")
    assert db.scalar(select(func.count()).select_from(ShareEvent)) == 0

    records.set_visibility(
        db,
        actor=as_learner(award.learner_id, t.id),
        award_id=award.id,
        public=True,
        show_results=True,
        show_evidence=True,
        show_activity=True,
    )
    db.commit()
    linkedin = client.get(f"/me/credentials/{award.id}/share/linkedin", follow_redirects=False)
    assert linkedin.status_code == 303
    target = urlsplit(linkedin.headers["location"])
    assert (target.scheme, target.netloc, target.path) == (
        "https",
        "www.linkedin.com",
        "/profile/add",
    )
    params = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert params["startTask"] == "CERTIFICATION_NAME"
    assert params["issueYear"] == "2026" and params["issueMonth"] == "1"  # 1-12, not 0-11
    assert params["certUrl"] == award.credential["id"]
    assert params["certId"] == str(award.id)
    assert params["organizationName"] == t.institution.name
    pdf = client.get(f"/me/credentials/{award.id}/share/pdf", follow_redirects=False)
    assert pdf.headers["location"] == path_of(award) + "/certificate.pdf"
    assert client.get(f"/me/credentials/{award.id}/share/fax").status_code == 404
    token = field(client.get(f"/me/credentials/{award.id}").text, "csrf_token")
    copied = client.post(f"/me/credentials/{award.id}/shares", headers={"X-CSRF-Token": token})
    assert copied.status_code == 204
    refused = client.post(f"/me/credentials/{award.id}/shares", headers={"X-CSRF-Token": "no"})
    assert refused.status_code == 401
    kpis = records.sharing_kpis(db, institution_id=t.id)
    assert kpis.shares_by_channel == {"linkedin": 1, "pdf": 1, "link": 1}
    assert (kpis.awards, kpis.shared_awards, kpis.share_rate) == (1, 1, 1.0)


def test_linkedin_url_names_the_expiry_month_and_an_organisation_id(
    db: Session, settings: Settings
) -> None:
    _, award, _ = awarded(db, settings)
    award.valid_from = dt.datetime(2025, 12, 31, tzinfo=dt.UTC)
    award.valid_until = dt.datetime(2028, 12, 1, tzinfo=dt.UTC)
    url = records.linkedin_url(
        award, settings=settings.model_copy(update={"linkedin_organization_id": "1337"})
    )
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert params["issueMonth"] == "12" and params["expirationMonth"] == "12"
    assert params["expirationYear"] == "2028"
    assert params["organizationId"] == "1337" and "organizationName" not in params


def test_service_refuses_what_a_learner_may_not_do(db: Session, settings: Settings) -> None:
    t, award, _ = awarded(db, settings)
    owner = as_learner(award.learner_id, t.id)
    with pytest.raises(NotFound):
        records.set_visibility(
            db,
            actor=as_learner(uuid.uuid4(), t.id),
            award_id=award.id,
            public=True,
            show_results=True,
            show_evidence=True,
            show_activity=True,
        )
    with pytest.raises(InvalidInput):
        records.record_share(db, actor=owner, award_id=award.id, channel="carrier-pigeon")
    with pytest.raises(InvalidInput):
        records.annotate(db, actor=owner, award_id=award.id, evidence_index=-1, note="x")


def test_dashboard_shows_credentials_progress_and_the_reminder_choice(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t, award, email = awarded(db, settings)
    sign_in(client, t, email)
    dashboard = client.get("/me")
    assert dashboard.status_code == 200
    assert award.credential["name"] in dashboard.text
    assert "Not shared yet" in dashboard.text
    saved = client.post(
        "/me/preferences",
        data={"csrf_token": field(dashboard.text, "csrf_token"), "share_reminders": "on"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    learner = identity.get_learner(db, institution_id=t.id, learner_id=award.learner_id)
    db.refresh(learner)
    assert learner.share_reminders is True


def test_the_share_reminder_goes_once_to_learners_who_asked(
    db: Session, settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"data_dir": tmp_path})
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=settings.share_reminder_days + 1)
    t, award, _ = awarded(db, settings, valid_from=old)
    award.issued_at = old
    learner = identity.get_learner(db, institution_id=t.id, learner_id=award.learner_id)
    assert records.awards_due_for_reminder(db, settings=settings) == []  # not opted in
    learner.share_reminders = True
    db.flush()
    assert [a.id for a in records.awards_due_for_reminder(db, settings=settings)] == [award.id]
    share_reminders(db, settings)
    assert records.settings_of(db, award_id=award.id).reminded_at is not None
    assert records.awards_due_for_reminder(db, settings=settings) == []
    (sent,) = (settings.data_dir / "mail").glob("*.eml")
    message = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and f"/me/credentials/{award.id}#share" in body.get_content()
    share_reminders(db, settings)  # nobody is due any more: nothing more is sent
    assert len(list((settings.data_dir / "mail").glob("*.eml"))) == 1


def test_a_shared_award_is_not_reminded(db: Session, settings: Settings) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=settings.share_reminder_days + 1)
    t, award, _ = awarded(db, settings, valid_from=old)
    award.issued_at = old
    identity.get_learner(
        db, institution_id=t.id, learner_id=award.learner_id
    ).share_reminders = True
    records.record_share(
        db, actor=as_learner(award.learner_id, t.id), award_id=award.id, channel="pdf"
    )
    assert records.awards_due_for_reminder(db, settings=settings) == []


def test_public_page_hides_what_the_learner_keeps_private(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t, award, _ = awarded(db, settings)
    owner = as_learner(award.learner_id, t.id)
    records.annotate(db, actor=owner, award_id=award.id, evidence_index=0, note="My own words.")
    records.set_visibility(
        db,
        actor=owner,
        award_id=award.id,
        public=True,
        show_results=False,
        show_evidence=False,
        show_activity=True,
    )
    db.commit()
    page = client.get(path_of(award), headers=HTML)
    assert page.status_code == 200
    assert "My own words." not in page.text and "Bike-share analysis" not in page.text
    assert "Scaled score" not in page.text
    assert "Total hours" in page.text and "12.5 hours" in page.text
    assert re.search(r"Identity</dt><dd>Self-asserted", page.text)


def test_pages_stay_small_and_answer_with_strict_headers(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """Pages under 100 KB with their stylesheet and script; a strict CSP without inline code."""
    t, award, email = awarded(db, settings)
    records.set_visibility(
        db,
        actor=as_learner(award.learner_id, t.id),
        award_id=award.id,
        public=True,
        show_results=True,
        show_evidence=True,
        show_activity=True,
    )
    db.commit()
    assets = sum(len(client.get(p).content) for p in ("/static/site.css", "/static/site.js"))
    public = client.get(path_of(award), headers=HTML)
    csp = public.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "script-src 'self'" in csp
    assert public.headers["x-frame-options"] == "DENY"
    assert "<style" not in public.text and "style=" not in public.text
    sign_in(client, t, email)
    for path in (path_of(award), f"/me/credentials/{award.id}", "/me", "/verify"):
        page = client.get(path, headers=HTML)
        assert page.status_code == 200, path
        assert len(page.content) + assets < 100_000, path
