"""The pure core: rule language, matcher, items, alerts, scheduling arithmetic.

Nothing here imports asyncio, aiohttp, faust, apprise or SQL; time and
randomness come in as parameters.
"""
