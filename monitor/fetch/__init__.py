"""The fetch edge: HTTP (aiohttp), parsing (feedparser in a worker pool), one poll.

monitor.fetch.http    Fetcher: GET a feed politely; problems come back as data (FetchResult)
monitor.fetch.parse   FeedParser: parse_feed off the event loop; FeedError for a bad document
monitor.fetch.poll    poll_feed: fetch + parse + the feed's next state, as a PollOutcome

Nothing is imported here: the parser's worker processes import
monitor.fetch.parse, and would otherwise pay for aiohttp at every start.
"""
