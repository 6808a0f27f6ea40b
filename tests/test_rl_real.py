"""The agent diagnostics of bench/rl_real.py and rmkd_nb.viz.selection_auc, checked against scikit-learn on
hand-made logs."""
import importlib.util, sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("rl_real", ROOT/"bench"/"rl_real.py")
rl_real = importlib.util.module_from_spec(spec); spec.loader.exec_module(rl_real)


def test_selection_stats_match_sklearn():
    r = np.random.default_rng(0); N, K, C = 50, 3, 2
    labels = r.integers(0, C, N); logits = r.normal(size=(N, K, C)).astype(np.float32)
    arrays = {"idx": np.arange(100, 100 + N), "labels": labels, "logits": logits}
    order = r.permutation(N)   # the log visits the examples in a shuffled order, over two epochs
    probs = r.random((2 * N, K)).astype(np.float32)     # the weight log stores float16; the viz reads float32
    weights = (probs / probs.sum(1, keepdims=True)).astype(np.float32)
    log = {"epoch": np.repeat([0, 1], N), "idx": np.concatenate([order, order]) + 100, "probs": probs,
           "weights": weights}
    out = rl_real.selection_stats(log, arrays)
    right = logits[order].argmax(-1) == labels[order][:, None]     # the last epoch's rows, in log order
    np.testing.assert_allclose(out["weights"], weights[N:].mean(0))
    assert abs(out["auc"] - roc_auc_score(right.ravel(), probs[N:].ravel())) < 1e-12
    for k in range(K): assert abs(out["auc_per_teacher"][k] - roc_auc_score(right[:, k], probs[N:, k])) < 1e-12


def test_selection_stats_nan_when_a_teacher_is_always_right():
    labels = np.array([0, 1, 0, 1]); logits = np.zeros((4, 2, 2), np.float32)
    logits[np.arange(4), 0, labels] = 1.0          # teacher 0 always right; teacher 1 always predicts class 0
    logits[:, 1, 0] = 1.0
    log = {"epoch": np.zeros(4, int), "idx": np.arange(4),
           "weights": np.array([[.9, .1], [.8, .2], [.7, .3], [.6, .4]])}
    out = rl_real.selection_stats(log, {"idx": np.arange(4), "labels": labels, "logits": logits})
    assert np.isnan(out["auc_per_teacher"][0])
    assert out["auc_per_teacher"][1] == roc_auc_score(labels == 0, log["weights"][:, 1])


def test_selection_auc_per_epoch_matches_sklearn():
    "viz.selection_auc over 3 epochs: per epoch, pooled and per teacher, as roc_auc_score; NaN rows skipped."
    from rmkd_nb.viz import Run, selection_auc
    r = np.random.default_rng(1); N, K = 40, 3
    labels = r.integers(0, 2, N); pred = np.where(r.random((N, K)) < [.9, .7, .5], labels[:, None], 1 - labels[:, None])
    teachers = {"idx": np.arange(N) * 2, "labels": labels, "teacher_pred": pred, "teacher_ce": r.random((N, K))}
    order = np.concatenate([r.permutation(N) for _ in range(3)])
    probs = r.random((3 * N, K)).astype(np.float32); probs[:5] = np.nan      # steps without the agent's probs
    log = {"step": np.repeat(np.arange(3 * N // 4), 4), "epoch": np.repeat([0, 1, 2], N), "idx": order * 2,
           "weights": r.random((3 * N, K)).astype(np.float32), "probs": probs}
    t = selection_auc(Run(log, teachers=teachers))
    assert t["value"] == "probs" and t["epochs"] == [0, 1, 2]
    for e in range(3):
        rows = np.arange(e * N, (e + 1) * N); rows = rows[~np.isnan(probs[rows]).any(1)]
        right = pred[order[rows]] == labels[order[rows]][:, None]
        assert abs(t["auc"][e] - roc_auc_score(right.ravel(), probs[rows].ravel())) < 1e-12
        for k in range(K): assert abs(t["auc_per_teacher"][e, k] - roc_auc_score(right[:, k], probs[rows, k])) < 1e-12
        np.testing.assert_allclose(t["weights"][e], log["weights"][e * N:(e + 1) * N].mean(0), rtol=1e-6)
