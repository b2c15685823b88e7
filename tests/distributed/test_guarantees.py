"""What must hold across workers lives in the database: two `newsmon run` workers
on the real Kafka broker and PostgreSQL, sharing a dozen feeds.

- The same story published at the same moment on twelve feeds makes one alert
  per channel, however the feeds fall between the workers (the story is joined
  and its alerts enqueued in one step no other worker takes at once).
- The two workers together keep to a channel's ``max_per_hour``: the rest waits
  for the next hour's digest.
"""

from __future__ import annotations

import pytest

from tests.distributed.conftest import feed_paths, polled, start_together
from tests.e2e.conftest import Service, wait_until
from tests.e2e.test_alert_policies import QUIET_ITEM, RULES, chat_posts, outbox
from tests.feedserver import rss

pytestmark = pytest.mark.distributed

FEEDS = feed_paths(12)
LEDE = (
    "A volcano on Iceland's Reykjanes peninsula erupted early on Sunday, sending lava "
    "into the fishing town of Grindavik, which had been evacuated hours earlier, the "
    "Icelandic Meteorological Office said."
)
# One wire story as twelve outlets print it: their own headline, the wire's lede.
HEADLINES = [
    "Volcano erupts near Grindavik as lava reaches homes",
    "Lava flows into Icelandic town of Grindavik after volcanic eruption",
    "Iceland eruption: lava crosses defences into Grindavik",
    "Grindavik evacuated hours before volcano erupts",
    "Icelandic volcano sends lava into fishing town",
    "Eruption on Reykjanes peninsula reaches Grindavik",
    "Lava engulfs houses in Iceland's Grindavik",
    "Iceland: volcanic eruption hits evacuated town",
    "Volcano on Reykjanes erupts again, lava in Grindavik",
    "Grindavik homes burn as Iceland volcano erupts",
    "Iceland's Grindavik hit by lava after new eruption",
    "New eruption near Grindavik sends lava into town",
]
# Twelve different stories on the topic: each an alert of its own.
ERUPTIONS = [
    ("etna", "Etna eruption closes Catania airport for a second day",
     "Ash from Mount Etna forced Sicily's main airport to cancel flights, stranding "
     "thousands of holidaymakers."),
    ("merapi", "Indonesia raises alert level as Merapi spews hot clouds",
     "Villagers on the slopes of the Javanese volcano were told to stay five kilometres "
     "from the crater."),
    ("kilauea", "Kilauea lava lake rises inside Hawaii summit crater",
     "Geologists watching the Big Island's most active volcano recorded fresh fountains "
     "overnight, with no homes at risk."),
    ("fuego", "Guatemala evacuates villages as Fuego volcano erupts",
     "Pyroclastic flows raced down ravines on the southern flank, and the capital's "
     "airport shut its runway for ash."),
    ("popocatepetl", "Popocatepetl ash cloud grounds flights in Mexico City",
     "Authorities raised the volcanic alert to yellow phase three and suspended classes "
     "in eleven towns near the crater."),
    ("sakurajima", "Sakurajima eruption hurls rocks 2.5 km from crater",
     "The Japan Meteorological Agency raised the alert to level five and told residents "
     "of two Kagoshima districts to leave."),
    ("taal", "Taal volcano spews toxic smog over Manila suburbs",
     "Philippine officials closed schools in Batangas as sulphur dioxide emissions "
     "reached a record for the lake volcano."),
    ("nyiragongo", "Goma residents flee as Nyiragongo lava nears airport",
     "Thousands crossed into Rwanda overnight after a fissure opened on the Congolese "
     "volcano's southern flank."),
    ("fournaise", "Piton de la Fournaise eruption draws crowds on Reunion",
     "Prefecture officials opened a viewing area as a new fissure fed lava flows toward "
     "the island's eastern coast."),
    ("ruang", "Indonesia shuts Manado airport after Mount Ruang erupts",
     "Hundreds of residents of the small island were moved by ship as the volcano sent "
     "an ash column two kilometres high."),
    ("villarrica", "Chile orders evacuations near Villarrica volcano",
     "The national geology service raised the alert to orange after seismic activity "
     "and a lava lake rising inside the crater."),
    ("stromboli", "Stromboli volcano blast sends hikers running on Aeolian island",
     "Italy's civil protection agency banned climbs above 400 metres after a paroxysm "
     "sprayed hot rock onto the slopes."),
]  # fmt: skip


def workspace(cluster: Service) -> None:
    (cluster.rules / "volcanoes.yaml").write_text(RULES)
    cluster.interval = "1s"
    cluster.write_config(FEEDS)
    for path in FEEDS:
        cluster.feeds.set_feed(path, rss([QUIET_ITEM]))


def start_both(cluster: Service) -> None:
    start_together(cluster, "a", "b")
    # both workers polling their share: the feeds are split between them
    wait_until(
        lambda: polled(cluster.worker("a")) and polled(cluster.worker("b")),
        60,
        "both workers polling",
    )


def stop_both(cluster: Service) -> None:
    assert cluster.stop(name="b") == 0
    assert cluster.stop(name="a") == 0
    for worker in cluster.workers.values():
        assert "Traceback" not in worker.output()


def test_one_story_on_a_dozen_feeds_at_once_makes_one_alert_per_channel(
    cluster: Service,
) -> None:
    workspace(cluster)
    start_both(cluster)

    for n, (path, headline) in enumerate(zip(FEEDS, HEADLINES, strict=True)):
        copy = {
            "title": headline,
            "link": f"https://outlet-{n}.example.org/world/grindavik-eruption",
            "guid": f"outlet-{n}-grindavik",
            "description": LEDE,
        }
        cluster.feeds.set_feed(path, rss([QUIET_ITEM, copy]))
    cluster.smtp.wait_for(1, timeout=60)
    wait_until(lambda: len(chat_posts(cluster)) >= 1, 60, "the chat alert")
    cluster.wait_polls_of(FEEDS, 2)  # every copy fetched and matched, by one worker or the other
    counts, _ = outbox(cluster)
    stop_both(cluster)

    assert len(cluster.smtp.messages) == 1
    assert len(chat_posts(cluster)) == 1
    assert counts["pending"] == counts["digest"] == counts["dead"] == 0
    assert counts["delivered"] == 2
    a, b = (set(polled(cluster.worker(name))) for name in ("a", "b"))
    assert a and b  # the copies came through both workers


def test_two_workers_together_keep_to_max_per_hour(cluster: Service) -> None:
    cluster.options["channels"] = {"chat": {"max_per_hour": 3}}
    workspace(cluster)
    start_both(cluster)

    for path, (slug, title, summary) in zip(FEEDS, ERUPTIONS, strict=True):
        story = {
            "title": title,
            "link": f"https://news.example.org/volcanoes/{slug}",
            "guid": f"volcano-{slug}",
            "description": summary,
        }
        cluster.feeds.set_feed(path, rss([QUIET_ITEM, story]))
    cluster.smtp.wait_for(12, timeout=90)  # email has no limit: every story arrived
    wait_until(lambda: len(chat_posts(cluster)) >= 3, 60, "three chat alerts")
    cluster.wait_polls_of(FEEDS, 2)
    counts, _ = outbox(cluster)
    stop_both(cluster)

    assert len(chat_posts(cluster)) == 3  # between them, not 3 each
    assert counts["digest"] == 9  # the rest waits for the next hour's digest
    assert counts["delivered"] == 12 + 3
