"""The positive control of issue 16: bench/build_control.py's specialist teachers, `PredictionsTeacher` folders in a
real run, and the task variant `sst2-control` (SST-2's data under its own name)."""
import importlib.util, json, sys
from pathlib import Path

import numpy as np
import pytest

from rmkd_nb.core import ConfigError
from rmkd_nb.experiment import load_data, run_experiment
from rmkd_nb.core import DistillConfig
from rmkd_nb.teachers import PredictionsTeacher

ROOT = Path(__file__).resolve().parents[1]
GLUE = ROOT.parent/"shared"/"data"/"glue"
needs_glue = pytest.mark.skipif(not (GLUE/"SST-2"/"train.tsv").is_file(), reason="needs ../shared/data/glue")


def _build_control():
    sys.path.insert(0, str(ROOT/"bench"))
    spec = importlib.util.spec_from_file_location("build_control", ROOT/"bench"/"build_control.py")
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def test_regions_split_by_length_into_equal_parts():
    bc = _build_control()
    texts = [" ".join(["w"] * n) for n in range(1, 31)]              # 1..30 words
    cuts = bc.region_cuts(texts, 3)
    region = bc.region_of(texts, cuts)
    np.testing.assert_array_equal(region, np.digitize(np.arange(1, 31), cuts, right=True))   # independent rule
    assert np.bincount(region).tolist() == [10, 10, 10]


def test_each_specialist_is_right_on_its_region_and_the_average_is_wrong_elsewhere():
    bc = _build_control()
    rng = np.random.default_rng(0)
    p1 = rng.uniform(0.55, 0.95, 60); y = rng.integers(0, 2, 60)                 # base right with probability p1
    p = np.where(y[:, None] == np.arange(2), p1[:, None], 1 - p1[:, None])
    base = np.log(p); region = np.repeat([0, 1, 2], 20)
    T = [bc.specialist_logits(base, region, k, sharpen=4.0) for k in range(3)]
    for k, t in enumerate(T):
        right = t.argmax(1) == y
        assert right[region == k].all() and not right[region != k].any()
        np.testing.assert_allclose(t[region == k], 4.0 * base[region == k], rtol=1e-6)
    soft = lambda z: np.exp(z / 2) / np.exp(z / 2).sum(1, keepdims=True)     # T = 2, as the study
    avg = np.mean([soft(t) for t in T], 0)
    assert (avg.argmax(1) != y).all()          # the average of the three teaches the wrong class on every example


@needs_glue
def test_a_predictions_pool_runs_as_the_sst2_control_task(tmp_path):
    cfg = {"task": "sst2-control", "data_dir": str(GLUE), "max_train_examples": 32, "reward_examples": 16,
           "max_eval_examples": 24, "max_length": 32, "epochs": 1.0, "batch_size": 8, "lr": 1e-3, "seed": 0,
           "strategy": "uniform", "device": "cpu", "precision": "fp32", "cache_dir": str(tmp_path/"cache"),
           "student": "tiny"}
    dsd = load_data(DistillConfig.from_dict(cfg))
    texts = [t for s in ("train", "reward", "validation") for t in dsd[s]["text"]]
    logits = np.random.default_rng(1).normal(size=(len(texts), 2)).astype(np.float32)
    for k in range(2):
        PredictionsTeacher(texts, logits + k, ["negative", "positive"], name=f"p{k}").save(tmp_path/f"p{k}")
    run_experiment(cfg | {"teachers": [str(tmp_path/"p0"), str(tmp_path/"p1")],
                                "output_dir": str(tmp_path/"run")}, figures=False)
    r = json.loads((tmp_path/"run"/"result.json").read_text())
    assert r["task"] == "sst2-control" and set(r["final"]) >= {"accuracy"}
    from rmkd_nb.cache import TeacherCache
    cache = TeacherCache.open(r["cache"])                                     # the run's cache holds the stored logits
    idx = np.asarray(dsd["train"]["idx"][:4])
    got = np.asarray(cache.gather(idx, "train").logits)                       # (4, K, C)
    np.testing.assert_allclose(got[:, 0], logits[:4], atol=1e-5)
    np.testing.assert_allclose(got[:, 1], logits[:4] + 1, atol=1e-5)

    missing = tmp_path/"short"; PredictionsTeacher(texts[:-1], logits[:-1], ["negative", "positive"]).save(missing)
    with pytest.raises(ConfigError, match="no stored prediction for 1 of"):
        run_experiment(cfg | {"teachers": [str(missing)], "output_dir": str(tmp_path/"run2")}, figures=False)
    assert not (tmp_path/"run2"/"result.json").exists()
