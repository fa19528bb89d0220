"""Browser tests: Debian's Chromium driven by Playwright's sync API against the app under uvicorn
(`live_server_url`), on the test database.

They run in their own pytest invocation (`make test` runs them after the rest; by hand:
``INFERGATE_BROWSER_TESTS=1 pytest tests/browser``), because Playwright's sync API and pytest-asyncio's
event loops do not share one process well. Screenshots of each state go to ``$INFERGATE_ARTIFACTS``
(default ``.data/artifacts``)/screenshots, to be looked at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in this thread, so Django would refuse ORM calls from the
# tests (fixtures that create users and keys); this process runs browser tests only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


def chromium_path() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("Chromium is not installed: `make test` installs Debian's chromium package")
    return found


def artifacts_dir() -> Path:
    root = Path(os.environ.get("INFERGATE_ARTIFACTS", Path(settings.BASE_DIR) / ".data" / "artifacts"))
    path = root / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser, live_server_url):
    """A fresh browser profile at 1280x800 with the live server as its base URL; console errors are
    collected on ``context.console_errors`` so that tests can assert a page logged none."""
    ctx = browser.new_context(base_url=live_server_url, viewport={"width": 1280, "height": 800})
    ctx.console_errors = []
    ctx.live_server_url = live_server_url
    ctx.on("page", lambda page: page.on(
        "console", lambda message: message.type == "error" and ctx.console_errors.append(message.text)))
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot named after the state it shows."""
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def session_sign_in(context, user) -> None:
    """Sign ``user`` in by giving the browser a real Django session cookie (the login form has its own
    test); the session is stored in the test database that the live server reads."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key,
                          "url": context.live_server_url}])
