"""What the agent decides, in the package (issue 16): a finished run records its selection summary in result.json
(checked here against an AUC computed independently, with scikit-learn, from the weight log and teacher table), a
run whose strategy decides nothing per example (`none`) or that kept no weight log records none, and `rmkd report`
shows the mean over seeds of the recorded values, from copies of result.json with nothing beside them."""
import json, shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from rmkd_nb.experiment import run_experiment
from rmkd_nb.report import REPORT_COLUMNS, write_report
from rmkd_nb.weightlog import WeightLog

GLUE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "glue"
RUNS = {"rl-0": dict(strategy="rl", seed=0), "rl-1": dict(strategy="rl", seed=1), "none-0": dict(strategy="none"),
        "rl-nolog": dict(strategy="rl", log_weights=False)}


def cfg(out, cache, **kw) -> dict:
    "A run of a few seconds: 24 RTE pairs to train on (2 epochs), 16 held out as the reward split, 24 dev pairs."
    return {"task": "rte", "data_dir": str(GLUE), "max_train_examples": 24, "reward_examples": 16,
            "max_eval_examples": 24, "max_length": 32, "epochs": 2.0, "batch_size": 8, "lr": 1e-3, "seed": 0,
            "device": "cpu", "precision": "fp32", "output_dir": str(out), "cache_dir": str(cache),
            "eval_every": 1} | kw


def _teachers(root, kw) -> list:
    """Three stored-predictions teachers, right on about 85%, 70% and 55% of every split's examples (fitted teachers
    would be right on every training example, and then there is nothing to separate)."""
    from rmkd_nb.core import DistillConfig
    from rmkd_nb.data import label_names
    from rmkd_nb.experiment import load_data
    from rmkd_nb.teachers import PredictionsTeacher
    dsd = load_data(DistillConfig.from_dict(kw)); names = label_names(dsd); rng = np.random.default_rng(0)
    texts = [t for ds in dsd.values() for t in ds["text"]]; pairs = [q for ds in dsd.values() for q in ds["text_pair"]]
    gold = np.concatenate([ds["label"] for ds in dsd.values()])
    out = []
    for k, acc in enumerate((.85, .7, .55)):
        pred = np.where(rng.random(len(gold)) < acc, gold, 1 - gold)
        logits = rng.normal(0, .3, (len(gold), len(names))); logits[np.arange(len(gold)), pred] += 2
        out.append(str(PredictionsTeacher(texts, logits, names, pairs, name=f"t{k}").save(root / f"t{k}")))
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    "The finished runs of `RUNS` (figures as HTML only), by name: (run dir, result.json)."
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("selection")
    teachers = _teachers(root / "teachers", cfg(root / "x", root / "cache"))
    out = {}
    for name, kw in RUNS.items():
        d = root / "sweep" / name
        run_experiment(cfg(d, root / "cache", teachers=teachers, **kw), png=False)
        out[name] = (d, json.loads((d / "result.json").read_text()))
    return out


def _auc(right, scores):
    "sklearn's ROC AUC of `scores` against `right`; None where every row is right or every row wrong."
    right = np.asarray(right, bool).ravel()
    return None if right.all() or not right.any() else float(roc_auc_score(right, np.asarray(scores).ravel()))


def _recomputed(run_dir):
    "Per epoch, from the weight log and weightlog/teachers.npz alone: pooled AUC, per-teacher AUC, mean weights."
    log = WeightLog.read(run_dir)
    with np.load(Path(run_dir) / "weightlog" / "teachers.npz") as z:
        right_by_idx = {int(i): p == l for i, l, p in zip(z["idx"], z["labels"], z["teacher_pred"])}
    probs, w = log["probs"].astype(np.float32), log["weights"].astype(np.float32)
    right = np.stack([right_by_idx[int(i)] for i in log["idx"]])
    out = {"auc": [], "auc_per_teacher": [], "weights": []}
    for e in np.unique(log["epoch"]):
        m = log["epoch"] == e; ok = m & ~np.isnan(probs).any(1)
        out["auc"].append(_auc(right[ok], probs[ok]))
        out["auc_per_teacher"].append([_auc(right[ok, k], probs[ok, k]) for k in range(probs.shape[1])])
        out["weights"].append(w[m].mean(0).tolist())
    return out


def _same(got, want, where):
    "Nested lists of floats (None where undefined) equal to 1e-9."
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: {got!r} != {want!r}"
        for i, (g, w) in enumerate(zip(got, want)): _same(g, w, f"{where}[{i}]")
    elif want is None: assert got is None, f"{where}: {got!r}, expected null (no AUC)"
    else: assert got == pytest.approx(want, abs=1e-6), f"{where}: {got!r} != {want!r}"


def test_result_json_records_the_selection_auc_of_the_weight_log(runs):
    for name in ("rl-0", "rl-1"):
        d, res = runs[name]
        sel = res["selection"]
        assert sel["value"] == "probs" and sel["teacher_names"] == res["teachers"]["names"], sel
        assert sel["epochs"] == [0, 1], sel["epochs"]
        want = _recomputed(d)
        for k in ("auc", "auc_per_teacher", "weights"): _same(sel[k], want[k], f"{name}: selection.{k}")
        assert any(a is not None for a in sel["auc"]), f"{name}: no epoch has a pooled AUC to check: {sel}"
        assert res["figures"]["selection_diagnostics"] == ["figures/selection_diagnostics.html"]
        assert (d / "figures" / "selection_diagnostics.html").stat().st_size > 1_000_000


def test_runs_that_decide_nothing_per_example_record_no_selection(runs):
    d, res = runs["none-0"]
    assert (d / "weightlog" / "teachers.npz").is_file()          # it has a teacher table, but nothing to score
    assert "selection" not in res and "selection_diagnostics" not in res["figures"], sorted(res)
    assert not (d / "figures" / "selection_diagnostics.html").exists()
    d, res = runs["rl-nolog"]                                    # log_weights=False: no weight log, no figures
    assert "selection" not in res and res["figures"] == {} and not (d / "weightlog" / "meta.json").exists()


def test_report_shows_the_mean_over_seeds_from_result_json_alone(runs, tmp_path):
    copies = tmp_path / "copies"
    for name, (d, _) in runs.items():
        (copies / name).mkdir(parents=True); shutil.copy(d / "result.json", copies / name / "result.json")
    write_report([copies], tmp_path / "r.md", tmp_path / "r.csv")
    md = (tmp_path / "r.md").read_text()
    assert (tmp_path / "r.csv").read_text().splitlines()[0] == ",".join(REPORT_COLUMNS)
    assert "0.5 means no separation of right from wrong teachers" in md, md
    sels = [runs[n][1]["selection"] for n in ("rl-0", "rl-1")]
    want = _row(sels)
    assert want != _row(sels[:1]) and want != _row(sels[1:]), f"the two seeds agree, so no mean is checked: {want}"
    rows = [l for l in md.splitlines() if l.startswith("| rl | probs |")]
    assert rows == [want], f"the report's row {rows}, expected {want!r} (the mean of the seeds' last epochs)"
    assert not any(l.startswith(("| none | probs", "| none | weights")) for l in md.splitlines()), md


def _row(sels) -> str:
    "The table row of the seeds' `selection`s, computed here: last epoch; pooled mean ± std, per teacher the means."
    auc = np.array([s["auc"][-1] for s in sels], np.float64)
    assert not np.isnan(auc).any(), f"a seed has no pooled AUC at the last epoch: {auc}"
    per = np.array([s["auc_per_teacher"][-1] for s in sels], np.float64)     # null -> NaN
    w = np.array([s["weights"][-1] for s in sels], np.float64)
    mean = lambda col: col[~np.isnan(col)].mean() if (~np.isnan(col)).any() else np.nan   # over the seeds with one
    f = lambda v: "–" if np.isnan(v) else f"{v:.2f}"
    std = auc.std(ddof=1) if len(auc) > 1 else 0.0
    return (f"| rl | probs | {auc.mean():.2f} ± {std:.2f} | "
            + " | ".join(f"{f(mean(per[:, k]))} / {f(w[:, k].mean())}" for k in range(per.shape[1]))
            + f" | {len(sels)} |")
