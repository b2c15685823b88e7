"""Suite-wide settings."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Under CI the examples are fixed (a run is reproducible) and no example is
# failed for being slow on a loaded two-core machine; locally they vary.
settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")
