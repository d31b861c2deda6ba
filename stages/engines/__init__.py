"""Embedding engines: ``local`` (this process) or ``ray`` (a Ray cluster), same files either way.

``embed_suite_with_engine`` is what the embedding driver (:func:`stages.run.embed`, behind
``geneb embed`` and ``geneb run``) calls; the engine comes from params.yaml's ``engine`` section or
the ``--engine`` / ``--ray-address`` flags (:func:`stages.params.resolve_engine`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from stages.engines.config import EngineConfig, EngineConfigError

if TYPE_CHECKING:  # `geneb --help` imports this package: keep numpy out of its start-up
    from stages.manifest import DataHashes
    from stages.spec import Suite

__all__ = ["EngineConfig", "EngineConfigError", "embed_suite_with_engine", "same_embeddings"]


def embed_suite_with_engine(model_id: str, suite: Suite, out_dir: Path,
                            overrides: dict[str, Any] | None = None, device: str | None = None,
                            engine: EngineConfig | None = None, progress: bool = True,
                            data_md5: DataHashes | None = None,
                            run_log: Path | None = None) -> dict[str, bool]:
    """Embed ``suite`` with ``model_id`` into ``out_dir``; returns task id -> was it cached.

    ``data_md5`` (the suite's manifest) and ``run_log`` as in :func:`stages.embed.embed_suite`.
    """
    engine = engine or EngineConfig()
    if engine.name == "ray":
        from stages.engines.ray_engine import embed_suite_ray

        return embed_suite_ray(model_id, suite, out_dir, engine, overrides, device, progress,
                               data_md5=data_md5, run_log=run_log).status
    from stages.engines.local import embed_suite_local

    return embed_suite_local(model_id, suite, out_dir, overrides, device, progress, data_md5, run_log)


def same_embeddings(a: Path, b: Path) -> list[str]:
    """Differences between two embedding directories (empty: same tasks, keys, identical arrays)."""
    import numpy as np

    from stages.embedding_files import read_embeddings

    names_a = sorted(p.name for p in Path(a).glob("*.npz"))
    names_b = sorted(p.name for p in Path(b).glob("*.npz"))
    if names_a != names_b:
        return [f"task files differ: {sorted(set(names_a) ^ set(names_b))}"]
    problems = []
    for name in names_a:
        x, y = read_embeddings(Path(a) / name), read_embeddings(Path(b) / name)
        for attr in ("train_X", "train_y", "test_X", "test_y"):
            left, right = getattr(x, attr), getattr(y, attr)
            if left.dtype != right.dtype or not np.array_equal(left, right):
                diff = (np.abs(left.astype(np.float64) - right.astype(np.float64)).max()
                        if left.shape == right.shape else "shape")
                problems.append(f"{name}: {attr} differs (max abs diff {diff})")
        if x.meta.get("key") != y.meta.get("key"):
            problems.append(f"{name}: cache keys differ")
    return problems
