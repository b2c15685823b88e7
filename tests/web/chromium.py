"""Debian's Chromium for the dashboard's browser test and screenshot: where it
is, and the flags it needs on a machine with no network beyond loopback
(without the background-networking ones it keeps trying Google's hosts)."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
