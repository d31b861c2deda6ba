"""Real weights: the HyenaDNA-tiny fine-tune shipped in the anticapt package (GPL-3.0; installed
with --no-deps, never copied), loaded through the registry like any other model."""

from __future__ import annotations

import json
import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never attempt a download
# trust_remote_code modules are copied under HF_HOME: a writable scratch place, not ~/.cache
os.environ.setdefault("HF_HOME", os.path.join(tempfile.gettempdir(), "geneb-test-hf-home"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from stages import paths  # noqa: E402
from stages.extractors.hf import resolve_source  # noqa: E402
from stages.extractors.registry import get_model_entry, load_extractor  # noqa: E402
from stages.taskdata import load_task  # noqa: E402

pytest.importorskip("anticapt", reason="the anticapt package holds the HyenaDNA weights")
MODEL = "hyenadna-tiny-1k-anticapt"
SUBMISSION = paths.REPO_ROOT / "results" / "lite" / "submissions" / f"{MODEL}.json"


@pytest.fixture(scope="module")
def hyena():
    return load_extractor(get_model_entry(MODEL), device="cpu")


@pytest.fixture(scope="module")
def reference():
    """The checkpoint loaded straight with transformers, as anticapt itself loads it."""
    from transformers import AutoModel, AutoTokenizer

    path, _ = resolve_source(MODEL, get_model_entry(MODEL).source)
    return (AutoTokenizer.from_pretrained(path, trust_remote_code=True),
            AutoModel.from_pretrained(path, trust_remote_code=True).eval())


def test_settings_are_resolved_and_recorded(hyena):
    s = hyena.settings
    assert (s.max_length, s.padding_side, s.dtype, s.pooling, s.special_tokens) == \
        (1026, "right", "float32", "mean", "exclude")
    assert hyena.tokenizer.padding_side == "left"  # what the checkpoint declares; GENEB overrides it
    assert hyena._prefix == [] and hyena._suffix == [hyena.tokenizer.sep_token_id]
    assert hyena.identity()["architecture"] == "HyenaDNAModel" and len(hyena.identity()["sha256"]) == 64


def test_matches_the_plain_transformers_forward(hyena, reference, lite):
    tokenizer, model = reference
    sequences = load_task(lite.data_dir, "leannmlindsey_GUE_prom_300_tata").test.sequences[:3]
    with torch.inference_mode():
        expected = [model(input_ids=torch.tensor([tokenizer(s)["input_ids"]])).last_hidden_state[0, :-1]
                    .mean(0).numpy() for s in sequences]  # one at a time, [SEP] (last token) left out
    np.testing.assert_allclose(hyena.embed(sequences), np.stack(expected), rtol=1e-5, atol=1e-5)


def test_batch_invariance_on_real_lite_sequences(hyena, lite):
    short = load_task(lite.data_dir, "leannmlindsey_GUE_prom_core_all").test.sequences[:6]
    long = load_task(lite.data_dir, "leannmlindsey_GUE_prom_300_tata").test.sequences[:6]
    mixed = hyena.embed(short + long)  # 70-nt rows padded to 301 tokens in the same batch
    alone = np.stack([hyena.embed([s])[0] for s in short])
    np.testing.assert_allclose(mixed[:6], alone, rtol=1e-4, atol=1e-5)


def test_left_padding_would_leak_pads_into_every_token(reference):
    """Why the family refuses left padding: HyenaDNA has no attention mask."""
    tokenizer, model = reference
    seq = "ACGTTGCA" * 8
    ids = tokenizer(seq)["input_ids"]
    pads = [tokenizer.pad_token_id] * 40
    with torch.inference_mode():
        alone = model(input_ids=torch.tensor([ids])).last_hidden_state[0]
        right = model(input_ids=torch.tensor([ids + pads])).last_hidden_state[0, :len(ids)]
        left = model(input_ids=torch.tensor([pads + ids])).last_hidden_state[0, 40:]
    assert torch.allclose(right, alone, atol=1e-5)  # causal: later pads never reach real tokens
    assert not torch.allclose(left, alone, atol=1e-3)


def test_sequences_longer_than_the_model_are_windowed(hyena):
    rng = np.random.default_rng(0)
    long = "".join(rng.choice(list("ACGT"), 2500))
    before = hyena.run_report()
    vectors = hyena.embed([long, long[:-20] + "A" * 20])
    after = hyena.run_report()
    assert after["windowed_sequences"] - before["windowed_sequences"] == 2
    assert after["windows"] - before["windows"] == 6  # ceil(2500 / 1025) windows each
    assert not np.allclose(vectors[0], vectors[1], atol=1e-5)  # the last bases still count


def test_committed_lite_submission_records_these_weights_and_settings(hyena):
    if not SUBMISSION.is_file():
        pytest.skip(f"{SUBMISSION} not produced yet (geneb run --model {MODEL} --suite lite)")
    submission = json.loads(SUBMISSION.read_text(encoding="utf-8"))
    extractor = submission["run_settings"]["extractor"]
    assert submission["model_id"] == MODEL and submission["suite"] == "lite"
    assert extractor["family"] == "hyena"
    assert extractor["weights"] == hyena.identity()  # the weights and what the load-time guard found
    assert (extractor["weights"]["load_check"]["missing"], extractor["weights"]["load_check"]["unexpected"]) == (0, 0)
    assert extractor["settings"] == hyena.settings.vector_json()
    reports = extractor["report"].values()
    assert sum(r["windowed_sequences"] for r in reports) == 0  # lite sequences are <= 300 nt
    assert sum(r["sequences"] for r in reports) == 36507
