"""GENEB harness: task data, extractors, the linear probe, submissions and the leaderboard."""

__version__ = "0.3.0"
HARNESS_VERSION = f"geneb-{__version__}"
