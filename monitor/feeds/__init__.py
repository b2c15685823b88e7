"""Feeds managed at run time: OPML lists, and adding, removing and listing feeds."""
