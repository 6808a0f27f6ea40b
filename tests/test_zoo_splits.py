"bench/build_zoo.py --disjoint-from: the teachers' rows never meet the student's training or reward rows."
import importlib.util, sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _build_zoo():
    spec = importlib.util.spec_from_file_location("build_zoo", ROOT/"bench"/"build_zoo.py")
    mod = importlib.util.module_from_spec(spec); sys.modules["build_zoo"] = mod; spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def glue(tmp_path):
    d = tmp_path/"glue"/"SST-2"; d.mkdir(parents=True); rng = np.random.default_rng(0)
    for f, n in (("train.tsv", 300), ("dev.tsv", 40)):
        rows = [f"sentence {i} word{rng.integers(50)}\t{i % 2}" for i in range(n)]
        (d/f).write_text("sentence\tlabel\n" + "\n".join(rows) + "\n")
    sweep = tmp_path/"s.yaml"
    sweep.write_text(f"base:\n  task: sst2\n  data_dir: {tmp_path/'glue'}\n  max_train_examples: 60\n"
                     "  reward_examples: 25\n  subset_seed: 3\n")
    return tmp_path/"glue", sweep


def idx(ds): return set(int(i) for i in ds["idx"])


def test_teacher_split_disjoint_from_student_and_reward(glue):
    from rmkd_nb.core import DistillConfig
    from rmkd_nb.data import load_task, split_record
    from rmkd_nb.experiment import load_data
    bz = _build_zoo(); data_dir, sweep = glue
    ds, rec = bz.disjoint_splits(load_task("sst2", data_dir), sweep, n_train=100, n_dev=30, seed=0)
    # the run's own splits, built independently by the kit from the same settings
    run = load_data(DistillConfig(task="sst2", data_dir=str(data_dir), max_train_examples=60, reward_examples=25,
                                  subset_seed=3))
    student = idx(run["train"]) | idx(run["reward"])
    assert len(run["train"]) == 60 and len(run["reward"]) == 25 and len(student) == 85
    for s in ("train", "teacher_dev", "pool"): assert not idx(ds[s]) & student, s
    assert not idx(ds["train"]) & idx(ds["teacher_dev"]) and not idx(ds["pool"]) & idx(ds["teacher_dev"])
    assert (len(ds["train"]), len(ds["teacher_dev"]), len(ds["pool"])) == (100, 30, 300 - 85 - 30)
    assert idx(ds["train"]) <= idx(ds["pool"])
    # what zoo.json records is what result.json["splits"] holds for such a run
    assert rec["excluded"] == [split_record(run["train"], "train"), split_record(run["reward"], "reward", "train")]
    assert rec["overlap_with_excluded"] == 0 and rec["teacher"][0]["n"] == 100


def test_too_large_teacher_split_is_refused(glue):
    from rmkd_nb.data import load_task
    bz = _build_zoo(); data_dir, sweep = glue
    with pytest.raises(SystemExit, match="rows left after the exclusion"):
        bz.disjoint_splits(load_task("sst2", data_dir), sweep, n_train=200, n_dev=30, seed=0)
