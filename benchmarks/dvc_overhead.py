"""DVC overhead at full scale: GENEB's layout (two stages per model) vs one stage per model x task.

Builds scratch git + DVC repositories with N models x T tasks of tiny CSVs and trivial work, then
times the commands a maintainer and CI run. GENEB's layout is the real ``dvc.yaml`` with trivial
commands (``code`` writing the step code manifests with the real ``stages.code_manifest``;
``manifest`` hashing the task CSVs with the real ``stages.manifest``; ``foreach`` over
``params.yaml`` models: ``embed@<m>``, depending on the manifest, with a persisted directory
output written by the real ``stages.embed.embed_suite`` with a trivial extractor, so per-task
incrementality is the production code path; ``score@<m>`` writes a submission and the
four files of ``stages.dvc_reports``; one ``leaderboard``). The fixed cost of a real stage
command is timed separately: ``geneb embed`` of the k-mer model on the lite suite with every
task cached. The per-cell layout is a ``matrix`` over model x task (embed and score per cell);
its lock is written with one ``dvc commit`` (batched since DVC 3.63), because a first
``dvc repro`` of thousands of cell stages takes hours (quadratic lock rewrites).

    python benchmarks/dvc_overhead.py --out docs/benchmarks/dvc_overhead.json
    python benchmarks/dvc_overhead.py --models 5 --tasks 10 --cell-models 2   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from stages.dvc_scratch import commit_all, run, scratch_env  # noqa: E402
from stages.dvc_tool import dvc_exe  # noqa: E402

STAGE_SCRIPT = '''"""Trivial stages for the overhead benchmark (see benchmarks/dvc_overhead.py)."""
import json, sys
from pathlib import Path

import numpy as np


class Trivial:
    def __init__(self, model_id, dim):
        from stages.extractors.base import ExtractorSettings
        self.model_id, self.settings = model_id, ExtractorSettings(options={"dim": dim})

    def embed(self, sequences):
        gc = [(s.count("G") + s.count("C")) / len(s) for s in sequences]
        return np.tile(np.asarray(gc, dtype=np.float32)[:, None], (1, self.settings.options["dim"]))

    def identity(self):
        return {"weights": "none"}

    def run_report(self):
        return {}


def main(kind, model, out, *rest):
    from stages.spec import Suite
    tasks = tuple(sorted(p.name for p in Path("data/bench/tasks").iterdir()))
    suite = Suite("bench", "", tasks, Path("data/bench/tasks"), True)
    if kind == "code":
        from stages.code_manifest import write_code_manifests
        write_code_manifests(Path(out), root=Path.cwd())
    elif kind == "manifest":
        from stages.manifest import write_manifest
        write_manifest(suite, Path(out))
    elif kind == "embed":
        from stages.embed import embed_suite
        from stages.manifest import read_manifest
        dim = int(rest[0])  # params.yaml models.<m>.settings.options.dim, passed by dvc.yaml
        status = embed_suite(Trivial(model, dim), suite, Path(out), False,
                             data_md5=read_manifest(Path("data/bench/manifest.json"), suite))
        done = [t for t, reused in status.items() if not reused]
        print(f"embed {model}: {len(done)} task(s) embedded, {len(status) - len(done)} reused")
        for task in done:
            print(f"  embedded {task}")
    elif kind == "score":
        files = sorted(Path(out).glob("*.npz"))
        sizes = {f.stem: f.stat().st_size for f in files}
        Path(rest[0]).parent.mkdir(parents=True, exist_ok=True)
        Path(rest[0]).write_text(json.dumps({"model": model, "tasks": sizes}))
        for path in rest[1:]:  # the metrics row, its details, the plot data
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(json.dumps({"macro": len(files) / 100}))
    elif kind == "board":
        rows = [json.loads(p.read_text())["model"] for p in sorted(Path(model).glob("*.json"))]
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "leaderboard.json").write_text(json.dumps(rows))


main(*sys.argv[1:])
'''

TRIVIAL_COMMANDS = {
    "code": "python stage.py code - manifests/code",
    "manifest": "python stage.py manifest - data/${suite}/manifest.json",
    "embed": "python stage.py embed ${key} embeddings/${suite}/${key} ${item.settings.options.dim}",
    "score": ("python stage.py score ${key} embeddings/${suite}/${key} "
              "results/${suite}/submissions/${key}.json results/${suite}/metrics/${key}.json "
              "results/${suite}/metrics/details/${key}.json results/${suite}/plots/${key}/categories.json "
              "results/${suite}/plots/${key}/regimes.json"),
    "leaderboard": "python stage.py board results/${suite}/submissions results/${suite}/leaderboard",
}


def geneb_dvc_yaml(text: str | None = None) -> str:
    """The real ``dvc.yaml`` (or ``text``, an older one) with each command swapped for the trivial
    stage script: the same stages, dependencies, params and outputs, so the lock has its real size."""
    pipeline = yaml.safe_load(text or (ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    for name, stage in pipeline["stages"].items():
        body = stage.get("do", stage)
        body["cmd"] = TRIVIAL_COMMANDS[name]
        body["deps"] = [*body["deps"], "stage.py"]
    return yaml.safe_dump(pipeline, sort_keys=False)


CELL_DVC_YAML = '''vars:
  - params.yaml
stages:
  embed:
    matrix:
      model: ${model_ids}
      task: ${tasks}
    cmd: python cell.py embed ${item.model} ${item.task}
    deps:
      - data/tasks/${item.task}
      - cell.py
    params:
      - models.${item.model}
    outs:
      - emb/${item.model}/${item.task}.npy
  score:
    matrix:
      model: ${model_ids}
      task: ${tasks}
    cmd: python cell.py score ${item.model} ${item.task}
    deps:
      - emb/${item.model}/${item.task}.npy
      - cell.py
    metrics:
      - metrics/${item.model}/${item.task}.json:
          cache: false
  leaderboard:
    cmd: python cell.py board
    deps:
      - metrics
      - cell.py
    outs:
      - leaderboard.json:
          cache: false
'''

CELL_SCRIPT = '''import hashlib, json, sys
from pathlib import Path

def embed(model, task):
    digest = hashlib.md5((Path("data/tasks") / task / "train.csv").read_bytes()).hexdigest()
    out = Path("emb") / model / f"{task}.npy"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"{model} {task} {digest}")

def score(model, task):
    out = Path("metrics") / model / f"{task}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"size": (Path("emb") / model / f"{task}.npy").stat().st_size}))

def board():
    Path("leaderboard.json").write_text(json.dumps(sorted(str(p) for p in Path("metrics").rglob("*.json"))))

if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    {"embed": embed, "score": score, "board": board}[kind](*args)
'''


def write_tasks(repo: Path, n_tasks: int, rows: int = 20, data: str = "data/tasks") -> list[str]:
    rng = random.Random(0)
    names = [f"task{t:03d}" for t in range(n_tasks)]
    for name in names:
        folder = repo / data / name
        folder.mkdir(parents=True)
        for split in ("train", "test"):
            lines = ["text,label"] + [
                "".join(rng.choice("ACGT") for _ in range(30)) + f",{i % 2}" for i in range(rows)]
            (folder / f"{split}.csv").write_text("\n".join(lines) + "\n")
    return names


def init_repo(repo: Path) -> None:
    repo.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], repo)
    run([dvc_exe(), "init", "-q"], repo)
    (repo / ".gitignore").write_text("/embeddings/\n/emb/\n")
    (repo / ".dvcignore").write_text("__pycache__/\n")


def timed(repo: Path, args: list[str], env: dict[str, str], reps: int = 1) -> tuple[dict, str]:
    """Median wall seconds of ``reps`` runs, and the CPU seconds (user + system) of the child
    processes: on a shared machine the CPU time is what an idle machine's wall time would be."""
    walls, cpus, output = [], [], ""
    for _ in range(reps):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = run(args, repo, env, check=False, timeout=36000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(result.seconds)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        output = result.output
        if result.returncode != 0 and "--dry" not in args:
            raise RuntimeError(f"{args} failed:\n{output[-3000:]}")
    return {"wall_s": round(statistics.median(walls), 2),
            "cpu_s": round(statistics.median(cpus), 2)}, output


def stages_run(output: str) -> list[str]:
    return re.findall(r"^Running stage '([^']+)'", output, flags=re.MULTILINE)


def build_geneb_repo(repo: Path, n_models: int, n_tasks: int, dvc_yaml: str
                     ) -> tuple[list[str], dict[str, str]]:
    """A committed scratch repo with ``dvc_yaml``'s layout (before its first ``dvc repro``)."""
    init_repo(repo)
    tasks = write_tasks(repo, n_tasks, data="data/bench/tasks")
    models = {f"m{i:03d}": {"settings": {"options": {"dim": 4}}} for i in range(n_models)}
    (repo / "params.yaml").write_text(json.dumps({"suite": "bench", "models": models}, indent=1))
    (repo / "dvc.yaml").write_text(dvc_yaml)
    (repo / "stage.py").write_text(STAGE_SCRIPT)
    for folder in ("stages", "benchmark"):  # the code and definition files the stages depend on
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / ".dvcignore", repo / ".dvcignore")
    commit_all(repo, "scratch")
    return tasks, scratch_env(repo, {"PYTHONPATH": str(ROOT)})


def bench_model_layout(base: Path, n_models: int, n_tasks: int, reps: int) -> dict:
    repo = base / "geneb-layout"
    tasks, env = build_geneb_repo(repo, n_models, n_tasks, geneb_dvc_yaml())
    out: dict = {"layout": "GENEB: code + manifest + foreach model (embed + score) + leaderboard",
                 "models": n_models, "tasks": n_tasks, "stages": 2 * n_models + 3}
    out["first_repro"], log = timed(repo, [dvc_exe(), "repro"], env)
    assert len(stages_run(log)) == out["stages"], log[-2000:]
    commit_all(repo, "repro")
    out["dvc_lock_kb"] = round((repo / "dvc.lock").stat().st_size / 1024, 1)
    out["noop_status"], log = timed(repo, [dvc_exe(), "status"], env, reps)
    assert "up to date" in log, log
    out["noop_repro"], log = timed(repo, [dvc_exe(), "repro"], env, reps)
    assert not stages_run(log), log
    out["dry_allow_missing"], _ = timed(repo, [dvc_exe(), "repro", "--allow-missing", "--dry"],
                                          env, reps)
    out["lockcheck"], log = timed(repo, [sys.executable, "-m", "stages.cli", "lockcheck"],
                                  {**env, "PYTHONPATH": str(ROOT)}, reps)
    assert "up to date" in log, log

    csv = repo / "data" / "bench" / "tasks" / tasks[n_tasks // 2] / "train.csv"
    csv.write_text(csv.read_text() + "ACGTACGTACGTACGTACGTACGTACGTAC,1\n")
    out["one_csv_changed_status"], _ = timed(repo, [dvc_exe(), "status"], env)
    out["one_csv_changed_repro"], log = timed(repo, [dvc_exe(), "repro"], env)
    embedded = re.findall(r"^  embedded (\S+)", log, flags=re.MULTILINE)
    out["one_csv_changed_tasks_embedded"] = len(embedded)
    out["one_csv_changed_only_that_task"] = set(embedded) == {csv.parent.name}
    out["one_csv_changed_stages_run"] = len(stages_run(log))
    reused = re.findall(r"(\d+) task\(s\) embedded, (\d+) reused", log)
    out["one_csv_changed_reused_per_model"] = sorted({int(r) for _, r in reused})

    params = json.loads((repo / "params.yaml").read_text())
    params["models"]["m000"]["settings"]["options"]["dim"] = 8
    (repo / "params.yaml").write_text(json.dumps(params, indent=1))
    out["one_model_params_repro"], log = timed(repo, [dvc_exe(), "repro"], env)
    out["one_model_params_stages_run"] = stages_run(log)

    probe = repo / "stages" / "probe.py"
    probe.write_text(probe.read_text() + "\n# edited\n")
    out["probe_code_changed_status"], _ = timed(repo, [dvc_exe(), "status"], env)
    out["probe_code_changed_repro"], log = timed(repo, [dvc_exe(), "repro"], env)
    ran = stages_run(log)
    out["probe_code_changed_stages_run"] = {
        kind: sum(stage.split("@")[0] == kind for stage in ran)
        for kind in ("code", "manifest", "embed", "score", "leaderboard")}
    return out


def bench_against_baseline(base: Path, n_models: int, n_tasks: int, reps: int, rev: str) -> dict:
    """No-op ``dvc status`` / ``dvc repro`` of this layout and of the ``dvc.yaml`` at git ``rev``,
    alternated run by run so that both see the same machine load."""
    old = run(["git", "show", f"{rev}:dvc.yaml"], ROOT).output
    repos = {"now": base / "geneb-layout", "baseline": base / "baseline-layout"}
    _, env = build_geneb_repo(repos["baseline"], n_models, n_tasks, geneb_dvc_yaml(old))
    run([dvc_exe(), "repro", "--quiet"], repos["baseline"], env, timeout=36000)
    commit_all(repos["baseline"], "repro")
    walls: dict[str, list[float]] = {f"{name}_{cmd}": [] for name in repos
                                     for cmd in ("status", "repro")}
    for _ in range(reps):
        for name, repo in repos.items():
            for cmd in ("status", "repro"):
                result = run([dvc_exe(), cmd], repo, env)
                assert not stages_run(result.output), result.output[-2000:]
                walls[f"{name}_{cmd}"].append(round(result.seconds, 2))
    out: dict = {"baseline_rev": rev, "reps": reps,
                 "dvc_lock_kb": {name: round((repo / "dvc.lock").stat().st_size / 1024, 1)
                                 for name, repo in repos.items()}}
    for key, values in walls.items():
        out[key] = {"median_s": round(statistics.median(values), 2), "min_s": min(values),
                    "max_s": max(values), "all_s": sorted(values)}
    for cmd in ("status", "repro"):
        out[f"{cmd}_ratio_now_to_baseline"] = round(
            out[f"now_{cmd}"]["median_s"] / out[f"baseline_{cmd}"]["median_s"], 3)
    return out


def bench_real_stage(base: Path, reps: int) -> dict:
    """Wall seconds of the real ``geneb embed`` (k-mer, lite) when every task is cached."""
    out = base / "real-stage" / "kmer-4"
    manifest = base / "real-stage" / "manifest.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "stages.cli"]
    run([*cli, "manifest", "--suite", "lite", "--out", str(manifest)], ROOT, env)
    embed = [*cli, "embed", "--model", "kmer-4", "--suite", "lite", "--quiet", "--out", str(out)]
    run([*embed, "--manifest", str(manifest)], ROOT, env)
    result = {"command": "geneb embed --model kmer-4 --suite lite (13 tasks, all cached)"}
    result["with_manifest"], log = timed(ROOT, [*embed, "--manifest", str(manifest)], env, reps)
    assert "0 task(s) embedded" in log, log
    result["hashing_the_csvs"], _ = timed(ROOT, embed, env, reps)
    result["python_start"], _ = timed(ROOT, [sys.executable, "-c", "pass"], env, reps)
    return result


def bench_cell_layout(base: Path, n_models: int, n_tasks: int, reps: int) -> dict:
    repo = base / "cell-layout"
    init_repo(repo)
    tasks = write_tasks(repo, n_tasks)
    models = {f"m{i:03d}": {"dim": 4} for i in range(n_models)}
    (repo / "params.yaml").write_text(json.dumps(
        {"models": models, "model_ids": sorted(models), "tasks": tasks}, indent=1))
    (repo / "dvc.yaml").write_text(CELL_DVC_YAML)
    (repo / "cell.py").write_text(CELL_SCRIPT)
    env = scratch_env(repo)
    commit_all(repo, "scratch")
    out: dict = {"layout": "per cell: matrix model x task (embed + score) + leaderboard",
                 "models": n_models, "tasks": n_tasks, "stages": 2 * n_models * n_tasks + 1}
    started = time.perf_counter()
    sys.path.insert(0, str(repo))
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        cell = {}
        exec(compile(CELL_SCRIPT, "cell.py", "exec"), cell)  # noqa: S102 - our own script
        for model in models:
            for task in tasks:
                cell["embed"](model, task)
                cell["score"](model, task)
        cell["board"]()
    finally:
        os.chdir(cwd)
    out["outputs_written_s"] = round(time.perf_counter() - started, 2)
    out["lock_by_dvc_commit"], _ = timed(repo, [dvc_exe(), "commit", "--force"], env)
    commit_all(repo, "commit")
    out["dvc_lock_kb"] = round((repo / "dvc.lock").stat().st_size / 1024, 1)
    out["noop_status"], log = timed(repo, [dvc_exe(), "status"], env, reps)
    assert "up to date" in log, log[-2000:]
    out["noop_repro"], log = timed(repo, [dvc_exe(), "repro"], env, reps)
    assert not stages_run(log), log[-2000:]
    out["dry_allow_missing"], _ = timed(repo, [dvc_exe(), "repro", "--allow-missing", "--dry"],
                                          env, reps)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=41)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--cell-models", type=int, default=None,
                        help="models in the per-cell layout (default: --models; 0 skips it)")
    parser.add_argument("--reps", type=int, default=3, help="runs per no-op timing (median)")
    parser.add_argument("--baseline-rev", help="also time no-ops against the dvc.yaml at this git "
                                                "revision, runs alternated (e.g. HEAD~3)")
    parser.add_argument("--baseline-reps", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="build the scratch repos here and keep them")
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="geneb-dvc-bench-"))
    cell_models = args.models if args.cell_models is None else args.cell_models
    import dvc

    results = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                           "dvc": dvc.__version__, "load_avg_start": os.getloadavg()},
               "geneb": bench_model_layout(base, args.models, args.tasks, args.reps),
               "real_stage": bench_real_stage(base, args.reps)}
    print(json.dumps({k: results[k] for k in ("geneb", "real_stage")}, indent=1), flush=True)
    if args.baseline_rev:
        results["against_baseline"] = bench_against_baseline(
            base, args.models, args.tasks, args.baseline_reps, args.baseline_rev)
        print(json.dumps(results["against_baseline"], indent=1), flush=True)
    if cell_models:
        results["cell"] = bench_cell_layout(base, cell_models, args.tasks, args.reps)
        print(json.dumps(results["cell"], indent=1), flush=True)
    results["machine"]["load_avg_end"] = os.getloadavg()
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.out}")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
