"""Test-wide settings: hypothesis never judges by wall time (machines are shared and noisy)."""

from hypothesis import settings

settings.register_profile("gauntlet", deadline=None)
settings.load_profile("gauntlet")
