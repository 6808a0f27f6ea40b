"bench/keep_results.py: finished runs' summaries (result.json, the dev curve) copied into the repository, no weights."
import importlib.util, json, os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _keep():
    spec = importlib.util.spec_from_file_location("keep_results", ROOT/"bench"/"keep_results.py")
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def _run(d: Path, seed: int, acc: float):
    d.mkdir(parents=True)
    (d/"result.json").write_text(json.dumps({"task": "sst2", "strategy": "uniform", "seed": seed,
                                             "final": {"accuracy": acc}}))
    rows = [{"type": "train", "step": 1, "loss": 0.7}, {"type": "eval", "step": 1, "accuracy": acc - 0.1},
            {"type": "train", "step": 2, "loss": 0.6}, {"type": "eval", "step": 2, "accuracy": acc}]
    (d/"metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (d/"student").mkdir(); (d/"student"/"model.safetensors").write_bytes(b"weights")


def test_keeps_result_and_dev_curve_only_and_adds_new_runs(tmp_path):
    kr = _keep(); sweep = tmp_path/"runs"/"study"; dest = tmp_path/"results"
    _run(sweep/"seed=0,strategy=uniform", 0, 0.8)
    (sweep/"seed=1,strategy=uniform").mkdir(parents=True)                  # unfinished: no result.json
    (sweep/"sweep.json").write_text('{"name": "study"}')
    assert kr.keep(sweep, dest) == 1
    out = dest/"study"/"seed=0,strategy=uniform"
    assert sorted(p.name for p in out.iterdir()) == ["evals.jsonl", "result.json"]     # no weights, no train rows
    assert json.loads((out/"result.json").read_text())["final"] == {"accuracy": 0.8}   # no weight log: no selection
    assert [json.loads(l)["step"] for l in (out/"evals.jsonl").read_text().splitlines()] == [1, 2]
    assert (dest/"study"/"sweep.json").read_text() == '{"name": "study"}'
    before = (out/"result.json").stat().st_mtime_ns
    _run(sweep/"seed=2,strategy=uniform", 2, 0.7)                           # a run finished since
    assert kr.keep(sweep, dest) == 2
    assert (out/"result.json").stat().st_mtime_ns == before                # unchanged files are not rewritten
    assert not (dest/"study"/"seed=1,strategy=uniform").exists()
