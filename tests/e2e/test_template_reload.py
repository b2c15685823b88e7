"""End to end: a channel template edited while `newsmon run` runs, with a real
feed server and a real webhook server on loopback."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Service
from tests.feedserver import rss

pytestmark = pytest.mark.e2e

RULES = "rules:\n  - name: spice-watch\n    match: 'zanzibar AND spice*'\n    notify: [chat]\n"
QUIET_ITEM = {
    "title": "Best Thai food in town, reviewed",
    "link": "https://news.example.org/food/thai",
    "guid": "thai-food-1",
}


# Four different stories (undated: each counts as published when first seen).
STORIES = [
    {"title": title, "link": f"https://news.example.org/zanzibar-{n}", "guid": f"zanzibar-{n}"}
    for n, title in enumerate(
        [
            "Zanzibar clove growers see record spice prices",
            "Storm damages spice warehouses in Zanzibar port",
            "Zanzibar launches spice tourism festival for families",
            "Zanzibar spice farmers win a court case over their land",
        ],
        start=1,
    )
]


def test_a_channel_template_edited_while_running_shapes_the_next_alert(
    service: Service,
) -> None:
    template = service.root / "config" / "templates" / "chat.j2"
    template.parent.mkdir()
    template.write_text("FIRST {{ alert.title }}")
    service.options["channels"] = {"chat": {"template": "templates/chat.j2"}}
    service.write_config(["/world.rss"])
    service.write_channels(email=False, chat=True)
    (service.rules / "spices.yaml").write_text(RULES)
    stories: list[dict[str, str]] = []

    def next_alert() -> str:
        """Publish the next story; the chat message it makes."""
        stories.append(STORIES[len(stories)])
        service.feeds.set_feed("/world.rss", rss([QUIET_ITEM, *stories]))
        bodies = service.webhook.wait_for(len(stories), timeout=30)
        return str(bodies[-1]["message"])

    service.feeds.set_feed("/world.rss", rss([QUIET_ITEM]))
    service.start()
    assert next_alert() == f"FIRST {STORIES[0]['title']}"

    template.write_text("SECOND {{ alert.title | upper }} <{{ alert.link }}>")
    service.wait_log(f"template reloaded: {template}")
    assert next_alert() == f"SECOND {STORIES[1]['title'].upper()} <{STORIES[1]['link']}>"

    # A broken edit: named in the log and by check, and the last good template goes on.
    template.write_text("THIRD {{ alert.title }}\n{{ alert.headline | nosuchfilter }}\n")
    service.wait_log("keeping the last good one")
    assert f"{template}:2: template syntax error: No filter named 'nosuchfilter'" in (
        service.output()
    )
    check = service.newsmon("check")
    assert check.returncode == 1
    assert f"{template}:2: error: template syntax error: No filter named 'nosuchfilter'" in (
        check.stderr
    )
    assert next_alert() == f"SECOND {STORIES[2]['title'].upper()} <{STORIES[2]['link']}>"

    template.write_text("FIXED {{ alert.title }} ({{ alert.rules | join(', ') }})")
    service.wait_log(f"template reloaded: {template}", count=2)
    assert next_alert() == f"FIXED {STORIES[3]['title']} (spice-watch)"
    assert service.newsmon("check").returncode == 0

    assert service.stop() == 0
    assert "Traceback" not in service.output()
