"""A learner's record from sign-in to sharing: annotate a project, turn sharing on, follow the
LinkedIn link, download the PDF (rendered with pdftoppm, not blank) and the baked badge (which
verifies). Every page is audited with axe-core; screenshots go to test-artifacts/browser."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from playwright.sync_api import Page, Route, expect

from microcred.credentials import service
from microcred.kit.db import unit_of_work
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveSite, screenshot
from tests.browser.test_projects_and_console import sign_in

pytestmark = pytest.mark.browser


def verdict_of(site: LiveSite, data: bytes) -> str:
    with unit_of_work(site.sessions) as session:
        return service.verify_document(session, settings=site.settings, data=data).verdict


def test_learner_annotates_shares_and_downloads_a_credential(
    page: Page, live_site: LiveSite, tmp_path: Path
) -> None:
    site, seeded = live_site, live_site.seeded
    sql_award = seeded.award_ids[1]  # Amira's SQL Foundations: private, never shared
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, site, seeded.learner_email)
    expect(page).to_have_url(f"{site.base_url}/me")
    expect(page.get_by_role("heading", name="My credentials")).to_be_visible()
    assert_accessible(page, context="learner-dashboard")
    screenshot(page, "learner-dashboard")

    page.get_by_role("link", name="SQL Foundations").click()
    expect(page.get_by_role("heading", name="Share your new credential")).to_be_visible()
    expect(page.get_by_text("Your record is private.")).to_be_visible()
    assert_accessible(page, context="learner-record")

    note = "I wrote the window-function queries for the bike-share station report myself."
    page.get_by_label("Your note on this work").fill(note)
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_role("status").filter(has_text="Note saved")).to_be_visible()
    expect(page.get_by_label("Your note on this work")).to_have_value(note)

    page.get_by_label("Sharing on").check()
    page.get_by_role("button", name="Save privacy choices").click()
    expect(page.get_by_text("Sharing is on")).to_be_visible()
    screenshot(page, "learner-record-shared")

    # LinkedIn is not reachable from here: answer for it and keep the URL the browser asked for.
    asked: list[str] = []

    def linkedin(route: Route) -> None:
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>LinkedIn</title>")

    page.route("https://www.linkedin.com/**", linkedin)
    page.get_by_role("link", name="Add to LinkedIn profile").click()
    expect(page).to_have_title("LinkedIn")
    target = urlsplit(asked[-1])
    params = {k: v[0] for k, v in parse_qs(target.query).items()}
    credential_url = f"{site.base_url}/credentials/{sql_award}"
    assert target.netloc == "www.linkedin.com" and target.path == "/profile/add"
    assert params["name"] == "SQL Foundations"
    assert params["organizationName"] == "Demo University"
    assert params["certUrl"] == credential_url and params["certId"] == sql_award
    assert 1 <= int(params["issueMonth"]) <= 12

    page.goto(f"{site.base_url}/me/credentials/{sql_award}")
    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Download the PDF certificate").click()
    pdf = tmp_path / "certificate.pdf"
    pdf_download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    rendered = next(tmp_path.glob("page*.png"))
    grey = Image.open(rendered).convert("L")
    dark = sum(grey.histogram()[:200])
    assert dark / (grey.width * grey.height) > 0.02, "the PDF page is blank"
    artefact = Path(screenshot(page, "learner-record-downloads")).parent / "certificate-page1.png"
    artefact.write_bytes(rendered.read_bytes())
    assert verdict_of(site, pdf.read_bytes()) == "VALID"

    with page.expect_download() as png_download:
        page.get_by_role("link", name="Badge image (PNG)").click()
    png = tmp_path / "badge.png"
    png_download.value.save_as(png)
    assert verdict_of(site, png.read_bytes()) == "VALID"

    # The public page, as an employer following the shared link sees it.
    page.context.clear_cookies()
    page.goto(credential_url)
    expect(page.get_by_role("heading", name="SQL Foundations")).to_be_visible()
    expect(page.get_by_text(note)).to_be_visible()
    og_image = page.locator('meta[property="og:image"]').get_attribute("content")
    assert og_image == f"{credential_url}/share.png"
    assert_accessible(page, context="public-credential-shared")
    screenshot(page, "public-credential-shared")
    share_png = page.request.get(og_image)
    assert share_png.ok and share_png.headers["content-type"] == "image/png"
    share_file = tmp_path / "share.png"
    share_file.write_bytes(share_png.body())
    with Image.open(share_file) as shown:
        assert shown.width >= 1200 and shown.height >= 627
    # No third-party requests: everything but the LinkedIn hand-off came from this site.
    foreign = [u for u in requested if not u.startswith((site.base_url, "data:"))]
    assert all(u.startswith("https://www.linkedin.com/profile/add?") for u in foreign), foreign


def test_a_private_record_is_not_found_by_others(page: Page, live_site: LiveSite) -> None:
    site, seeded = live_site, live_site.seeded
    private_award = seeded.award_ids[3]  # Jonas's Data Mining Essentials: never made public
    response = page.goto(f"{site.base_url}/credentials/{private_award}")
    assert response is not None and response.status == 404
    expect(page.get_by_text("no public credential at this address")).to_be_visible()
    assert_accessible(page, context="private-credential")
    sign_in(page, site, "li.wei@example.org")
    response = page.goto(f"{site.base_url}/me/credentials/{private_award}")
    assert response is not None and response.status == 404
