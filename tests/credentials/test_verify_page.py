"""The employer verification page: paste, upload or open a link; the same verdict in plain
words; bad input refused on the page with its status; every verification logged."""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microcred.app import create_app
from microcred.credentials import baking, proofs, service, verify_views
from microcred.credentials.models import Award, VerificationEvent
from microcred.kit.crypto import did as dids
from microcred.kit.crypto import keys
from microcred.kit.settings import Settings
from tests import factories
from tests.credentials import corpus

HTML = {"Accept": "text/html"}


def issue(
    db: Session, settings: Settings, *, did_method: str = "key"
) -> tuple[factories.Tenant, Award]:
    t = factories.tenant(db, did_method=did_method)
    learner = factories.learner(db, t)
    achievement = factories.achievement(db, t)
    award, _ = service.issue_award(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        achievement_id=achievement.id,
        learner_id=learner.id,
        results=[service.ResultIn("score", "80")],
    )
    db.commit()
    return t, award


def foreign(issuer_did: str, pair: keys.Ed25519KeyPair, vm: str) -> dict[str, Any]:
    """An OB 3.0 credential of another issuer (no status list), signed with `pair`."""
    unsigned = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "https://other.example/credentials/42",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer_did, "type": ["Profile"], "name": "Other College"},
        "validFrom": "2025-01-01T00:00:00Z",
        "name": "Welding basics",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://other.example/achievements/7",
                "type": ["Achievement"],
                "name": "Welding basics",
                "description": "Welds two plates safely.",
                "criteria": {"narrative": "Passed a practical test."},
            },
        },
    }
    return proofs.sign(
        unsigned, key_pair=pair, verification_method=vm, created=dt.datetime.now(dt.UTC)
    )


def did_key_credential() -> dict[str, Any]:
    pair = keys.Ed25519KeyPair.generate()
    did = dids.did_key_from_public_key(pair.public_multikey)
    return foreign(did, pair, f"{did}#{pair.public_multikey}")


def text_of(response: httpx.Response) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.text)))


def token_of(client: TestClient) -> str:
    page = client.get("/verify", headers=HTML)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def post(
    client: TestClient,
    *,
    text: str | None = None,
    file: tuple[str, bytes, str] | None = None,
    url: str | None = None,
    token: str | None = None,
) -> httpx.Response:
    """Submit the form as a browser does: multipart, with an empty part when no file."""
    data = {"csrf_token": token if token is not None else token_of(client)}
    if text is not None:
        data["credential"] = text
    if url is not None:
        data["url"] = url
    files = {"file": file or ("", b"", "application/octet-stream")}
    return client.post("/verify", data=data, files=files, headers=HTML)


def events(db: Session) -> list[VerificationEvent]:
    db.expire_all()
    return list(db.scalars(select(VerificationEvent)))


def verdict_of(response: httpx.Response) -> str:
    found = re.search(r"Verdict: .*?(VALID|INVALID)", text_of(response))
    assert found is not None, text_of(response)[:2000]
    return found.group(1)


@pytest.fixture
def remote_client(
    settings: Settings, session_factory: sessionmaker[Session]
) -> Iterator[TestClient]:
    """The app with `verifier_fetch_remote` on (other issuers' documents and links)."""
    remote = settings.model_copy(update={"verifier_fetch_remote": True})
    with TestClient(
        create_app(remote, session_factory=session_factory), base_url="https://microcred.test"
    ) as client:
        yield client


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    """Every real outgoing HTTP request fails to connect (the test client is unaffected)."""
    tried: list[httpx.Request] = []

    def refuse(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        tried.append(request)
        raise httpx.ConnectError("no network in tests", request=request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    return tried


# --- the form ---------------------------------------------------------------------------------


def test_the_form_offers_paste_upload_and_link_without_scripts(client: TestClient) -> None:
    page = client.get("/verify", headers=HTML)
    assert page.status_code == 200
    assert "microcred_csrf" in page.headers["set-cookie"]
    for label in ('for="credential"', 'for="file"', 'for="url"'):
        assert label in page.text
    assert page.text.count("<fieldset>") == 3 and page.text.count("<legend>") == 3
    assert 'enctype="multipart/form-data"' in page.text
    assert '<form method="get" action="/verify"' in page.text
    # The CSP forbids inline code: no inline script, no style attribute.
    assert "<script>" not in page.text and "style=" not in page.text
    assert page.headers["cache-control"] == "no-store"


# --- verdicts -----------------------------------------------------------------------------------


def test_pasted_valid_credential_reads_in_plain_words_and_is_logged(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t, award = issue(db, settings)
    response = post(client, text=json.dumps(award.credential, indent=2))
    assert response.status_code == 200
    assert verdict_of(response) == "VALID"
    words = text_of(response)
    issuer = award.credential["issuer"]
    assert f"Signed by {issuer['name']} ({issuer['id']}); the signature matches the content." in (
        words
    )
    assert "The issuer's register holds this exact credential." in words
    assert "The issuer has not revoked or suspended it" in words
    assert "What the credential says" in words and award.credential["name"] in words
    # The technical detail, one click away.
    assert "<summary>Technical details</summary>" in response.text
    assert award.credential["proof"]["verificationMethod"] in words
    assert award.credential["credentialStatus"]["statusListCredential"] in words
    [event] = events(db)
    assert (event.source, event.verdict, event.award_id) == ("paste", "VALID", award.id)
    assert event.institution_id == t.id


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_uploaded_baked_badge_is_valid(
    client: TestClient, db: Session, settings: Settings, kind: str
) -> None:
    _, award = issue(db, settings)
    credential = json.dumps(award.credential)
    if kind == "png":
        file = ("badge.png", baking.bake_png(baking.default_badge_png(64, label="x"), credential))
        media = "image/png"
    else:
        file = ("badge.svg", baking.bake_svg(baking.default_badge_svg("x"), credential).encode())
        media = "image/svg+xml"
    response = post(client, file=(file[0], file[1], media))
    assert response.status_code == 200 and verdict_of(response) == "VALID"
    assert f"It was read from the badge image ({kind.upper()})" in text_of(response)
    assert [(e.source, e.verdict) for e in events(db)] == [("upload", "VALID")]


def test_tampered_json_is_invalid_and_names_the_signature(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, award = issue(db, settings)
    # Verified once intact first: nothing about that verdict may carry over to a copy.
    assert verdict_of(post(client, text=json.dumps(award.credential))) == "VALID"
    tampered = copy.deepcopy(award.credential)
    tampered["credentialSubject"]["achievement"]["name"] = "Brain Surgery"
    response = post(client, text=json.dumps(tampered))
    assert response.status_code == 200 and verdict_of(response) == "INVALID"
    words = text_of(response)
    assert "The signature does not match the content" in words
    assert re.search(r"proof\s+failed", words)
    assert [e.verdict for e in events(db)] == ["VALID", "INVALID"]


def test_revoking_shows_at_once_on_every_way_in(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t, award = issue(db, settings)
    text = json.dumps(award.credential)
    assert verdict_of(post(client, text=text)) == "VALID"
    assert verdict_of(client.get("/verify", params={"url": award.credential["id"]})) == "VALID"
    service.change_status(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        award_id=award.id,
        action="revoke",
        reason="issued in error",
    )
    db.commit()
    for response in (
        post(client, text=text),
        client.get("/verify", params={"url": award.credential["id"]}),
    ):
        assert verdict_of(response) == "INVALID"
        assert "This credential could not be verified. The issuer has revoked this credential." in (
            text_of(response)
        )


def test_json_that_is_not_open_badges_3(client: TestClient, db: Session) -> None:
    ob2 = {"@context": "https://w3id.org/openbadges/v2", "type": "Assertion", "id": "urn:x"}
    response = post(client, text=json.dumps(ob2))
    assert response.status_code == 200 and verdict_of(response) == "INVALID"
    assert "This is not an Open Badges 3.0 credential" in text_of(response)
    assert [(e.source, e.verdict, e.award_id) for e in events(db)] == [("paste", "INVALID", None)]


def test_broken_json(client: TestClient, db: Session) -> None:
    response = post(client, text='{"@context": ["https://www.w3.org/ns/credentials/v2",')
    assert response.status_code == 200 and verdict_of(response) == "INVALID"
    assert "This is not valid JSON" in text_of(response)
    # What was pasted comes back, so it can be fixed.
    assert "https://www.w3.org/ns/credentials/v2" in response.text.split("<textarea")[1]


def test_png_without_a_credential(client: TestClient, db: Session) -> None:
    png = baking.default_badge_png(64, label="plain")
    response = post(client, file=("photo.png", png, "image/png"))
    assert response.status_code == 200 and verdict_of(response) == "INVALID"
    assert "This file carries no credential" in text_of(response)
    assert [(e.source, e.verdict) for e in events(db)] == [("upload", "INVALID")]


def test_a_pdf_goes_to_the_verifier(client: TestClient, db: Session) -> None:
    """PDF certificates are read by the verifier (the credential is attached); one without a
    credential is a verdict that says so, not a refused upload."""
    response = post(client, file=("scan.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"))
    assert response.status_code == 200 and verdict_of(response) == "INVALID"
    assert [(e.source, e.verdict) for e in events(db)] == [("upload", "INVALID")]


def test_did_key_credential_of_another_issuer_is_valid(client: TestClient, db: Session) -> None:
    response = post(client, file=("other.json", json.dumps(did_key_credential()).encode(), ""))
    assert response.status_code == 200 and verdict_of(response) == "VALID"
    words = text_of(response)
    assert "Signed by Other College (did:key:" in words
    assert "Issued elsewhere; this platform keeps no register of it" in words
    [event] = events(db)
    assert (event.verdict, event.award_id, event.institution_id) == ("VALID", None, None)


def unreachable_did_web_credential() -> dict[str, Any]:
    return foreign(
        "did:web:unreachable.invalid",
        keys.Ed25519KeyPair.generate(),
        "did:web:unreachable.invalid#key-1",
    )


def test_unreachable_did_web_issuer_is_said_plainly(
    remote_client: TestClient, db: Session, no_network: list[httpx.Request]
) -> None:
    response = post(remote_client, text=json.dumps(unreachable_did_web_credential()))
    assert response.status_code == 200 and verdict_of(response) == "INVALID"
    assert (
        "The issuer's DID document at https://unreachable.invalid/.well-known/did.json could "
        "not be reached, so the signature cannot be checked; try again later or ask the issuer."
    ) in text_of(response)
    # `.invalid` never resolves, so the address check stops it before any request is sent.
    assert no_network == []


def test_did_web_issuer_when_this_server_stays_offline(client: TestClient) -> None:
    response = post(client, text=json.dumps(unreachable_did_web_credential()))
    assert verdict_of(response) == "INVALID"
    assert "This server does not contact other issuers' servers" in text_of(response)


def test_our_id_signed_outside_the_register_fails_the_recorded_check(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """A credential signed with our issuer's key (say, a leaked one) that the register never
    issued: the signature holds, the register does not."""
    _, award = issue(db, settings)
    pair = corpus._issuer_pair(db, settings, award)
    forged = corpus._unsigned(award.credential)
    forged["id"] = f"{settings.public_base_url}/credentials/00000000-0000-4000-8000-000000000000"
    signed = corpus._resign(forged, pair, award.credential["proof"]["verificationMethod"])
    verdict = service.verify_document(db, settings=settings, data=signed)
    failed = [c.name for c in verdict.failures]
    assert failed == ["recorded"], verdict.to_dict()
    response = post(client, text=json.dumps(signed))
    assert verdict_of(response) == "INVALID"
    assert "The issuer's register has no record of this credential" in text_of(response)


# --- input that cannot be verified ---------------------------------------------------------------


def test_a_file_that_is_no_credential_format(client: TestClient, db: Session) -> None:
    response = post(client, file=("notes.txt", b"Dear hiring manager,\n", "text/plain"))
    assert response.status_code == 415
    assert "This file is not a credential: upload the JSON file, the badge image (PNG/SVG) or " in (
        text_of(response)
    )
    assert 'role="alert"' in response.text and 'aria-invalid="true"' in response.text
    assert events(db) == []


def test_empty_submission(client: TestClient, db: Session) -> None:
    response = post(client, text="   ")
    assert response.status_code == 422
    assert "There is nothing to verify" in text_of(response)
    empty_file = post(client, file=("credential.json", b"", "application/json"))
    assert empty_file.status_code == 422 and "The file is empty" in text_of(empty_file)
    assert events(db) == []


def test_two_credentials_at_once(client: TestClient, db: Session) -> None:
    response = post(client, text="{}", file=("c.json", b"{}", "application/json"))
    assert response.status_code == 422 and "Give one credential at a time" in text_of(response)
    assert events(db) == []


def test_oversized_upload(client: TestClient, db: Session, settings: Settings) -> None:
    limit = verify_views.upload_limit(settings)
    response = post(client, file=("huge.json", b"{" + b" " * limit, "application/json"))
    assert response.status_code == 413
    assert "The file is larger than" in text_of(response)
    # Past the app's own body limit the request is refused before any route reads it.
    beyond = post(client, file=("huge.png", b"\x00" * (settings.max_upload_bytes + 1), "image/png"))
    assert beyond.status_code == 413
    assert events(db) == []


def test_oversized_paste(client: TestClient, db: Session) -> None:
    response = post(client, text="{" + " " * verify_views.MAX_PASTE_BYTES + "}")
    assert response.status_code == 413
    assert "The pasted text is larger than" in text_of(response)
    assert events(db) == []


def test_missing_or_wrong_csrf_token(client: TestClient, db: Session) -> None:
    for token in ("", "forged"):
        response = post(client, text=json.dumps(did_key_credential()), token=token)
        assert response.status_code == 403
        assert "This form expired" in text_of(response)
    # Without the cookie at all (a cross-site form post).
    fresh = TestClient(client.app, base_url="https://microcred.test")
    response = fresh.post(
        "/verify",
        data={"csrf_token": "x", "credential": "{}"},
        files={"file": ("", b"")},
        headers=HTML,
    )
    assert response.status_code == 403
    assert events(db) == []


# --- links -------------------------------------------------------------------------------------


def test_link_of_ours_uses_the_stored_credential(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """Private by default, yet verifiable: the link itself is the holder's share."""
    _, award = issue(db, settings)
    response = client.get("/verify", params={"url": award.credential["id"]}, headers=HTML)
    assert response.status_code == 200 and verdict_of(response) == "VALID"
    assert "The issuer's register holds this exact credential." in text_of(response)
    posted = post(client, url=award.credential["id"])
    assert verdict_of(posted) == "VALID"
    assert [(e.source, e.award_id) for e in events(db)] == [
        ("link", award.id),
        ("link", award.id),
    ]


def test_link_of_ours_that_does_not_exist(client: TestClient, db: Session) -> None:
    url = "https://microcred.test/credentials/00000000-0000-4000-8000-000000000000"
    response = client.get("/verify", params={"url": url}, headers=HTML)
    assert response.status_code == 404
    assert "There is no credential at this address on this platform" in text_of(response)
    assert events(db) == []


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("not a link", 422, "This is not a web address"),
        ("https://other.example/c/1", 422, "This server does not open links to other websites"),
    ],
)
def test_links_this_server_does_not_open(
    client: TestClient, db: Session, url: str, status: int, message: str
) -> None:
    response = client.get("/verify", params={"url": url}, headers=HTML)
    assert response.status_code == status and message in text_of(response)
    assert events(db) == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://other.example/c/1", "Only https:// links are opened"),
        ("https://127.0.0.1/c/1", "private network"),
        ("https://[::1]/c/1", "private network"),
        ("https://localhost/c/1", "private network"),
        ("https://10.1.2.3:8443/c/1", "private network"),
    ],
)
def test_remote_links_refused_before_any_request(
    remote_client: TestClient, db: Session, no_network: list[httpx.Request], url: str, message: str
) -> None:
    response = remote_client.get("/verify", params={"url": url}, headers=HTML)
    assert response.status_code == 422 and message in text_of(response)
    assert no_network == [] and events(db) == []


def test_a_host_that_also_resolves_privately_is_refused(
    remote_client: TestClient, monkeypatch: pytest.MonkeyPatch, no_network: list[httpx.Request]
) -> None:
    monkeypatch.setattr(verify_views, "resolve_host", lambda host, port: ["93.184.215.14", "::1"])
    response = remote_client.get(
        "/verify", params={"url": "https://rebind.example/c"}, headers=HTML
    )
    assert response.status_code == 422 and no_network == []


def test_remote_link_is_fetched_from_the_checked_address(
    remote_client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    credential = did_key_credential()
    seen: list[httpx.Request] = []

    def answer(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=json.dumps(credential).encode())

    monkeypatch.setattr(verify_views, "resolve_host", lambda host, port: ["93.184.215.14"])
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", answer)
    response = remote_client.get(
        "/verify", params={"url": "https://other.example/credentials/42"}, headers=HTML
    )
    assert response.status_code == 200 and verdict_of(response) == "VALID"
    [request] = seen
    assert str(request.url) == "https://93.184.215.14/credentials/42"
    assert request.headers["host"] == "other.example"
    assert request.extensions["sni_hostname"] == "other.example"
    assert request.headers["accept"] == "application/vc+ld+json, application/json"
    assert [(e.source, e.verdict) for e in events(db)] == [("link", "VALID")]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (httpx.Response(404), "answered HTTP 404"),
        (httpx.Response(302, headers={"location": "https://x.example/"}), "redirects"),
        (httpx.Response(200, content=b"{" + b" " * (1024 * 1024)), "larger than 1 MB"),
    ],
)
def test_remote_link_that_cannot_be_used(
    remote_client: TestClient,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
    answer: httpx.Response,
    message: str,
) -> None:
    monkeypatch.setattr(verify_views, "resolve_host", lambda host, port: ["93.184.215.14"])
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", lambda self, request: answer)
    response = remote_client.get(
        "/verify", params={"url": "https://other.example/c/1"}, headers=HTML
    )
    assert response.status_code == 502 and message in text_of(response)
    assert events(db) == []


def test_remote_link_unreachable(
    remote_client: TestClient,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
    no_network: list[httpx.Request],
) -> None:
    monkeypatch.setattr(verify_views, "resolve_host", lambda host, port: ["93.184.215.14"])
    response = remote_client.get(
        "/verify", params={"url": "https://other.example/c/1"}, headers=HTML
    )
    assert response.status_code == 502
    assert "The link could not be opened: other.example could not be reached" in text_of(response)
    assert len(no_network) == 1 and events(db) == []


def test_remote_host_that_does_not_exist(
    remote_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unknown(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    monkeypatch.setattr(verify_views, "resolve_host", unknown)
    response = remote_client.get(
        "/verify", params={"url": "https://nowhere.example/c/1"}, headers=HTML
    )
    assert response.status_code == 502 and "could not be found" in text_of(response)
