"""Two CPU processes on gloo (DDP through Accelerate) match one process with the same global batch."""
import json, os, socket, subprocess, sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import _tiny
from rmkd_nb.weightlog import WeightLog

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
    skips_one = [(r["step"], r["idx"]) for r in hb if r["type"] == "skip"]
    assert skips == skips_one == [(1, [9]), (2, [3]), (4, [9]), (5, [3])]
    losses = lambda h: [r["loss"] for r in h if "loss" in r]
    np.testing.assert_allclose(losses(ha), losses(hb), atol=1e-5)
    la, lb = WeightLog.read(tmp_path / "ddp"), WeightLog.read(tmp_path / "one")   # gathered from both ranks, in order
    for k in ("step", "idx", "weights"): np.testing.assert_array_equal(la[k], lb[k], err_msg=k)
    assert len(la["idx"]) == 90 - 32


# The RL agent on the same MLP task: its default (counterfactual kd_lookahead reward, per-teacher credit, EMA baseline)
# and a variant whose reward needs the updated student's logits (ce_gain) with a learned value baseline.
RL = dict(strategy="rl", epochs=2, grad_accum=2, eval_every=3, strategy_options={"lr": 0.05})
RL_RUNS = {"rl": RL, "rl_ce_gain": RL | {"strategy_options": {"lr": 0.05, "reward": "ce_gain", "baseline": "value"}}}


def _agent_tensors(sd: dict) -> dict:
    "The agent's learned state: policy, normaliser statistics, value head, and the baseline / advantage scale."
    out = {f"policy.{k}": v for k, v in sd["policy"].items()} | {f"norm.{k}": v for k, v in sd["norm"].items()}
    out |= {f"value.{k}": v for k, v in (sd.get("value") or {}).items()}
    return out | {"b": torch.tensor(sd["b"]), "r_var": torch.tensor(sd["r_var"]), "steps": torch.tensor(sd["steps"])}


def test_two_gloo_processes_hold_one_agent_that_matches_one_process(tmp_path):
    args = {"mlp": [dict(out=str(tmp_path / "ddp" / k), batch_size=4, **o) for k, o in RL_RUNS.items()]}
    env = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), TINY, json.dumps(args)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-4000:]
    for k, opts in RL_RUNS.items():
        ddp_dir, one_dir = tmp_path / "ddp" / k, tmp_path / "one" / k
        ddp = json.loads((ddp_dir / "train_result.json").read_text())
        _, one = _tiny.run_mlp(one_dir, batch_size=8, **opts)   # one process, the same global batch
        assert ddp["num_processes"] == 2 and one["steps"] == ddp["steps"] == 6, k
        r0, r1 = (_agent_tensors(s) for s in _tiny.agent_states(ddp_dir))
        assert r0["steps"] == 6 * 2 and set(r0) == set(r1), k   # two micro-batches per step: 12 updates
        for name in r0: assert torch.equal(r0[name], r1[name]), f"{k}: rank 0 and rank 1 hold different agents ({name})"
        (solo,) = (_agent_tensors(s) for s in _tiny.agent_states(one_dir))
        worst = max((r0[n].double() - solo[n].double()).abs().max().item() for n in solo)
        assert worst < 1e-5 and float(r0["policy.w"].abs().max()) > 1e-3, \
            f"{k}: agent differs from one process by {worst}"
        a, b = _tiny.student_params(ddp_dir), _tiny.student_params(one_dir)
        worst = max((a[n] - b[n]).abs().max().item() for n in a)
        assert worst < 1e-5, f"{k}: largest student parameter difference {worst}"
        ha, hb = _tiny.history(ddp_dir), _tiny.history(one_dir)
        for col in ("loss", "reward_mean", "baseline", "policy_loss", "accuracy"):
            va, vb = [r.get(col) for r in ha if col in r], [r.get(col) for r in hb if col in r]
            assert len(va) == len(vb) > 0, (k, col)
            np.testing.assert_allclose(va, vb, atol=1e-5, err_msg=f"{k}: {col}")
        la, lb = WeightLog.read(ddp_dir), WeightLog.read(one_dir)
        for c in ("step", "idx", "actions"): np.testing.assert_array_equal(la[c], lb[c], err_msg=f"{k}: {c}")
        for c in ("weights", "probs", "rewards"):
            np.testing.assert_allclose(la[c], lb[c], atol=2e-3, err_msg=f"{k}: {c}")
        assert len(la["idx"]) == 90
