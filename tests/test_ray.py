"""`engine: ray` sweeps on a local Ray cluster (2 CPUs): resources per point, finished points skipped, a resumed
sweep."""
import json
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="engine: ray needs the ray extra (pip install 'rmkd_nb[ray]'); CI installs it")
from rmkd_nb.core import ConfigError
from rmkd_nb.experiment import find_glue_dir
from rmkd_nb.sweep import run_sweep

GLUE = find_glue_dir(Path(__file__).resolve().parent.parent)


def _spec(tmp_path, **kw):
    base = {"task": "rte", "data_dir": str(GLUE), "max_train_examples": 16, "max_eval_examples": 16, "max_length": 32,
            "epochs": 1.0, "batch_size": 8, "lr": 1e-3, "strategy": "uniform", "device": "cpu", "precision": "fp32",
            "keep_checkpoints": "none", "cache_dir": str(tmp_path / "cache")}
    return {"name": "sw", "engine": "ray", "png": False, "base": base, "grid": {"seed": [0, 1, 2]}} | kw


def test_ray_sweep_runs_points_as_tasks_with_their_resources(tmp_path):
    spec = _spec(tmp_path, workers=1, cpus_per_point=2)   # a local cluster of 1 x 2 CPUs: one point at a time
    root = tmp_path / "runs" / "sw"
    done0 = root / "seed=0" / "result.json"; done0.parent.mkdir(parents=True)
    done0.write_text('{"finished": "before"}')   # a point finished by an earlier (killed) sweep
    s = run_sweep(spec, runs_root=tmp_path / "runs")
    assert s["skipped"] == 1 and sorted(s["done"]) == ["seed=1", "seed=2"] and not s["failed"], s
    assert done0.read_text() == '{"finished": "before"}', "a finished point was run again"
    spans = []
    for i in (1, 2):
        d = root / f"seed={i}"; res = json.loads((d / "result.json").read_text())
        assert res["config"]["seed"] == i and res["config"]["output_dir"] == str(d.resolve())
        assert "accuracy" in res["final"]
        spans.append(((d / "config.json").stat().st_mtime, (d / "result.json").stat().st_mtime))
    (a0, a1), (b0, b1) = sorted(spans)
    assert a1 <= b0, f"two points that each hold the cluster's 2 CPUs ran at the same time: {spans}"
    again = run_sweep(spec, runs_root=tmp_path / "runs")   # resumed: everything finished, Ray is not even started
    assert again["skipped"] == 3 and not again["done"], again


def test_ray_sweep_refuses_resources_the_cluster_lacks(tmp_path):
    msg = r"sweep sw: a point asks for 1 GPU\(s\) \(gpus_per_point\), the Ray cluster has 0"
    with pytest.raises(ConfigError, match=msg):
        run_sweep(_spec(tmp_path, workers=2, gpus_per_point=1), runs_root=tmp_path / "runs")
    assert not (tmp_path / "runs" / "sw" / "seed=0").exists()
