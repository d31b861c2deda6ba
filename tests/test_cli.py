"""The ``geneb`` command line: grouped help, ``--version``, one ``--suite`` rule, one error base
that becomes one line and exit status 2, and a start-up that imports no numerical library."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import pkgutil
import subprocess
import sys

import pytest

import stages
from stages import code_manifest, paths
from stages.cli import GROUPS, build_parser, main
from stages.errors import GenebError
from stages.space_sync import SyncError
from stages.spec import default_spec
from stages.verify import PullError


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _stages_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages(stages.__path__, "stages.")
            if not m.name.endswith("__main__")]  # running a __main__ would start the CLI


def test_every_stages_exception_derives_from_geneb_error():
    found = {}
    for name in _stages_modules():
        module = importlib.import_module(name)
        found.update({f"{name}.{cls.__name__}": cls for cls in vars(module).values()
                      if inspect.isclass(cls) and issubclass(cls, BaseException)
                      and cls.__module__ == name})
    assert len(found) > 15  # the discovery works (18 error classes when this test was written)
    strays = sorted(name for name, cls in found.items() if not issubclass(cls, GenebError))
    assert not strays, f"derive these from stages.errors.GenebError: {strays}"


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"geneb {stages.__version__}\n"


def test_help_lists_every_command_under_its_group(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    headings = [heading for heading, _ in GROUPS]
    assert [line[:-1] for line in text.splitlines() if line[:-1] in headings] == headings
    listed = [line.split()[0] for line in text.splitlines() if line.startswith("  ")
              and not line.lstrip().startswith(("-", "<"))]
    assert sorted(listed) == sorted(_subcommands())  # each command once, under a heading
    for group in ("data", "pipeline", "results and leaderboard", "trust", "maintainers"):
        assert any(h.startswith(group) for h in headings), group


def test_one_suite_rule_for_every_command():
    # No command hard-codes a suite: omitted means the suite of what it reads (stages/cli/options.py).
    for name, parser in _subcommands().items():
        suite = [a for a in parser._actions if "--suite" in a.option_strings]
        if name == "data-quality":  # a list of suites: every suite whose data is here
            continue
        assert all(a.default is None and a.help.startswith("default: ") for a in suite), name


def test_omitted_suite_is_params_suite_for_task_data(capsys, monkeypatch):
    monkeypatch.setattr("stages.cli.options.checkout_suite", lambda: "lite")
    task = default_spec().suite("lite").task_ids[0]
    assert main(["stats", "--tasks", task, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["task_id"] == task


def test_a_board_folder_claiming_two_suites_needs_suite(tmp_path, capsys):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps({"suite": "lite"}))
    (folder / "b.json").write_text("{}")  # no suite: full
    assert main(["leaderboard", "--submissions", str(folder), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err == (f"geneb leaderboard: error: {folder}: the submissions claim several suites "
                   "(full, lite); pass --suite\n")


@pytest.mark.parametrize("error", [PullError("dvc pull failed: no remote"),
                                   SyncError("space upload refused: lite results")],
                         ids=lambda e: type(e).__name__)
def test_a_geneb_error_is_one_line_and_exit_2(error, monkeypatch, capsys, tmp_path):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr("stages.embedding_files.read_embeddings", fail)
    assert main(["probe", str(tmp_path / "x.npz")]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"geneb probe: error: {error}\n" and captured.out == ""


def test_real_failure_through_the_entry_point_has_no_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "stages.cli", "leaderboard", "--suite", "full",
                           "--submissions", str(tmp_path), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120, cwd=paths.REPO_ROOT)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("geneb leaderboard: error: ") and done.stderr.count("\n") == 1


def test_start_up_imports_no_numerical_library():
    # `geneb probe --help` (and every dispatch) pays only for argparse and the spec.
    code = ("import sys; from stages.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('numpy', 'sklearn', 'torch', 'scipy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=paths.REPO_ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_each_cli_module_is_in_the_steps_or_dispatch_only():
    # A new CLI module must say whether DVC steps hash it (their handlers) or not.
    step_files = {f for files in code_manifest.STEP_CODE.values() for f in files}
    for module in sorted((paths.REPO_ROOT / "stages" / "cli").glob("*.py")):
        name = module.relative_to(paths.REPO_ROOT).as_posix()
        if module.stem != "__main__":
            assert (name in step_files) != (name in code_manifest.DISPATCH_ONLY), name
