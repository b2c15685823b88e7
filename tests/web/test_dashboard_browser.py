"""The dashboard in a real headless Chromium (Debian's, driven by playwright),
on a real `newsmon run`: the page asks for the token, shows a story published
after it was opened without a reload, its matched term highlighted, and a rule
muted from the page alerts no one on the next story it matches.

Chromium is /usr/bin/chromium (scripts/test installs it); without it this
test skips, and fails under CI=true."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from tests.feedserver import rss
from tests.web.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.web.conftest import WebService

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

RULES = """\
rules:
  - name: port-strike
    match: 'strike NEAR/4 (dockers OR harbour OR port)'
  - name: canal-closure
    match: 'canal NEAR/3 closed'
"""
NOW = datetime.now(UTC).replace(microsecond=0)


def story(n: int, title: str, summary: str) -> dict[str, object]:
    return {
        "title": title,
        "link": f"https://news.example.org/ports/{n}",
        "guid": f"port-{n}",
        "description": summary,
        "pubDate": NOW - timedelta(minutes=10 - n),
    }


FIRST = story(
    1,
    "Dockers strike at Rotterdam harbour over automation plans",
    "Container traffic stopped overnight as dockers began a 48-hour strike at the harbour.",
)
SECOND = story(
    2,
    "Port strike spreads to Antwerp as talks stall",
    "Unions said the strike at the port would go on until the terminal operators return.",
)
THIRD = story(
    3,
    "Suez Canal closed to shipping after a grounding",
    "Traffic through the canal was closed in both directions on Monday.",
)


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() in {"true", "1", "yes"}:
        pytest.fail(f"{reason}; CI requires it (scripts/test installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _missing(f"no {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed: scripts/setup --dev")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_dashboard(browser: Browser, web: WebService) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{web.base}/")
    page.wait_for_selector("#token-dialog[open]")  # the API answered 401: the page asks
    page.fill("#token-input", web.token)
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#live[data-state='live']")
    return page


def test_a_new_alert_appears_live_and_a_rule_muted_from_the_page_stops_alerting(
    web_service: WebService, browser: Browser
) -> None:
    service = web_service.service
    service.feeds.set_feed("/world.rss", rss([]))
    service.wait_polls("/world.rss", 1)  # running, its rule watch in place
    (service.rules / "ports.yaml").write_text(RULES)
    service.wait_log("rules reloaded")
    page = open_dashboard(browser, web_service)
    assert page.evaluate("localStorage.getItem('newsmon.token')") == web_service.token
    page.evaluate("window.openedOnce = true")  # gone if the page reloads
    assert page.locator("li.alert").count() == 0

    service.feeds.set_feed("/world.rss", rss([FIRST]))
    card = page.locator("li.alert", has_text=str(FIRST["title"]))
    card.wait_for(timeout=30_000)
    assert page.evaluate("window.openedOnce") is True
    marks = {m.lower() for m in card.locator(".snippet mark").all_inner_texts()}
    assert "strike" in marks
    assert "port-strike" in card.locator(".chip.rule-chip").all_inner_texts()
    # feed text is text: the snippet holds no markup but the marks
    assert card.locator(".snippet *").count() == card.locator(".snippet mark").count()

    rule = page.locator("li.rule[data-rule='port-strike']")
    rule.locator("summary", has_text="Mute").click()
    rule.locator("button[data-span='1h']").click()
    rule.locator(".badge", has_text="muted").wait_for()

    service.feeds.set_feed("/world.rss", rss([FIRST, SECOND]))
    service.wait_log(f"muted, no alert for port-strike: {SECOND['title']}")
    # a later alert of another rule arrives: the stream goes in order, so had
    # the muted story alerted, it would be on the page before this one
    service.feeds.set_feed("/world.rss", rss([FIRST, SECOND, THIRD]))
    page.locator("li.alert", has_text=str(THIRD["title"])).wait_for(timeout=30_000)
    assert page.locator("li.alert", has_text=str(SECOND["title"])).count() == 0
    assert page.locator("li.alert").count() == 2
    chats = [str(body) for body in service.webhook.bodies]
    assert not any(str(SECOND["title"]) in chat for chat in chats)
