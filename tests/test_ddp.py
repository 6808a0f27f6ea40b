"""Two CPU processes on gloo (DDP through Accelerate) match one process with the same global batch."""
import json, os, socket, subprocess, sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import _tiny
from rmkd_nb.trainer import WeightLog

TINY = str(Path(__file__).parent / "_tiny.py")
# 45 examples, global batch 8, grad_accum 2: the last group holds a full batch and one of 5 examples (shares 3 + 2).
# Examples 9 and 3 have NaN teacher logits and on_nan="skip": in epoch 0, 9 sits in rank 1's share of the second
# (synchronising) micro-batch of step 1, 3 in the first micro-batch of step 2; both are skipped on every rank.
OPTS = dict(strategy="uniform", epochs=2, grad_accum=2, eval_every=3, on_nan="skip", nan_idx=[9, 3])


def _free_port():
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def test_two_gloo_processes_match_one(tmp_path):
    args = {"mlp": dict(out=str(tmp_path / "ddp"), batch_size=4, **OPTS)}
    env = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), TINY, json.dumps(args)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-4000:]
    ddp = json.loads((tmp_path / "ddp" / "train_result.json").read_text())
    assert ddp["num_processes"] == 2

    _, one = _tiny.run_mlp(tmp_path / "one", batch_size=8, **OPTS)   # one process, the same global batch
    assert one["num_processes"] == 1 and one["steps"] == ddp["steps"] == 6 and one["samples"] == ddp["samples"] == 90
    assert one["skipped"] == ddp["skipped"] == 32
    for k in ("accuracy", "loss"):
        assert abs(one["final"][k] - ddp["final"][k]) < 1e-5 and abs(one["best"][k] - ddp["best"][k]) < 1e-5, (one, ddp)
    a, b = _tiny.student_params(tmp_path / "ddp"), _tiny.student_params(tmp_path / "one")
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst < 1e-5, f"largest parameter difference {worst}"
    ha, hb = _tiny.history(tmp_path / "ddp"), _tiny.history(tmp_path / "one")
    assert [(r["type"], r["step"]) for r in ha] == [(r["type"], r["step"]) for r in hb]
    skips = [(r["step"], r["idx"]) for r in ha if r["type"] == "skip"]
    assert skips == [(r["step"], r["idx"]) for r in hb if r["type"] == "skip"] == [(1, [9]), (2, [3]), (4, [9]), (5, [3])]
    np.testing.assert_allclose([r["loss"] for r in ha if "loss" in r], [r["loss"] for r in hb if "loss" in r], atol=1e-5)
    la, lb = WeightLog.read(tmp_path / "ddp"), WeightLog.read(tmp_path / "one")   # gathered from both ranks, in order
    for k in ("step", "idx", "weights"): np.testing.assert_array_equal(la[k], lb[k], err_msg=k)
    assert len(la["idx"]) == 90 - 32
