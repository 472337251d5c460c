"""Every file a learner can share carries a credential that Digital Bazaar's verifier accepts.

The credential is taken out of the baked PNG, the baked SVG and the PDF certificate by
tests/interop/extract.mjs, a Node extractor that shares no code with ours (none of the
extraction in this test is ours), then verified by the pinned peer verifier
(tests/interop/verify.mjs) with the status list our platform publishes. Our own extraction
and verifier are run on the same files for comparison.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microcred import demo
from microcred.credentials import baking, certificate
from microcred.credentials import service as credentials
from microcred.kit.settings import Settings
from tests import factories
from tests.credentials.test_certificate import swap_attachment
from tests.credentials.test_tamper_corpus import INTEROP, run_peer

pytestmark = pytest.mark.interop


def run_extractor(files: list[Path]) -> dict[str, dict[str, Any]]:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: the interop checks need Node 20")
    done = subprocess.run(
        ["node", str(INTEROP / "extract.mjs"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)["results"]
    return {Path(r["file"]).name: r for r in results}


def test_the_peer_verifies_the_credential_in_every_share_format(
    db: Session, settings: Settings, tmp_path: Path
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    learner = factories.learner(db, t, display_name="Ada Lovelace")
    award, _ = credentials.issue_award(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        achievement_id=achievement.id,
        learner_id=learner.id,
    )
    credential: dict[str, Any] = award.credential
    compact = json.dumps(credential)
    label = achievement.name
    forged = copy.deepcopy(credential)
    forged["credentialSubject"]["achievement"]["name"] = "Brain Surgery"

    files = {
        "badge.png": baking.bake_png(baking.default_badge_png(size=128, label=label), compact),
        "badge.svg": baking.bake_svg(baking.default_badge_svg(label), compact).encode(),
        "certificate.pdf": certificate.certificate_pdf(
            credential, learner_name="Ada Lovelace", verify_url=credential["id"]
        ),
        "forged.pdf": certificate.certificate_pdf(
            forged, learner_name="Ada Lovelace", verify_url=credential["id"]
        ),
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)

    extracted = run_extractor(paths)
    expected_text = {
        "badge.png": compact,
        "badge.svg": compact,
        "certificate.pdf": json.dumps(credential, indent=2),
        "forged.pdf": json.dumps(forged, indent=2),
    }
    expected_format = {"badge.png": "png", "badge.svg": "svg"}
    for name, text in expected_text.items():
        result = extracted[name]
        assert "error" not in result, result
        assert result["format"] == expected_format.get(name, "pdf")
        # Byte-exact: the files carry the very text that was signed, not a re-serialisation.
        assert result["credential"] == text, name

    status_url = credential["credentialStatus"]["statusListCredential"]
    published = credentials.PlatformResolver(db, settings).status_list_credential(status_url)
    peer = run_peer(
        {
            "documents": {status_url: published},
            "checkStatus": True,
            "credentials": [
                {"name": name, "credential": json.loads(extracted[name]["credential"])}
                for name in expected_text
            ],
        }
    )
    verdicts = {r["name"]: r for r in peer["results"]}
    for name in ("badge.png", "badge.svg", "certificate.pdf"):
        assert verdicts[name]["verified"] is True, verdicts[name]
        assert verdicts[name]["statusOk"] is True, verdicts[name]
    assert verdicts["forged.pdf"]["verified"] is False
    assert "Invalid signature." in verdicts["forged.pdf"]["errors"], verdicts["forged.pdf"]

    # Our extraction and verifier reach the same verdicts on the same files.
    for name, data in files.items():
        ours = credentials.verify_document(db, settings=settings, data=data)
        assert ours.valid is verdicts[name]["verified"], (name, ours.to_dict())


def test_the_node_extractor_refuses_what_carries_no_credential(tmp_path: Path) -> None:
    plain_png = tmp_path / "plain.png"
    plain_png.write_bytes(baking.default_badge_png(size=32, label="x"))
    plain_svg = tmp_path / "plain.svg"
    plain_svg.write_text(baking.default_badge_svg("x"))
    printout = tmp_path / "printout.pdf"
    # A certificate's look without its attachment, as "print to PDF" of the page gives.
    pdf = certificate.certificate_pdf(
        {"id": "https://microcred.test/credentials/1", "name": "Printed"},
        learner_name="Ada Lovelace",
        verify_url="https://microcred.test/credentials/1",
    )
    printout.write_bytes(swap_attachment(pdf, None))
    extracted = run_extractor([plain_png, plain_svg, printout])
    assert "openbadgecredential" in extracted["plain.png"]["error"]
    assert "no Open Badges 3.0 credential" in extracted["plain.svg"]["error"]
    assert "0 credential.json embedded files" in extracted["printout.pdf"]["error"]
    with pytest.raises(baking.BakingError, match="printout"):
        certificate.credential_from_pdf(printout.read_bytes())


def test_the_demo_credentials_served_files_verify_in_both_verifiers(
    client: TestClient, db: Session, settings: Settings, tmp_path: Path
) -> None:
    """The acceptance check as a learner meets it: the PDF, PNG and SVG that the running
    platform serves for a demo credential, verified by the peer and by us."""
    seeded = demo.seed(db, settings=settings, skills=False, ask=False)
    db.commit()
    award_id = seeded.award_ids[0]  # Amira's Python for Data Analysis, shared publicly
    base = f"/credentials/{award_id}"
    paths = []
    for name, url in (
        ("certificate.pdf", f"{base}/certificate.pdf"),
        ("badge.png", f"{base}/badge.png?download=1"),
        ("badge.svg", f"{base}/badge.svg?download=1"),
    ):
        served = client.get(url)
        assert served.status_code == 200, (url, served.text[:200])
        (tmp_path / name).write_bytes(served.content)
        paths.append(tmp_path / name)
    extracted = run_extractor(paths)
    stored = credentials.public_award(db, award_id=uuid.UUID(award_id)).credential
    status_url = stored["credentialStatus"]["statusListCredential"]
    published = credentials.PlatformResolver(db, settings).status_list_credential(status_url)
    payload = []
    for path in paths:
        result = extracted[path.name]
        assert "error" not in result, result
        assert json.loads(result["credential"]) == stored
        payload.append({"name": path.name, "credential": json.loads(result["credential"])})
    peer = run_peer(
        {"documents": {status_url: published}, "checkStatus": True, "credentials": payload}
    )
    for verdict in peer["results"]:
        assert verdict["verified"] is True and verdict["statusOk"] is True, verdict
    for path in paths:
        ours = credentials.verify_document(db, settings=settings, data=path.read_bytes())
        assert ours.verdict == "VALID", (path.name, ours.to_dict())
