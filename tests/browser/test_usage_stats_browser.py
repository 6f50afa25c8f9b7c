"""A staff member reads an organization's figures on the admin usage-stats page, in Chromium.

Drives Debian's `chromium` (no browser can be downloaded here) through Playwright against
pytest-django's live server. Skipped only where chromium is missing outside CI.
"""

import os
import shutil

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from tests.admin.dataset import MARCH_AGENT_8, ORG, create_dataset

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None and not os.environ.get("CI"),
        reason="chromium is not installed (apt-get install chromium); CI always runs this test",
    ),
]


@pytest.fixture
def operator(db):
    user = get_user_model().objects.create_user("operator", password=PASSWORD, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_organization"))
    return user


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "CI is set but chromium is not on the PATH: .ci/run must install it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.set_default_timeout(15_000)
        yield page
        browser.close()


# The live server is another thread: its data must be committed, not in a test transaction.
@pytest.mark.django_db(transaction=True)
def test_staff_reads_the_figures_for_an_organization_and_an_agent(live_server, operator, request):
    # Everything in the database is written before Playwright starts: its event loop makes
    # this thread async as far as Django's ORM is concerned.
    create_dataset()
    page = request.getfixturevalue("browser_page")

    page.goto(f"{live_server.url}/admin/asteragents/organization/usage-stats/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    page.wait_for_selector("#usage-stats-form")
    page.select_option("#id_organization", ORG)
    page.fill("#id_start", "2024-03-01")
    page.fill("#id_end", "2024-03-31")
    page.fill("#id_agent", "8")
    page.click("input[name=_show]")

    page.wait_for_selector("#usage-figures")
    shown = page.eval_on_selector_all(
        "[data-figure]", "cells => cells.map(cell => [cell.dataset.figure, cell.textContent])"
    )
    if directory := os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(directory, "usage-stats.png"), full_page=True)

    assert dict(shown) == {name: f"{value:,}" for name, value in MARCH_AGENT_8.items()}
    assert dict(shown)["inputTokens"] == "2,200"
    assert dict(shown)["kbExtractInputTokens"] == "17,100"
    assert page.input_value("#id_agent") == "8"  # the form keeps what was asked
