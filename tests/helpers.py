"""Plain, independent re-computations and browser plumbing shared by several test modules."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import statistics
import threading
from collections.abc import Iterator
from pathlib import Path

from stages import paths

KMER4_LITE = paths.REPO_ROOT / "results" / "lite" / "submissions" / "kmer-4.json"
CHROMIUM = os.environ.get("GENEB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def kmer_arrays(suite, task_id: str, k: int = 4) -> tuple:
    """``(train_X, train_y, test_X, test_y)`` of one real task, embedded with k-mer frequencies."""
    from stages.extractors.base import ExtractorSettings
    from stages.extractors.kmer import KmerExtractor
    from stages.taskdata import load_task

    task = load_task(suite.data_dir, task_id)
    kmer = KmerExtractor(f"kmer-{k}", ExtractorSettings(options={"k": k}))
    return (kmer.embed(task.train.sequences), task.train.labels,
            kmer.embed(task.test.sequences), task.test.labels)


def hand_categories(scores: dict[str, float], spec) -> dict[str, float]:
    """Category means with plain loops, independent of stages.aggregate."""
    by_cat: dict[str, list[float]] = {}
    for task_id, value in scores.items():
        by_cat.setdefault(spec.task(task_id).category, []).append(value)
    return {category: statistics.fmean(values) for category, values in by_cat.items()}


def hand_macro(scores: dict[str, float], spec) -> float:
    return statistics.fmean(hand_categories(scores, spec).values())


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """A static server on 127.0.0.1 (a free port) for ``folder``."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def open_page(browser, url: str, errors: list | None = None, **viewport):
    page = browser.new_page(viewport={"width": 1600, "height": 1000, **viewport})
    if errors is not None:
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=20_000)
    return page


# A clean two-class task, and a writer of task folders for the task-data tests.
GOOD_TRAIN = "text,label\nACGTACGT,0\nTTGGCCAA,1\nACGTTTTT,1\n"
GOOD_TEST = "text,label\nACGTACGA,0\nTTGGCCAT,1\n"


def make_task(root: Path, train: str | bytes | None = GOOD_TRAIN,
              test: str | bytes | None = GOOD_TEST, name: str = "toy_task") -> Path:
    task = root / name
    task.mkdir(parents=True)
    for split, content in (("train", train), ("test", test)):
        if content is not None:
            data = content if isinstance(content, bytes) else content.encode()
            (task / f"{split}.csv").write_bytes(data)
    return root
