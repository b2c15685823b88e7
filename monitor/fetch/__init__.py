"""The fetch edge: HTTP (aiohttp), parsing (feedparser in a worker pool), one poll.

Fetcher      GET a feed politely; problems come back as data (FetchResult)
FeedParser   parse_feed off the event loop; FeedError for a bad document
poll_feed    fetch + parse + the feed's next state, as a PollOutcome
"""

from monitor.fetch.http import Fetcher, FetchResult
from monitor.fetch.parse import FeedError, FeedParser, ParsedFeed, parse_feed
from monitor.fetch.poll import PollOutcome, poll_feed

__all__ = [
    "FeedError",
    "FeedParser",
    "FetchResult",
    "Fetcher",
    "ParsedFeed",
    "PollOutcome",
    "parse_feed",
    "poll_feed",
]
