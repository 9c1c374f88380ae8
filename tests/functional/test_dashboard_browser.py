"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright, on
the dashboard of a running ``cronbridge local --serve``.

It sees every job, triggers a run and watches it appear, pauses and resumes a job, and
redrives a dead letter; on the way it refreshes the screenshots in ``docs/``. ``make test``
installs Chromium when it is missing (Playwright cannot download its browsers here).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import ROOT, serve
from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Generous ceilings: the machine is shared and a served slot runs in real time.
TIMEOUT_MS = 120_000
JOBS = ("cache-refresh", "customer-digest", "daily-aggregation", "email-outbox", "health-report",
        "log-purge", "regional-export")
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("dashboard")) as running:
        line = running.wait_for("Dashboard:", timeout=TIMEOUT_MS / 1000)
        yield line.split("Dashboard:", 1)[1].strip()


@pytest.fixture(scope="module")
def page(dashboard: str) -> Iterator[Page]:
    assert Path(CHROMIUM).exists(), "make test installs chromium (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, base_url=dashboard)
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        yield page
        browser.close()


def flash_slot(page: Page) -> str:
    """The slot id a trigger's flash message names."""
    expect(page.get_by_test_id("flash")).to_contain_text("triggered")
    match = re.search(r"slot (manual:\S+)", page.get_by_test_id("flash").inner_text())
    assert match, page.get_by_test_id("flash").inner_text()
    return match.group(1)


def test_an_operator_sees_triggers_pauses_and_redrives_in_the_browser(page: Page) -> None:
    page.goto("/")
    rows = page.locator("tr[data-job]")
    expect(rows).to_have_count(len(JOBS))
    for job in JOBS:
        expect(page.locator(f'tr[data-job="{job}"]')).to_contain_text("enabled")
    page.screenshot(path=DOCS / "dashboard-jobs.png", full_page=True)

    # Trigger a run and watch it appear, live, and succeed.
    page.get_by_role("link", name="health-report").click()
    page.get_by_test_id("trigger").click()
    slot = flash_slot(page)
    row = page.locator(f'tr[data-slot="{slot}"]')
    expect(row).to_contain_text("SUCCEEDED")
    expect(page.get_by_test_id("timeline")).to_be_visible()
    page.screenshot(path=DOCS / "dashboard-job.png", full_page=True)
    row.get_by_role("link").click()
    expect(page.get_by_test_id("run-status")).to_have_text("SUCCEEDED")
    page.screenshot(path=DOCS / "dashboard-run.png", full_page=True)

    # Pause with a note, then resume.
    page.goto("/jobs/log-purge")
    page.get_by_label("pause note").fill("disk maintenance")
    page.get_by_test_id("pause").click()
    expect(page.get_by_test_id("state")).to_have_text("paused")
    expect(page.get_by_test_id("switch")).to_contain_text("by dashboard")
    expect(page.get_by_test_id("switch")).to_contain_text("disk maintenance")
    page.get_by_test_id("resume").click()
    expect(page.get_by_test_id("state")).to_have_text("enabled")
    page.goto("/")
    expect(page.locator('tr[data-job="log-purge"]')).to_contain_text("resumed by dashboard")

    # A run that fails for good lands in the DLQ; redrive it and see it run again.
    page.goto("/jobs/daily-aggregation")
    page.get_by_label("payload").fill('{"date": "yesterday"}')  # must be YYYY-MM-DD
    page.get_by_test_id("trigger").click()
    slot = flash_slot(page)
    expect(page.locator(f'tr[data-slot="{slot}"]')).to_contain_text("DEAD")
    expect(page.get_by_test_id("letters")).to_contain_text(slot)
    page.screenshot(path=DOCS / "dashboard-dlq.png", full_page=True)
    page.get_by_test_id("redrive").click()
    expect(page.get_by_test_id("flash")).to_contain_text("moved 1")
    # The payload is still bad: the redriven slot runs once more and is DEAD again.
    expect(page.locator(f'tr[data-slot="{slot}"]')).to_contain_text("redrive")
    expect(page.locator(f'tr[data-slot="{slot}"]')).to_contain_text("2/")
