"""`torchrun --nproc_per_node 2 rmkd run ...` on a tiny task: one cache build, outputs written once, one result printed,
and a weight log with every training example of every epoch exactly once."""
import json, os, re, socket, subprocess, sys
from collections import Counter
from pathlib import Path

import numpy as np

from rmkd_nb.experiment import find_glue_dir
from rmkd_nb.weightlog import WeightLog

ROOT = Path(__file__).resolve().parent.parent
GLUE = find_glue_dir(ROOT)


def _free_port():
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def test_torchrun_rmkd_run_builds_once_writes_once(tmp_path):
    out, cache = tmp_path / "run", tmp_path / "cache"
    flags = dict(task="rte", data_dir=GLUE, max_train_examples=36, max_eval_examples=16, max_length=32, epochs=2,
                 batch_size=4, lr=1e-3, strategy="rl", device="cpu", precision="fp32", output_dir=out, cache_dir=cache)
    rmkd = Path(sys.executable).parent / "rmkd"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "--no-python", str(rmkd), "run"]
    cmd += [a for k, v in flags.items() for a in (f"--{k}", str(v))]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)
    assert p.returncode == 0, p.stderr[-4000:]
    printed = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert len(printed) == 1 and json.loads(printed[0])["output_dir"] == str(out), p.stdout[-2000:]
    # the teachers ran once: one cache entry, and one progress bar of its build (the other rank memory-mapped it)
    entries = [d for d in cache.iterdir()]
    assert len(entries) == 1 and (entries[0] / "meta.json").is_file(), entries
    assert len(re.findall(r"teacher cache:\s+0%", p.stderr)) == 1, "the cache build ran on more than one process"
    res = json.loads((out / "result.json").read_text())
    assert res["train"]["num_processes"] == 2 and res["cache"] == str(entries[0])
    examples = [json.loads(l)["idx"] for l in (out / "examples.jsonl").read_text().splitlines()]
    assert len(examples) == len(set(examples)) == 36
    log = WeightLog.read(out)
    for e in (0, 1):   # global batch 8: 36 examples = 4 full batches + one of 4 (2 per rank), all logged once
        seen = Counter(log["idx"][log["epoch"] == e].tolist())
        assert sorted(seen) == sorted(examples) and set(seen.values()) == {1}, f"epoch {e}: {seen}"
    assert np.isfinite(log["rewards"].astype(np.float32)).all() and len(log["idx"]) == 72
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.startswith(".tmp-")], names
    assert {"result.json", "examples.jsonl", "student", "weightlog", "figures", "metrics.jsonl"} <= set(names), names
