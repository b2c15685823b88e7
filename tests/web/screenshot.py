"""docs/dashboard.png: the dashboard of a real `newsmon run` on realistic news.

Run by ``scripts/screenshot`` (not a test). Two weeks of history are matched
first, on the shipped rules, from the labelled stories of
tests/data/eval/dev.jsonl (with a clock set back day by day, then marked
delivered), so the rules and feeds have days to chart; then the service
starts on loopback feeds, the seed article arrives from two outlets while the
page is open, one alert is acknowledged and one rule muted, as a user would,
and headless Chromium takes the picture.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.feedserver import FeedServer, rss
from tests.servers import SmtpSink, WebhookSink, free_port
from tests.web.chromium import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
TOKEN = "screenshot-token-0123456789"
FEEDS = {  # path: name (the outlets are made up; the stories are the labelled set's)
    "/world.rss": "Global Wire",
    "/asia.rss": "Asia Pacific Desk",
    "/markets.rss": "Markets & Trade",
    "/climate.rss": "Climate Desk",
    "/regional.rss": "Regional Herald",
}
FAILING = "/regional.rss"
TOPIC_FEED = {
    "taiwan": "/asia.rss",
    "us-china": "/world.rss",
    "tariffs": "/markets.rss",
    "climate-talks": "/climate.rss",
}
SEED = (DATA / "seed-article.txt").read_text()
SEED_TITLE = "Kerry tells China's Wang Yi US is 'very committed' to repairing strained ties"


def stories() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (DATA / "eval" / "dev.jsonl").open()]
    return [r for r in rows if r.get("lang", "en") == "en"]


def write_workspace(root: Path, feeds: FeedServer, smtp: SmtpSink, hook: WebhookSink) -> int:
    shutil.copytree(REPO / "rules", root / "rules")
    (root / "config").mkdir()
    (root / "config" / "apprise.yml").write_text(
        "version: 1\nurls:\n"
        f"  - {smtp.apprise_url()}:\n      tag: email\n"
        f"  - {hook.apprise_url('/newsroom')}:\n      tag: chat\n"
    )
    port = free_port()
    listed = "".join(
        f"  - url: {feeds.url(path)}\n    name: {name}\n    interval: 2s\n"
        for path, name in FEEDS.items()
    )
    (root / "config" / "monitor.yaml").write_text(
        f"feeds:\n{listed}rules: ../rules\nnotify: apprise.yml\ndata_dir: ../data\n"
        f"web:\n  listen: 127.0.0.1:{port}\n  token: {TOKEN}\n"
    )
    return port


async def history(root: Path, feeds: FeedServer, now: datetime) -> None:
    """Thirteen days of matches and quiet items, recorded as the service would."""
    from monitor.config import load_settings
    from monitor.core.items import Item
    from monitor.fetch.http import Fetcher
    from monitor.fetch.parse import FeedParser
    from monitor.notify.channels import load_channels
    from monitor.notify.deliver import Deliverer
    from monitor.pipeline import Stages
    from monitor.rules.rulebook import Rulebook
    from monitor.store import open_store

    settings = load_settings(root / "config" / "monitor.yaml")
    store = await open_store(settings.storage)
    rng = random.Random(10)
    pool = stories()
    rng.shuffle(pool)
    clock = [now]
    try:
        async with Fetcher() as fetcher, FeedParser(thread=True) as parser:
            stages = Stages.build(
                settings,
                store=store,
                rulebook=Rulebook(settings.rules_dir),
                deliverer=Deliverer(load_channels(settings.apprise_config)),
                fetcher=fetcher,
                parser=parser,
                clock=lambda: clock[0],
            )
            n = 0
            for back in range(13, 0, -1):
                day = now - timedelta(days=back)
                for k in range(rng.randint(9, 16)):
                    story = pool[n % len(pool)]
                    n += 1
                    topics = story.get("topics") or []
                    path = (
                        TOPIC_FEED.get(topics[0], "/world.rss")
                        if topics
                        else rng.choice(list(FEEDS))
                    )
                    clock[0] = day + timedelta(minutes=40 * k + rng.randint(0, 30))
                    item = Item(
                        fingerprint=f"history:{n}",
                        feed=feeds.url(path),
                        feed_title=FEEDS[path],
                        title=story["title"],
                        summary=story["summary"],
                        content="",
                        link=f"https://news.example.org/{path.strip('/').split('.')[0]}/{n}",
                        published=clock[0] - timedelta(minutes=20),
                    )
                    await stages.matching.match_all([item])
            # it all went out at the time
            while due := await store.claim_alerts(now, now + timedelta(minutes=5), 500):
                for alert in due:
                    await store.mark_delivered(alert.id, alert.created_at + timedelta(seconds=2))
    finally:
        await store.close()


def item(title: str, summary: str, link: str, minutes: int) -> dict[str, Any]:
    return {
        "title": title,
        "link": link,
        "guid": link,
        "description": summary,
        "pubDate": datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes),
    }


def call(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def wait(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise SystemExit(f"screenshot: timed out waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "dashboard.png")
    parser.add_argument("--dark", action="store_true", help="the dark colour scheme")
    parser.add_argument("--width", type=int, default=1360)
    parser.add_argument("--height", type=int, default=1060)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    pool = stories()
    today = [s for s in pool if s["relevant"]][-40:]
    with (
        tempfile.TemporaryDirectory() as tmp,
        FeedServer() as feeds,
        SmtpSink() as smtp,
        WebhookSink() as hook,
    ):
        root = Path(tmp)
        port = write_workspace(root, feeds, smtp, hook)
        now = datetime.now(UTC)
        asyncio.run(history(root, feeds, now))
        # this morning's news, waiting in the feeds when the service starts
        for path in FEEDS:
            feeds.set_feed(path, rss([]))
        by_feed: dict[str, list[dict[str, Any]]] = {path: [] for path in FEEDS}
        for n, story in enumerate(today[:7]):
            topics = story.get("topics") or ["us-china"]
            path = TOPIC_FEED.get(topics[0], "/world.rss")
            link = f"https://news.example.org/today/{n}"
            by_feed[path].append(item(story["title"], story["summary"], link, 190 - 25 * n))
        # a syndicated story: two outlets, one alert, "also reported by"
        wire = today[7]
        by_feed["/world.rss"].append(
            item(wire["title"], wire["summary"], "https://news.example.org/today/wire", 70)
        )
        by_feed["/markets.rss"].append(
            item(wire["title"], wire["summary"], "https://markets.example.com/wire-copy", 65)
        )
        for path, items in by_feed.items():
            feeds.set_feed(path, rss(items, title=FEEDS[path]))
        feeds.set_status(FAILING, 503, body="Service Unavailable")

        log = (root / "service.log").open("wb")
        service = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(root / "config/monitor.yaml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait(lambda: "newsmon running" in (root / "service.log").read_text(), 60, "the start")
            wait(lambda: len(call(base, "GET", "/api/alerts?since=1h")) >= 10, 60, "alerts")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                page = browser.new_page(
                    viewport={"width": args.width, "height": args.height},
                    color_scheme="dark" if args.dark else "light",
                    device_scale_factor=1,
                )
                page.goto(f"{base}/")
                page.wait_for_selector("#token-dialog[open]")
                page.fill("#token-input", TOKEN)
                page.click("#token-form button[type=submit]")
                page.wait_for_selector("#live[data-state='live']")
                # acknowledged and muted, from the page, as a user would
                recent = call(base, "GET", "/api/alerts?since=1h")
                card = page.locator("li.alert", has_text=recent[2]["title"]).first
                card.locator("summary", has_text="Acknowledge").click()
                card.locator("button[data-span='8h']").click()
                card.locator(".marked", has_text="Acknowledged").wait_for()
                rule = page.locator("li.rule[data-rule='climate-talks']")
                rule.locator("summary", has_text="Mute").click()
                rule.locator("button[data-span='1d']").click()
                rule.locator(".badge").wait_for()
                # the seed article arrives, from two outlets, while the page is open
                summary = SEED.split("\n")[0]
                seed = [item(SEED_TITLE, summary, "https://news.example.org/world/kerry", 6)]
                feeds.set_feed("/world.rss", rss(by_feed["/world.rss"] + seed))
                page.locator("li.alert", has_text=SEED_TITLE).wait_for(timeout=60_000)
                copy = item(
                    "Kerry: US 'very committed' to mending ties with China",
                    summary,
                    "https://asia.example.net/kerry-wang-yi",
                    4,
                )
                feeds.set_feed("/asia.rss", rss([*by_feed["/asia.rss"], copy]))
                page.locator("li.alert", has_text=SEED_TITLE).locator(".sources").wait_for(
                    timeout=60_000
                )
                page.wait_for_function("document.querySelectorAll('.feed-error').length > 0")
                page.evaluate("window.scrollTo(0, 0)")
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        except BaseException:
            print((root / "service.log").read_text()[-4000:], file=sys.stderr)
            raise
        finally:
            service.terminate()
            service.wait(30)
            log.close()
    print(f"screenshot: wrote {args.out}")


if __name__ == "__main__":
    main()
