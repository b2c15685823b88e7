"""The core is pure: importing it pulls in no I/O framework."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("asyncio", "aiohttp", "faust", "apprise", "sqlalchemy", "aiosqlite", "watchfiles")


def test_importing_the_core_pulls_in_no_io_framework() -> None:
    code = (
        "import sys, pkgutil, importlib, monitor.core as core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'monitor.core.'):\n"
        "    importlib.import_module(m.name)\n"
        f"print(' '.join(sorted(m for m in {FORBIDDEN!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
