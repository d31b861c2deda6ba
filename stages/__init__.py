"""GENEB harness: task data, extractors, the linear probe, submissions and the leaderboard."""

__version__ = "0.2.0"
HARNESS_VERSION = f"geneb-{__version__}"
