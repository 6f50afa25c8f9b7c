"""A staff member reads an organization's figures on the admin usage-stats page, in Chromium.

Drives Debian's `chromium` (no browser can be downloaded here) through Playwright against
pytest-django's live server. Skipped only where chromium is missing outside CI.
"""

import os
import shutil
from urllib.parse import urlsplit

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


@pytest.mark.django_db(transaction=True)
def test_staff_draws_a_weekly_series_and_nothing_leaves_the_machine(live_server, operator, request):
    create_dataset()
    page = request.getfixturevalue("browser_page")
    requested: list[str] = []
    page.on("request", lambda sent: requested.append(sent.url))

    page.goto(f"{live_server.url}/admin/asteragents/organization/usage-stats/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    page.wait_for_selector("#usage-stats-form")
    page.select_option("#id_organization", ORG)
    page.fill("#id_start", "2024-03-01")
    page.fill("#id_end", "2024-03-31")
    page.fill("#id_tz", "Europe/Berlin")
    page.select_option("#id_interval", "week")
    page.select_option("#id_group_by", "agent")
    page.fill("#id_limit", "1")
    page.check("#id_compare")
    page.click("input[name=_show]")

    page.wait_for_selector("#usage-chart")
    chart = page.locator("#usage-chart")
    bars = chart.locator("rect.bar")
    titles = bars.evaluate_all(
        "rects => rects.map(rect => rect.querySelector('title').textContent)"
    )
    values = bars.evaluate_all("rects => rects.map(rect => Number(rect.dataset.value))")
    box = chart.bounding_box()
    if directory := os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(directory, "usage-stats-series.png"), full_page=True)

    # Berlin's ISO weeks from Monday Feb 26 to Monday Mar 25: m1, m2 | m3 | - | m4 | -.
    assert bars.count() == 5
    assert values == [2, 1, 0, 1, 0]
    assert titles[0] == "2024-02-26T00:00:00+01:00 – 2024-03-04T00:00:00+01:00: 2"
    assert titles[-1] == "2024-03-25T00:00:00+01:00 – 2024-04-01T00:00:00+02:00: 0"
    assert box is not None and box["width"] > 600  # drawn across the page, not collapsed
    # Bars are drawn to scale: the first (2 messages) is twice the height of the second (1).
    heights = bars.evaluate_all("rects => rects.map(rect => rect.getBBox().height)")
    assert heights[0] == pytest.approx(2 * heights[1])
    assert page.locator("#usage-series tbody tr").count() == 5
    assert page.locator("#usage-breakdown tr.others-row").count() == 1
    assert page.get_attribute("#usage-breakdown-note", "data-truncated") == "true"
    assert page.text_content('[data-delta="messageCount"]') == "+4"
    # The form keeps what was asked.
    assert page.input_value("#id_tz") == "Europe/Berlin"
    assert page.input_value("#id_interval") == "week"
    # Every request the page made went to the live server on this machine.
    hosts = {urlsplit(url).hostname for url in requested if not url.startswith("data:")}
    assert requested and hosts <= {"127.0.0.1", "localhost"}, requested
