"""A bad extractor setting, from `--settings` or params.yaml, is one line naming the setting and
where it came from, and nothing is written: committed results stay as they are."""

from __future__ import annotations

import pytest
import yaml

from stages import paths
from stages.cli import main
from stages.params import ParamsError, load_params

COMMITTED = paths.REPO_ROOT / "results" / "lite" / "submissions" / "kmer-4.json"


@pytest.mark.parametrize("settings, says", [
    ('{"batch_size": -3}', "--settings: setting 'batch_size': -3 is not a positive integer"),
    ('{"pooling": "bogus"}', "--settings: setting 'pooling': 'bogus' is not one of mean, cls"),
    ('{"layer": "last"}', "--settings: setting 'layer': 'last' is not an integer"),
    ('{"options": {"k": 20}}', "--settings: setting 'options.k': 20 is not an integer from 1"),
    ('{"options": {"kk": 3}}', "--settings: setting 'options.kk': not an option of the kmer"),
    ("not json", "--settings: not valid JSON"),
])
def test_geneb_run_rejects_a_bad_setting_before_writing(settings, says, tmp_path, capsys):
    before = COMMITTED.read_bytes()
    out = tmp_path / "kmer-4.json"
    assert main(["run", "--model", "kmer-4", "--suite", "lite", "--settings", settings,
                 "--embeddings", str(tmp_path / "emb")]) == 2
    assert main(["run", "--model", "kmer-4", "--suite", "lite", "--settings", settings,
                 "--out", str(out), "--embeddings", str(tmp_path / "emb")]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert COMMITTED.read_bytes() == before  # the default output, committed, untouched
    assert not out.exists() and not (tmp_path / "emb").exists()


def test_params_yaml_names_the_model_and_the_setting(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"suite": "lite", "models": {
        "kmer-4": {"settings": {"batch_size": -3}}}}))
    with pytest.raises(ParamsError, match=r"field 'models.kmer-4.settings': setting 'batch_size'"):
        load_params(path)
