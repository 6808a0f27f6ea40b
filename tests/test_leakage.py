"""Leak-free comparisons (issue 14): nothing in a run reads the labels of the split it reports; the training, reward
and report splits are disjoint and stable; strategies that fit on labels need a reward split; `rl_paper` runs all
three phases end to end and resumes bit-identically after a SIGKILL."""
import json, os, shutil, signal, sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rmkd_nb.core import ConfigError, DistillConfig
from rmkd_nb.experiment import check_run, load_data, run_experiment
from rmkd_nb.weightlog import WeightLog

GLUE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "glue"
HERE = Path(__file__).parent


def cfg(out, cache, data_dir=GLUE, **kw) -> dict:
    "A run of a few seconds: 24 RTE pairs to train on, 16 held out as the reward split, 24 dev pairs to report on."
    return {"task": "rte", "data_dir": str(data_dir), "max_train_examples": 24, "reward_examples": 16,
            "max_eval_examples": 24, "max_length": 32, "epochs": 1.0, "batch_size": 8, "lr": 1e-3, "seed": 0,
            "strategy": "uniform", "device": "cpu", "precision": "fp32", "output_dir": str(out),
            "cache_dir": str(cache), "eval_every": 1} | kw


@pytest.fixture(scope="module")
def shifted_glue(tmp_path_factory):
    "A copy of RTE whose dev labels are all replaced by the other class."
    d = tmp_path_factory.mktemp("glue_shifted") / "RTE"; d.mkdir()
    shutil.copy(GLUE / "RTE" / "train.tsv", d / "train.tsv")
    lines = (GLUE / "RTE" / "dev.tsv").read_text(encoding="utf-8").splitlines()
    swap = {"entailment": "not_entailment", "not_entailment": "entailment"}
    out = [lines[0]] + ["\t".join(r.split("\t")[:-1] + [swap[r.split("\t")[-1]]]) for r in lines[1:] if r]
    (d / "dev.tsv").write_text("\n".join(out) + "\n", encoding="utf-8")
    return d.parent


STRATEGIES = [("uniform", {}), ("fixed", {}), ("lr_ensemble", {}), ("single:best", {}), ("oracle_right", {}),
              ("kd_lookahead_rule", {}), ("rl", {}),
              ("rl", {"reward": "dev", "episode": "epoch"}),
              ("rl_paper", {"warmup_epochs": 0, "pretrain_epochs": 0, "episode": 1, "heldout_examples": 8})]


def _train_rows(run):
    rows = [json.loads(l) for l in (Path(run) / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "samples_per_s"} for r in rows if r["type"] == "train"]


def _student(run):
    from safetensors.torch import load_file
    return load_file(str(Path(run) / "student" / "model.safetensors"))


def _strategy_state(run):
    ck = sorted((Path(run) / "checkpoints").glob("step-*"))[-1]
    from rmkd_nb.checkpoints import load_tree
    return load_tree(ck / "strategy")[0]


def _same(a, b, where=""):
    "Nested dicts/lists/tensors equal bit for bit."
    if torch.is_tensor(a): assert torch.is_tensor(b) and torch.equal(a, b), where; return
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a: _same(a[k], b[k], f"{where}.{k}")
        return
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)): _same(x, y, f"{where}[{i}]")
        return
    assert a == b or (a != a and b != b), f"{where}: {a!r} != {b!r}"


def test_report_labels_never_reach_training(tmp_path, shifted_glue):
    "Every report-split label replaced: the same strategy weights, losses, rewards, agent and student, bit for bit."
    torch.set_num_threads(1)
    for i, (name, opts) in enumerate(STRATEGIES):
        runs = []
        for lane, data in (("a", GLUE), ("b", shifted_glue)):
            out = tmp_path / f"{lane}{i}"
            c = cfg(out, tmp_path / f"cache_{lane}", data, strategy=name, strategy_options=opts)
            res = run_experiment(c, figures=False)
            runs.append((out, res))
        (a, ra), (b, rb) = runs
        what = f"strategy {name} {opts}"
        assert ra["final"]["accuracy"] + rb["final"]["accuracy"] == pytest.approx(1.0), what   # the labels did change
        assert _train_rows(a) == _train_rows(b), f"{what}: training losses/rewards differ"
        wa, wb = WeightLog.read(a), WeightLog.read(b)
        for k in ("idx", "weights", "probs", "actions", "rewards"):
            if k in wa or k in wb: np.testing.assert_array_equal(wa[k], wb[k], err_msg=f"{what}: weight log {k}")
        _same(_student(a), _student(b), f"{what}: student")
        _same(_strategy_state(a), _strategy_state(b), f"{what}: strategy state")
        not_dev = lambda r: [s for s in r["splits"] if s["name"] != "validation"]
        assert not_dev(ra) == not_dev(rb)


def test_splits_are_disjoint_and_stable(tmp_path):
    base = DistillConfig.from_dict(cfg(tmp_path / "r", tmp_path / "c", max_train_examples=200, reward_examples=100))
    d0, d1 = load_data(base), load_data(base.replace(seed=7))      # run seeds differ, subset_seed the same
    tr, rw = set(d0["train"]["idx"]), set(d0["reward"]["idx"])
    assert (len(tr), len(rw)) == (200, 100) and not tr & rw
    assert tr == set(d1["train"]["idx"]) and rw == set(d1["reward"]["idx"])
    d2 = load_data(base.replace(subset_seed=1))
    assert set(d2["reward"]["idx"]) != rw and not set(d2["train"]["idx"]) & set(d2["reward"]["idx"])
    # the reward split is held out of the whole training file: with no subset, train + reward = the file
    full = load_data(base.replace(max_train_examples=None))
    assert len(full["train"]) + len(full["reward"]) == 2490
    assert not set(full["train"]["idx"]) & set(full["reward"]["idx"])


def test_result_records_splits(tmp_path):
    from rmkd_nb.data import split_record
    res = run_experiment(cfg(tmp_path / "r", tmp_path / "c"), figures=False)
    dsd = load_data(DistillConfig.from_dict(cfg(tmp_path / "r", tmp_path / "c")))
    assert [s["name"] for s in res["splits"]] == ["train", "reward", "validation"]
    assert [s["n"] for s in res["splits"]] == [24, 16, 24]
    assert res["splits"][1] == split_record(dsd["reward"], "reward", "train")
    assert res["splits"][0]["idx_sha256"] != res["splits"][1]["idx_sha256"]
    assert json.loads((tmp_path / "r" / "result.json").read_text())["splits"] == res["splits"]


@pytest.mark.parametrize("name,opts", [("fixed", {}), ("lr_ensemble", {}), ("single:best", {}), ("rl_paper", {}),
                                       ("rl", {"reward": "dev", "episode": "epoch"}), ("rl", {"reward": "heldout"})])
def test_fitting_without_a_reward_split_is_refused_before_any_work(tmp_path, name, opts):
    c = DistillConfig.from_dict(cfg(tmp_path / "r", tmp_path / "c", reward_examples=0, strategy=name,
                                    strategy_options=opts))
    with pytest.raises(ConfigError, match="set reward_examples"): check_run(c)
    with pytest.raises(ConfigError, match="set reward_examples"): run_experiment(c, figures=False)
    assert not (tmp_path / "r").exists() and not (tmp_path / "c").exists()


def test_reward_file_for_custom_tasks(tmp_path):
    rows = lambda n, s: "text,label\n" + "".join(f"w{(i * 7 + s) % 13} w{i % 5},{'ab'[i % 2]}\n" for i in range(n))
    for f, n, s in (("tr.csv", 40, 0), ("dev.csv", 20, 1), ("rw.csv", 12, 2)): (tmp_path / f).write_text(rows(n, s))
    c = cfg(tmp_path / "r", tmp_path / "c", task="custom", data_dir=None, train_file=str(tmp_path / "tr.csv"),
            dev_file=str(tmp_path / "dev.csv"), reward_file=str(tmp_path / "rw.csv"), reward_examples=0,
            text_fields=["text"], strategy="fixed")
    c.pop("data_dir")
    res = run_experiment(c, figures=False)
    assert [(s["name"], s["source"], s["n"]) for s in res["splits"]] == [
        ("train", "train", 24), ("reward", "reward_file", 12), ("validation", "validation", 20)]
    assert res["teachers"]["accuracy"]["reward"]
    with pytest.raises(ConfigError, match="reward_file=.* needs train_file"):
        DistillConfig.from_dict(cfg(tmp_path / "x", tmp_path / "c", reward_examples=0,
                                    reward_file=str(tmp_path / "rw.csv")))


def _forked(c, kill):
    "tests/_robust_run.py's run(c, kill) in a forked child (torch etc. already imported): its exit status."
    from tqdm import tqdm as _tqdm   # no tqdm monitor thread at the fork; fresh tqdm locks in the child
    _tqdm.monitor_interval = 0
    if getattr(_tqdm, "monitor", None) is not None: _tqdm.monitor.exit(); _tqdm.monitor = None
    if str(HERE) not in sys.path: sys.path.insert(0, str(HERE))
    import _robust_run
    log = Path(c["output_dir"]).parent / f"{Path(c['output_dir']).name}-{kill.replace(':', '')}.log"
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            import tqdm.std, tqdm.auto
            for cls in {tqdm.std.tqdm, tqdm.auto.tqdm}: cls.set_lock(tqdm.std.TqdmDefaultWriteLock())
            fd = os.open(str(log), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644); os.dup2(fd, 1); os.dup2(fd, 2)
            _robust_run.run(c, kill); code = 0
        except BaseException:
            import traceback; traceback.print_exc()
        finally:
            sys.stdout.flush(); sys.stderr.flush(); os._exit(code)
    _, status = os.waitpid(pid, 0)
    return (-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)), log


def test_rl_paper_three_phases_and_resume_after_sigkill(tmp_path):
    """rl_paper: warm-up, pre-training (student frozen), joint; killed mid-episode in the joint phase, resumed
    bit-identical."""
    c = lambda out: cfg(out, tmp_path / "cache", strategy="rl_paper", epochs=3.0, save_every=1, eval_every=0,
                        strategy_options={"episode": 2, "heldout_examples": 8})
    torch.set_num_threads(1)
    run_experiment(c(tmp_path / "ref"), figures=False)   # the uninterrupted reference, in this process
    rows = [json.loads(l) for l in (tmp_path / "ref" / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["type"] == "train"]
    assert [bool(r.get("student_frozen")) for r in train] == [False] * 3 + [True] * 3 + [False] * 3   # the three phases
    assert all("reward_mean" not in r for r in train[:3]) and all("reward_mean" in r for r in train[3:6])
    assert ["reward_mean" in r for r in train[6:]] == [False, True, False]   # one held-out reward per 2-batch episode
    rc, log = _forked(c(tmp_path / "run"), "step:8")   # the newest checkpoint (step 7) is mid-episode
    assert rc == -signal.SIGKILL, log.read_text()[-3000:]
    assert not (tmp_path / "run" / "result.json").exists()
    from rmkd_nb.checkpoints import find_checkpoints
    assert find_checkpoints(tmp_path / "run")[-1][0] == 7
    run_experiment(c(tmp_path / "run"), figures=False)   # resumes from step 7
    assert _train_rows(tmp_path / "run") == _train_rows(tmp_path / "ref")
    _same(_student(tmp_path / "run"), _student(tmp_path / "ref"), "student")
    _same(_strategy_state(tmp_path / "run"), _strategy_state(tmp_path / "ref"), "agent")
    wa, wb = WeightLog.read(tmp_path / "run"), WeightLog.read(tmp_path / "ref")
    for k in ("step", "idx", "weights", "probs", "actions", "rewards"):
        np.testing.assert_array_equal(wa[k], wb[k], err_msg=k)
