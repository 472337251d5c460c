"""A real server on a free loopback port, seeded with the demo, and Debian's Chromium."""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from microcred import demo
from microcred.app import create_app
from microcred.kit import migrate
from microcred.kit.db import make_engine, make_sessionmaker, unit_of_work
from microcred.kit.settings import Settings

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@dataclass
class LiveSite:
    base_url: str
    settings: Settings
    sessions: sessionmaker[Session]
    seeded: demo.DemoSeed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    port = _free_port()
    folder = tmp_path_factory.mktemp("browser")
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{folder / 'site.db'}",
        secret_key="browser-" + "s" * 32,
        key_encryption_key=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        base_url=f"http://127.0.0.1:{port}",
        data_dir=folder,
        jobs_inline=False,
        verifier_fetch_remote=False,
        # What `make demo` runs on a fresh machine (no `ml` extra); the model has its own tests.
        embedder="hashed",
    )
    engine = make_engine(settings)
    with engine.begin() as connection:
        migrate.upgrade(connection)
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as session:
        seeded = demo.seed(session, settings=settings)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, session_factory=sessions),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield LiveSite(f"http://127.0.0.1:{port}", settings, sessions, seeded)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run scripts/ensure-chromium.sh (make test does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone first
    tab = context.new_page()
    yield tab
    context.close()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
