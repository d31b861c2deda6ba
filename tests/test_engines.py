"""Engine choice and shard bookkeeping (no Ray cluster needed; see test_ray_engine.py for that)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from stages.embed import embed_suite
from stages.embedding_files import read_embeddings
from stages.engines import EngineConfig, embed_suite_with_engine, same_embeddings
from stages.engines.config import EngineConfigError, engine_config
from stages.engines.shards import (
    Shard,
    TaskAssembly,
    align_up,
    merge_reports,
    plan_shards,
    processing_order,
)
from stages.extractors.registry import get_model_entry, load_extractor
from stages.params import ParamsError, read_engine_section, resolve_engine


def test_default_engine_is_local_and_params_then_flags_override(tmp_path):
    assert EngineConfig().name == "local"
    params = tmp_path / "params.yaml"
    params.write_text("suite: lite\nengine: {name: ray, address: '127.0.0.1:6379', shard_size: 512}\n")
    assert read_engine_section(params)["shard_size"] == 512
    config = resolve_engine(params_path=params)
    assert (config.name, config.address, config.shard_size) == ("ray", "127.0.0.1:6379", 512)
    config = resolve_engine("local", None, params_path=params)
    assert config.name == "local" and config.shard_size == 512
    config = resolve_engine(None, "auto", params_path=params)
    assert config.address == "auto"
    assert resolve_engine(params_path=tmp_path / "absent.yaml") == EngineConfig()


@pytest.mark.parametrize("section, message", [
    ({"name": "spark"}, "unknown engine 'spark'"),
    ({"name": "ray", "shardsize": 10}, "unknown engine setting(s) ['shardsize']"),
    ({"shard_size": 0}, "engine.shard_size must be >= 1"),
    ({"workers": 0}, "engine.workers must be >= 1"),
    ({"max_retries": -1}, "must be >= 0"),
])
def test_bad_engine_settings_are_named(section, message):
    with pytest.raises(EngineConfigError, match=re.escape(message)):
        engine_config(section)


def test_engine_section_must_be_a_mapping(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("engine: ray\n")
    with pytest.raises(ParamsError, match="'engine' must be a mapping"):
        read_engine_section(params)


def test_shards_tile_each_split_in_processing_order():
    assert align_up(1000, 4096) == 4096 and align_up(8192, 4096) == 8192 and align_up(5, 1) == 5
    shards = plan_shards("t", {"train": 10, "test": 3}, 4)
    assert [(s.split, s.start, s.stop) for s in shards] == [
        ("train", 0, 4), ("train", 4, 8), ("train", 8, 10), ("test", 0, 3)]
    order = processing_order(["AC", "ACGT", "A", "ACGT", "ACG"])
    assert order.tolist() == [1, 3, 4, 0, 2]  # longest first, ties in input order


def test_assembly_scatters_back_to_input_order_and_rejects_gaps_and_duplicates():
    orders = {"train": np.array([2, 0, 1]), "test": np.array([0])}
    shards = tuple(plan_shards("t", {"train": 3, "test": 1}, 2))
    assembly = TaskAssembly("t", orders, shards)
    rows = {0: [0.0], 1: [1.0], 2: [2.0]}  # the vector of input row i is [i]
    second = Shard("t", "train", 2, 3)
    assert assembly.add(second, np.array([rows[1]], dtype=np.float32), 0.5, {"windows": 1})
    with pytest.raises(ValueError, match=r"rows 0:2 missing"):
        assembly.split_vectors("train")
    assert assembly.add(Shard("t", "train", 0, 2), np.array([rows[2], rows[0]], np.float32), 1.0,
                        {"windows": 2, "runtime": {"device": "cpu"}})
    assert not assembly.add(second, np.array([[9.0]], np.float32), 9.0)  # duplicate: dropped
    assert not assembly.complete
    assert assembly.split_vectors("train").ravel().tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="got 2 rows, expected 1"):
        assembly.add(Shard("t", "test", 0, 1), np.zeros((2, 1), np.float32), 0.1)
    assert assembly.add(Shard("t", "test", 0, 1), np.zeros((1, 1), np.float32), 0.1)
    assert assembly.complete and assembly.seconds == pytest.approx(1.6)
    with pytest.raises(ValueError, match="not a shard of task"):
        assembly.add(Shard("t", "test", 1, 2), np.zeros((1, 1), np.float32), 0.1)
    assert merge_reports(assembly.reports) == {"windows": 3, "runtime": {"device": "cpu"}}


def test_local_engine_writes_what_embed_suite_writes(tmp_path, lite):
    status = embed_suite_with_engine("kmer-3", lite, tmp_path / "engine", progress=False,
                                     engine=EngineConfig(name="local"))
    assert set(status) == set(lite.task_ids) and not any(status.values())
    extractor = load_extractor(get_model_entry("kmer-3"))
    embed_suite(extractor, lite, tmp_path / "direct", progress=False)
    assert same_embeddings(tmp_path / "engine", tmp_path / "direct") == []
    first = tmp_path / "engine" / f"{lite.task_ids[0]}.npz"
    emb = read_embeddings(first)
    emb_changed = emb.train_X.copy()
    emb_changed[0, 0] += 1
    np.savez(first, train_X=emb_changed, train_y=emb.train_y, test_X=emb.test_X, test_y=emb.test_y)
    assert any("train_X differs" in p for p in same_embeddings(tmp_path / "engine",
                                                               tmp_path / "direct"))


@pytest.mark.parametrize("command", [["run", "--model", "kmer-4"],
                                     ["embed", "--model", "kmer-4", "--out", "OUT"]])
def test_engine_flags_reach_the_engine_and_a_dead_address_fails_fast(command, tmp_path, capsys):
    pytest.importorskip("ray")
    from stages.cli import main
    from stages.engines.local_cluster import free_port

    argv = [str(tmp_path / "e") if arg == "OUT" else arg for arg in command]
    argv += ["--suite", "lite", "--quiet", "--engine", "ray", "--ray-address", f"127.0.0.1:{free_port()}"]
    if command[0] == "run":
        argv += ["--embeddings", str(tmp_path / "e"), "--out", str(tmp_path / "s.json")]
    assert main(argv) == 2
    assert "cannot reach the Ray cluster at 127.0.0.1:" in capsys.readouterr().err
    assert not list(tmp_path.glob("e/*.npz"))
