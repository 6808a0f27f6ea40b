"""A run killed with SIGKILL (mid-epoch, or while writing a checkpoint) resumes to a bit-identical result on CPU."""
import json, os, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import _tiny
from rmkd_nb.weightlog import WeightLog
from rmkd_nb.checkpoints import find_checkpoints

TINY = str(Path(__file__).parent / "_tiny.py")
OPTS = dict(dropout=0.1, chunk_rows=8)   # dropout on: RNG states must come back; chunk per step: the log is truncated


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    "An uninterrupted run, in this process."
    d = tmp_path_factory.mktemp("ref")
    _, res = _tiny.run(d / "run", d / "data", **OPTS)
    return d / "run", res


def _start_and_kill(tmp_path, **hang):
    "Start a run in a subprocess, wait until it reports the hang point, SIGKILL it."
    marker = tmp_path / "marker"
    args = dict(out=str(tmp_path / "run"), data_dir=str(tmp_path / "data"), marker=str(marker), **OPTS, **hang)
    env = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1")
    p = subprocess.Popen([sys.executable, TINY, json.dumps(args)], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    t0 = time.time()
    while not marker.exists():
        if p.poll() is not None:
            raise AssertionError(f"the run ended before the hang point:\n{p.stderr.read().decode()[-3000:]}")
        if time.time() - t0 > 120: p.kill(); raise AssertionError("the run did not reach the hang point in 120 s")
        time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL
    return tmp_path / "run"


def _assert_same_run(run_dir, reference):
    ref_dir, ref = reference
    _, res = _tiny.run(run_dir, run_dir.parent / "data", **OPTS)   # resumes from the newest complete checkpoint
    assert _tiny.strip_times(res) == _tiny.strip_times(ref)
    a, b = _tiny.student_params(run_dir), _tiny.student_params(ref_dir)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "student parameters differ"
    assert _tiny.history(run_dir) == _tiny.history(ref_dir)
    la, lb = WeightLog.read(run_dir), WeightLog.read(ref_dir)
    for k in ("step", "epoch", "idx", "weights", "probs", "actions", "rewards"):
        np.testing.assert_array_equal(la[k], lb[k], err_msg=k)
    assert len(la["idx"]) == 128 and (np.bincount(la["idx"]) == 2).all()


def test_sigkill_mid_epoch(tmp_path, reference):
    run = _start_and_kill(tmp_path, hang_after_step=7)   # checkpoints at 3 (save_every) and 5 (best at eval 5), 6
    assert not (run / "train_result.json").exists()
    assert [s for s, _ in find_checkpoints(run)] == [5, 6]
    assert WeightLog.read(run)["step"].max() == 7   # step 7's rows were written (chunk per step): resume truncates them
    _assert_same_run(run, reference)


def test_sigkill_while_writing_a_checkpoint(tmp_path, reference):
    run = _start_and_kill(tmp_path, hang_in_checkpoint=6)   # step-6 is complete in a temp dir, not renamed
    cdir = run / "checkpoints"
    assert [p.name for p in cdir.iterdir() if p.name.startswith(".tmp-step-6-")], list(cdir.iterdir())
    assert not (cdir / "step-6").exists()
    assert [s for s, _ in find_checkpoints(run)] == [3, 5]   # the half-written one is not a checkpoint
    _assert_same_run(run, reference)                      # resumes from step 5; the corrupt temp dir is never read
    assert not [p for p in cdir.iterdir() if p.name.startswith(".tmp-")]
