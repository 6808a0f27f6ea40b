"""Issue 17: the conflict benchmark (tiny versions) and the agent's guard against executing selections that hurt."""
import functools, json
from pathlib import Path

import numpy as np
import pytest

from rmkd_nb import conflict
from rmkd_nb.conflict import (CONFLICT_STRATEGIES, PAIRS, make_conflict_task, make_text_conflict_task, run_logged,
                              selection_by_epoch)
from rmkd_nb.experiment import find_glue_dir

TINY = dict(n_train=320, n_dev=64, n_test=256)
GLUE = find_glue_dir(Path(__file__).resolve().parent)


def _first_epoch(strategy, options):
    t = make_conflict_task(0, **TINY)
    r = run_logged(t, strategy, options, seed=0, epochs=2, alpha=0.9)
    return selection_by_epoch(r["log"], t)[0]


def test_guard_keeps_wrong_teachers_out_from_the_first_epoch():
    # the policy learns the same either way (its probabilities barely separate in epoch 1), but the executed weights
    # differ: without the guard a confidently wrong teacher keeps ~0.2 of the KD weight while the agent learns; with
    # it, almost none
    guarded, raw = _first_epoch("rl", {}), _first_epoch("rl", {"guard": False})
    assert raw["w_wrong"] > 0.12, raw
    assert guarded["w_wrong"] < 0.05, guarded
    assert guarded["p_wrong"] > 0.5 and raw["p_wrong"] > 0.5   # the policy itself is still near its initial 0.8
    soft = _first_epoch("rl_soft", {})
    assert soft["w_wrong"] < 0.05, soft


def test_text_conflict_task_structure():
    if GLUE is None: pytest.skip("no shared/data/glue beside the repository")
    t = make_text_conflict_task(GLUE, n_teacher=60, n_train=10, n_dev=5, n_test=10)
    tr = t.splits["train"]
    assert tr["x"].shape == (40, 384) and tr["logits"].shape == (40, 4, 4)
    np.testing.assert_array_equal(tr["y"], np.repeat(np.arange(4), 10))
    top = tr["logits"].argmax(-1)   # (N, K): a teacher only ever predicts one of its own two classes
    for k, s in enumerate(PAIRS): assert set(np.unique(top[:, k])) <= set(s)


def test_cli_bench_conflict_tiny(tmp_path, monkeypatch, capsys):
    if GLUE is None: pytest.skip("no shared/data/glue beside the repository")
    from rmkd_nb.cli import main
    small = {n: CONFLICT_STRATEGIES[n] for n in ("uniform", "none", "oracle_right", "rl")}
    monkeypatch.setattr(conflict, "run_conflict_benchmark", functools.partial(
        conflict.run_conflict_benchmark, strategies=small, task_options=TINY, verbose=False, epochs=1,
        text_options=dict(n_teacher=60, n_train=20, n_dev=10, n_test=20)))
    out = tmp_path/"conflict.md"
    assert main(["bench", "conflict", "--seeds", "2", "--out", str(out), "--glue_dir", str(GLUE)]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(last["accuracy"]) == set(small) and all(len(v) == 2 for v in last["per_seed"].values())
    assert len(last["rl_within_1pt"]) == 2 and set(last["synthetic"]["accuracy"]) == set(small)
    md = out.read_text()
    assert "rmkd bench conflict --seeds 2" in md and "| rl | seed" not in md and "| rl | 0 | 1 |" in md
