"""GPU tests: run by `bench/gpu_check.sh run` on a machine with an NVIDIA GPU (`RMKD_GPU=1`); skipped elsewhere, since
CI has no GPU. With RMKD_GPU=1 and no CUDA device they fail rather than skip."""
import json, os
from pathlib import Path

import numpy as np
import pytest
import torch

ON = os.environ.get("RMKD_GPU") == "1"
pytestmark = pytest.mark.skipif(not ON, reason="GPU tests: RMKD_GPU=1 on a CUDA machine (bench/gpu_check.sh run)")

from rmkd_nb.experiment import find_glue_dir, run_experiment
from rmkd_nb.weightlog import WeightLog

GLUE = find_glue_dir(Path(__file__).resolve().parent.parent)


def _cfg(tmp_path, **kw):
    return {"task": "sst2", "data_dir": str(GLUE), "max_train_examples": 64, "max_eval_examples": 32, "max_length": 32,
            "epochs": 2.0, "batch_size": 16, "lr": 1e-3, "seed": 0, "strategy": "rl", "device": "auto",
            "output_dir": str(tmp_path / "run"), "cache_dir": str(tmp_path / "cache")} | kw


def test_cuda_is_there():
    assert torch.cuda.is_available(), "RMKD_GPU=1 but torch sees no CUDA device"


def test_run_on_the_gpu_with_auto_precision(tmp_path):
    res = run_experiment(_cfg(tmp_path), figures=False)
    tr = res["train"]
    assert tr["device"].startswith("cuda") and tr["num_processes"] == 1, tr
    assert tr["mixed_precision"] == ("bf16" if torch.cuda.is_bf16_supported() else "fp16"), tr
    assert np.isfinite(res["final"]["loss"]) and 0 <= res["final"]["accuracy"] <= 1
    log = WeightLog.read(tmp_path / "run")
    assert len(log["idx"]) == 128 and np.isfinite(log["rewards"].astype(np.float32)).all()
    assert json.loads((tmp_path / "run" / "result.json").read_text())["environment"]["cuda"]


def test_cache_gathers_the_same_rows_on_the_gpu(tmp_path):
    from rmkd_nb.experiment import load_data, load_teachers
    from rmkd_nb.core import DistillConfig
    from rmkd_nb.cache import TeacherCache
    cfg = DistillConfig.from_dict(_cfg(tmp_path))
    dsd = load_data(cfg)
    cache = TeacherCache.build(load_teachers(cfg, dsd), dsd, cfg.cache_dir, splits=("train",))
    idx = torch.as_tensor(np.asarray(dsd["train"]["idx"][:16]))
    cpu = cache.gather(idx)
    gpu = TeacherCache.open(cache.path).to("cuda").gather(idx.cuda())
    assert gpu.logits.is_cuda and torch.equal(gpu.logits.cpu(), cpu.logits) and torch.equal(gpu.ce.cpu(), cpu.ce)
