"""The staff console's credential pages, driven through the HTTP forms as a browser without
JavaScript would: the dashboard, issuing one and many (with a preview that writes nothing),
status changes and their history, the issuer profile and key rotation."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from microcred.app import create_app
from microcred.catalog.models import Achievement
from microcred.credentials import records, service
from microcred.credentials.models import Award
from microcred.identity import service as identity
from microcred.identity.models import Learner
from microcred.kit import audit
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import SYSTEM, Principal
from microcred.kit.settings import Settings
from tests import factories
from tests.assessment.test_console import sign_in
from tests.assessment.test_pages import field
from tests.conftest import make_settings


def staff(db: Session, t: factories.Tenant, *roles: str) -> str:
    """A staff member with the given roles; returns the e-mail to sign in with."""
    email = f"staff-{uuid.uuid4().hex[:8]}@example.edu"
    identity.create_staff_member(
        db,
        actor=SYSTEM,
        institution_id=t.id,
        email=email,
        display_name="Casey Staff",
        roles=list(roles or ("admin", "issuer")),
        password=factories.PASSWORD,
    )
    return email


def signed_in(client: TestClient, db: Session, t: factories.Tenant, *roles: str) -> None:
    email = staff(db, t, *roles)
    db.commit()
    sign_in(client, t, email)


def issued(db: Session, settings: Settings, t: factories.Tenant, achievement: Achievement) -> Award:
    learner = factories.learner(db, t)
    award, _ = service.issue_award(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        achievement_id=achievement.id,
        learner_id=learner.id,
    )
    return award


def counts(db: Session) -> tuple[int, int, int]:
    """Awards, learners and audit rows, to prove a step wrote nothing."""
    db.expire_all()
    return (
        db.scalar(select(func.count()).select_from(Award)) or 0,
        db.scalar(select(func.count()).select_from(Learner)) or 0,
        db.scalar(select(func.count()).select_from(audit.AuditEvent)) or 0,
    )


def awards_of(db: Session, t: factories.Tenant) -> list[Award]:
    db.expire_all()
    rows, _ = service.list_awards(db, institution_id=t.id, page=PageRequest(100, 0))
    return list(rows)


def carried_csv(page: str) -> str:
    found = re.search(
        r'<textarea id="carry-csv" name="csv" readonly>\n(.*?)</textarea>', page, re.S
    )
    assert found, "no CSV carried to the confirm step"
    return html.unescape(found.group(1))


def test_every_console_page_renders_for_an_admin(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    award = issued(db, settings, t, achievement)
    signed_in(client, db, t)
    home = client.get("/console")
    assert home.status_code == 200
    for link in (
        "/console/achievements",
        "/console/achievements/new",
        "/console/awards",
        "/console/awards/issue",
        "/console/awards/bulk",
        "/console/review",
        "/console/institution",
        "/console/keys",
        f"/console/assessments/{achievement.id}",
        f"/console/achievements/{achievement.id}/edit",
    ):
        assert f'href="{link}"' in home.text, link
    assert "<strong>1</strong> active achievements" in home.text
    assert "<strong>1</strong> live credentials" in home.text
    assert "<strong>0%</strong> share rate" in home.text
    for path in (
        "/console/awards",
        f"/console/awards?achievement={achievement.id}&state=active",
        "/console/awards/issue",
        "/console/awards/bulk",
        f"/console/awards/{award.id}",
        "/console/institution",
        "/console/keys",
        "/console/keys/rotate",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'name="csrf_token"' in page.text  # the site's sign-out form, at least
        assert "<h1>" in page.text
    listed = client.get("/console/awards").text
    assert f'href="/console/awards/{award.id}"' in listed and achievement.name in listed
    detail = client.get(f"/console/awards/{award.id}").text
    assert f'href="/credentials/{award.id}"' in detail and "Issue" in detail
    assert "0</strong> verifications" in detail


def test_the_dashboard_counts_shares_and_verifications(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    first = issued(db, settings, t, achievement)
    issued(db, settings, t, achievement)
    holder = Principal(kind="learner", id=first.learner_id, institution_id=t.id)
    records.record_share(db, actor=holder, award_id=first.id, channel="linkedin")
    records.record_verification(
        db, source="page", verdict="VALID", credential_id=first.credential["id"], settings=settings
    )
    signed_in(client, db, t)
    home = client.get("/console").text
    assert "<strong>2</strong> live credentials" in home
    assert "<strong>50%</strong> share rate: 1 of 2" in home
    assert '<th scope="row">LinkedIn</th><td>1</td><td>1</td>' in home
    assert '<th scope="row">Credential page</th><td>1</td><td>1</td>' in home
    detail = client.get(f"/console/awards/{first.id}").text
    assert "<strong>1</strong> share by the learner" in detail
    assert "<strong>1</strong> verification" in detail


def test_issue_one_and_a_double_submit_issues_once(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    learner = factories.learner(db, t)
    signed_in(client, db, t)
    form = client.get(f"/console/awards/issue?achievement={achievement.id}").text
    assert f'<option value="{achievement.id}" selected>' in form
    data = {
        "csrf_token": field(form, "csrf_token"),
        "idempotency_key": field(form, "idempotency_key"),
        "learner_email": learner.email.upper(),
        "achievement_id": str(achievement.id),
        "results": "score=87",
        "evidence_name": "Capstone notebook",
        "evidence_url": "https://example.org/notebook",
        "evidence_narrative": "Cleaned and joined three open datasets.",
    }
    first = client.post("/console/awards/issue", data=data, follow_redirects=False)
    assert first.status_code == 303, first.text
    [award] = awards_of(db, t)
    assert first.headers["location"] == f"/console/awards/{award.id}?done=issued"
    assert award.learner_id == learner.id
    assert award.credential["evidence"][0]["id"] == "https://example.org/notebook"
    assert award.credential["credentialSubject"]["result"][0]["value"] == "87"

    again = client.post("/console/awards/issue", data=data, follow_redirects=False)
    assert again.headers["location"] == f"/console/awards/{award.id}?done=replayed"
    assert len(awards_of(db, t)) == 1
    page = client.get(again.headers["location"]).text
    assert "already submitted" in page and "Capstone notebook" in page
    assert "Scaled score: 87" in page

    # The same form sent for someone else is refused, not silently answered with the first.
    other = factories.learner(db, t)
    db.commit()
    changed = client.post("/console/awards/issue", data={**data, "learner_email": other.email})
    assert changed.status_code == 409 and "already issued a credential" in changed.text
    assert field(changed.text, "idempotency_key") != data["idempotency_key"]
    assert len(awards_of(db, t)) == 1


def test_issue_errors_are_shown_beside_their_fields(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    learner = factories.learner(db, t)
    signed_in(client, db, t)
    form = client.get("/console/awards/issue").text
    base = {
        "csrf_token": field(form, "csrf_token"),
        "idempotency_key": field(form, "idempotency_key"),
        "learner_email": "nobody@example.org",
        "achievement_id": str(achievement.id),
        "evidence_url": "not a link",
        "results": "score",
    }
    before = counts(db)
    refused = client.post("/console/awards/issue", data=base)
    assert refused.status_code == 422
    text = refused.text
    assert 'id="f-learner_email-error"' in text and "No learner of your institution" in text
    assert 'id="f-evidence_url-error"' in text and 'id="f-results-error"' in text
    assert 'aria-describedby="f-learner_email-hint f-learner_email-error"' in text
    assert 'value="nobody@example.org"' in text and 'role="alert"' in text
    out_of_range = client.post(
        "/console/awards/issue",
        data={**base, "learner_email": learner.email, "evidence_url": "", "results": "score=300"},
    )
    assert out_of_range.status_code == 422 and "outside 0..100" in out_of_range.text
    assert counts(db) == before


def test_revoke_with_a_reason_appears_in_the_history(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    award = issued(db, settings, t, achievement)
    signed_in(client, db, t)
    page = client.get(f"/console/awards/{award.id}").text
    # A revocation-list credential can only be revoked.
    assert 'value="revoke"' in page and 'value="suspend"' not in page
    token = field(page, "csrf_token")
    no_reason = client.post(
        f"/console/awards/{award.id}/status", data={"csrf_token": token, "action": "revoke"}
    )
    assert no_reason.status_code == 422 and 'id="status-reason-error"' in no_reason.text
    not_allowed = client.post(
        f"/console/awards/{award.id}/status",
        data={"csrf_token": token, "action": "suspend", "reason": "checking"},
    )
    assert not_allowed.status_code == 409 and "revocation list" in not_allowed.text
    assert awards_of(db, t)[0].state == "active"
    revoked = client.post(
        f"/console/awards/{award.id}/status",
        data={"csrf_token": token, "action": "revoke", "reason": "Plagiarised capstone"},
        follow_redirects=False,
    )
    assert revoked.status_code == 303 and revoked.headers["location"].endswith("done=revoke")
    assert awards_of(db, t)[0].state == "revoked"
    page = client.get(revoked.headers["location"]).text
    assert "The credential was revoked." in page
    history = page.split("<h2>History</h2>")[1]
    assert "Revoke" in history and "Plagiarised capstone" in history
    assert "Casey Staff" in history and "active → revoked" in history
    assert "Issue" in history
    assert "A revoked credential cannot change again." in page


def test_suspend_and_reinstate(client: TestClient, db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t, status_purpose="suspension")
    award = issued(db, settings, t, achievement)
    signed_in(client, db, t)
    page = client.get(f"/console/awards/{award.id}").text
    assert 'value="suspend"' in page and 'value="reinstate"' not in page
    token = field(page, "csrf_token")
    suspended = client.post(
        f"/console/awards/{award.id}/status",
        data={"csrf_token": token, "action": "suspend", "reason": "Under investigation"},
        follow_redirects=False,
    )
    assert suspended.status_code == 303
    assert awards_of(db, t)[0].state == "suspended"
    page = client.get(f"/console/awards/{award.id}").text
    assert 'value="reinstate"' in page and 'value="suspend"' not in page
    reinstated = client.post(
        f"/console/awards/{award.id}/status",
        data={"csrf_token": token, "action": "reinstate", "reason": "Cleared"},
        follow_redirects=False,
    )
    assert reinstated.headers["location"].endswith("done=reinstate")
    assert awards_of(db, t)[0].state == "active"
    actions = [e.action for e in service.award_history(db, institution_id=t.id, award_id=award.id)]
    assert actions == ["award.issue", "award.suspend", "award.reinstate"]
    suspended_list = client.get("/console/awards?state=suspended").text
    assert "No awards match these filters" in suspended_list


BULK_HEADER = "learner_email,learner_name,achievement,result:score\n"


def test_bulk_preview_lists_every_row_error_and_writes_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    known = factories.learner(db, t)
    scored = factories.learner(db, t)
    holder = factories.learner(db, t)
    service.issue_award(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        achievement_id=achievement.id,
        learner_id=holder.id,
    )
    signed_in(client, db, t)
    token = field(client.get("/console/awards/bulk").text, "csrf_token")
    csv_text = (
        BULK_HEADER
        + f"{known.email},,{achievement.slug},90\n"
        + f"stranger@example.org,Stranger,{achievement.slug},80\n"
        + f"{known.email},,no-such-achievement,70\n"
        + f"{holder.email},,{achievement.slug},60\n"
        + f"{scored.email},,{achievement.slug},250\n"
        + f"{known.email},,{achievement.slug},95\n"
        + ",,,\n"
    )
    before = counts(db)
    preview = client.post(
        "/console/awards/bulk/preview",
        data={"csrf_token": token, "mode": "all_or_nothing"},
        files={"file": ("awards.csv", csv_text.encode(), "text/csv")},
    )
    assert preview.status_code == 422, preview.text
    text = preview.text
    assert "Will be issued" in text and "6 of 7 rows have errors" in text
    assert "no such learner in this institution" in text
    assert "no achievement &#39;no-such-achievement&#39;" in text
    assert "already holds" in text and "outside 0..100" in text
    assert "appears twice" in text
    assert "learner_email is empty" in text
    assert "Nothing can be issued until every row is right" in text
    assert 'action="/console/awards/bulk/issue"' not in text  # nothing to confirm
    assert counts(db) == before

    # Creating learners: the stranger would be made, but the preview still writes nothing.
    per_row = client.post(
        "/console/awards/bulk/preview",
        data={"csrf_token": token, "mode": "per_row", "create_learners": "yes", "csv": csv_text},
    )
    assert per_row.status_code == 422
    assert "to a new learner account" in per_row.text
    assert "Issue 2 credentials" in per_row.text
    assert counts(db) == before


def test_bulk_issue_writes_and_a_repeated_confirmation_does_not(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    known = factories.learner(db, t)
    signed_in(client, db, t)
    token = field(client.get("/console/awards/bulk").text, "csrf_token")
    csv_text = (
        BULK_HEADER
        + f"{known.email},,{achievement.slug},90\n"
        + f"new.person@example.org,New Person,{achievement.id},75\n"
    )
    preview = client.post(
        "/console/awards/bulk/preview",
        data={"csrf_token": token, "mode": "all_or_nothing", "create_learners": "yes"},
        # A browser sends the empty file input too when text is pasted.
        files={"file": ("", b"", "application/octet-stream"), "csv": (None, csv_text)},
    )
    assert preview.status_code == 200, preview.text
    assert "All 2 rows can be issued" in preview.text and "Issue 2 credentials" in preview.text
    assert awards_of(db, t) == []
    confirm = {
        "csrf_token": token,
        "idempotency_key": field(preview.text, "idempotency_key"),
        "mode": field(preview.text, "mode"),
        "create_learners": field(preview.text, "create_learners"),
        "csv": carried_csv(preview.text),
    }
    assert confirm["csv"].replace("\r\n", "\n") == csv_text
    done = client.post("/console/awards/bulk/issue", data=confirm)
    assert done.status_code == 200, done.text
    assert "2 credentials issued" in done.text
    made = awards_of(db, t)
    assert len(made) == 2
    for award in made:
        assert f'href="/console/awards/{award.id}"' in done.text
    assert identity.find_learner(db, institution_id=t.id, email="new.person@example.org")

    again = client.post("/console/awards/bulk/issue", data=confirm)
    assert again.status_code == 200 and "0 credentials issued" in again.text
    assert "2 had already been issued" in again.text
    assert len(awards_of(db, t)) == 2


def test_bulk_refuses_unreadable_files_with_a_message(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    factories.achievement(db, t)
    signed_in(client, db, t)
    token = field(client.get("/console/awards/bulk").text, "csrf_token")
    before = counts(db)

    def preview(content: bytes) -> tuple[int, str]:
        response = client.post(
            "/console/awards/bulk/preview",
            data={"csrf_token": token, "mode": "per_row"},
            files={"file": ("awards.csv", content, "text/csv")},
        )
        return response.status_code, response.text

    status, text = preview(b"email,achievement\nx@example.org,a\n")
    assert status == 422 and "missing columns: learner_email" in text and 'role="alert"' in text
    status, text = preview("learner_email,achievement\nzoë@example.org,a\n".encode("latin-1"))
    assert status == 422 and "not UTF-8" in text
    status, text = preview(b"")
    assert status == 422 and "The file is empty" in text
    status, text = preview(b"learner_email,achievement\n")
    assert status == 422 and "header but no rows" in text
    nothing = client.post("/console/awards/bulk/preview", data={"csrf_token": token})
    assert nothing.status_code == 422 and "Choose a CSV file" in nothing.text
    assert counts(db) == before


@pytest.fixture
def small_client(database_url: str, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    """An app whose upload limit is small enough to exceed in a test."""
    app = create_app(
        make_settings(database_url, max_upload_bytes=64 * 1024), session_factory=session_factory
    )
    with TestClient(app, base_url="https://microcred.test") as client:
        yield client


def test_bulk_refuses_an_oversized_file_on_the_page(small_client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    signed_in(small_client, db, t)
    token = field(small_client.get("/console/awards/bulk").text, "csrf_token")
    row = "someone@example.org,Some One,some-achievement,50\n"
    big = (BULK_HEADER + row * (50 * 1024 // len(row))).encode()
    assert 48 * 1024 < len(big) < 63 * 1024  # over the CSV limit, under the body limit
    before = counts(db)
    response = small_client.post(
        "/console/awards/bulk/preview",
        data={"csrf_token": token},
        files={"file": ("big.csv", big, "text/csv")},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "larger than 49,152 bytes" in response.text
    assert counts(db) == before


def test_rotate_the_key_after_a_confirmation(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    issued(db, settings, t, factories.achievement(db, t))
    signed_in(client, db, t)
    [first] = service.list_keys(db, institution_id=t.id)
    page = client.get("/console/keys").text
    assert first.public_multikey in page and 'href="/console/keys/rotate"' in page
    confirm = client.get("/console/keys/rotate").text
    assert "Rotate the signing key?" in confirm
    token = field(confirm, "csrf_token")
    unconfirmed = client.post("/console/keys/rotate", data={"csrf_token": token})
    assert unconfirmed.status_code == 422
    assert len(service.list_keys(db, institution_id=t.id)) == 1
    rotated = client.post(
        "/console/keys/rotate", data={"csrf_token": token, "confirm": "yes"}, follow_redirects=False
    )
    assert rotated.status_code == 303
    db.expire_all()
    keys = service.list_keys(db, institution_id=t.id)
    assert sorted(k.state for k in keys) == ["active", "retired"]
    page = client.get(rotated.headers["location"]).text
    assert "A new signing key is active" in page
    assert page.index("Active</span>") < page.index(first.public_multikey)  # active one first


def test_the_issuer_profile_is_edited_by_an_admin(client: TestClient, db: Session) -> None:
    t = factories.tenant(db, did_method="web")
    signed_in(client, db, t)
    page = client.get("/console/institution").text
    assert f"did:web:microcred.test:institutions:{t.institution.slug}" in page
    token = field(page, "csrf_token")
    bad = client.post(
        "/console/institution",
        data={
            "csrf_token": token,
            "name": "Open University of Somewhere",
            "url": "ftp://example.edu",
            "email": "not-an-address",
            "description": "",
        },
    )
    assert bad.status_code == 422 and 'value="ftp://example.edu"' in bad.text
    assert 'id="f-url-error"' in bad.text or 'id="f-email-error"' in bad.text
    saved = client.post(
        "/console/institution",
        data={
            "csrf_token": token,
            "name": "Open University of Somewhere",
            "url": "https://somewhere.example.edu",
            "email": "Registry@Somewhere.example.edu",
            "description": "Short courses for working adults.",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("done=saved")
    db.expire_all()
    institution = identity.get_institution(db, institution_id=t.id)
    assert institution.name == "Open University of Somewhere"
    assert institution.email == "registry@somewhere.example.edu"
    events = audit.history(db, institution_id=t.id, subject_type="institution", subject_id=t.id)
    assert events[-1].action == "institution.update"
    assert set(events[-1].after or {}) == {"name", "url", "email", "description"}


def test_only_admins_edit_the_profile_and_rotate_keys(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    signed_in(client, db, t, "issuer")
    page = client.get("/console/institution")
    assert page.status_code == 200 and "Only an administrator" in page.text
    token = field(page.text, "csrf_token")
    assert (
        client.post(
            "/console/institution", data={"csrf_token": token, "name": "Hijacked"}
        ).status_code
        == 403
    )
    assert client.get("/console/keys/rotate").status_code == 403
    assert (
        client.post(
            "/console/keys/rotate", data={"csrf_token": token, "confirm": "yes"}
        ).status_code
        == 403
    )
    db.expire_all()
    assert identity.get_institution(db, institution_id=t.id).name != "Hijacked"


def test_missing_csrf_is_refused_and_writes_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    award = issued(db, settings, t, achievement)
    learner = factories.learner(db, t)
    signed_in(client, db, t)
    form = client.get("/console/awards/issue").text  # sets the CSRF cookie
    before = counts(db)
    attempts = [
        (
            "/console/awards/issue",
            {
                "idempotency_key": field(form, "idempotency_key"),
                "learner_email": learner.email,
                "achievement_id": str(achievement.id),
            },
        ),
        (f"/console/awards/{award.id}/status", {"action": "revoke", "reason": "no token"}),
        ("/console/keys/rotate", {"confirm": "yes"}),
        ("/console/institution", {"name": "No token"}),
        ("/console/awards/bulk/preview", {"csv": f"learner_email,achievement\n{learner.email},x"}),
    ]
    for path, data in attempts:
        assert client.post(path, data=data).status_code == 401, path
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 401, path
    assert counts(db) == before


@pytest.mark.parametrize(
    "path",
    [
        "/console",
        "/console/awards",
        "/console/awards/issue",
        "/console/awards/bulk",
        "/console/awards/{award}",
        "/console/institution",
        "/console/keys",
    ],
)
def test_learners_and_visitors_are_refused(
    client: TestClient, db: Session, settings: Settings, path: str
) -> None:
    t = factories.tenant(db)
    award = issued(db, settings, t, factories.achievement(db, t))
    learner = factories.learner(db, t, password=factories.PASSWORD)
    db.commit()
    url = path.format(award=award.id)
    anonymous = client.get(url, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/sign-in"
    sign_in(client, t, learner.email)
    assert client.get(url).status_code == 403


def test_another_institutions_awards_are_not_found(
    client: TestClient, db: Session, settings: Settings
) -> None:
    mine = factories.tenant(db)
    other = factories.tenant(db)
    their_achievement = factories.achievement(db, other, status_purpose="suspension")
    theirs = issued(db, settings, other, their_achievement)
    signed_in(client, db, mine)
    token = field(client.get("/console/awards").text, "csrf_token")
    assert client.get(f"/console/awards/{theirs.id}").status_code == 404
    for action in ("revoke", "suspend"):
        refused = client.post(
            f"/console/awards/{theirs.id}/status",
            data={"csrf_token": token, "action": action, "reason": "not ours"},
        )
        assert refused.status_code == 404
    listed = client.get(f"/console/awards?achievement={their_achievement.id}").text
    assert str(theirs.id) not in listed and "No awards" in listed
    # Their achievement's slug names nothing in this institution.
    preview = client.post(
        "/console/awards/bulk/preview",
        data={
            "csrf_token": token,
            "csv": f"learner_email,achievement\nsomeone@example.org,{their_achievement.slug}\n",
        },
    )
    assert preview.status_code == 422 and "no achievement" in preview.text
    issue = client.get("/console/awards/issue").text
    assert str(their_achievement.id) not in issue
    db.expire_all()
    assert service.get_award(db, institution_id=other.id, award_id=theirs.id).state == "active"


def test_staff_record_the_learners_identity_check_from_an_award(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    award = issued(db, settings, t, factories.achievement(db, t))
    signed_in(client, db, t)
    page = client.get(f"/console/awards/{award.id}")
    assert "Self-asserted" in page.text
    token = field(page.text, "csrf_token")
    url = f"/console/awards/{award.id}/identity-assurance"
    saved = client.post(
        url, data={"csrf_token": token, "level": "in_person"}, follow_redirects=False
    )
    assert saved.status_code == 303
    learner = identity.get_learner(db, institution_id=t.id, learner_id=award.learner_id)
    db.refresh(learner)
    assert learner.identity_assurance == "in_person"
    refused = client.post(url, data={"csrf_token": token, "level": "vibes"})
    assert refused.status_code == 422 and "unknown identity assurance" in refused.text
    db.refresh(learner)
    assert learner.identity_assurance == "in_person"
