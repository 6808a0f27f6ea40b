"""The teacher-zoo scripts end to end: bench/build_zoo.py (resumable) and bench/cache_speed.py.

The fast test builds only the TF-IDF teacher (seconds); the slow one (RMKD_SLOW=1) fine-tunes the real MiniLM-L6
teachers on 64 MRPC pairs for one epoch.
"""
import json, os, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GLUE = ROOT.parent/"shared"/"data"/"glue"
PY = sys.executable
pytestmark = pytest.mark.skipif(not (GLUE/"MRPC"/"train.tsv").is_file(), reason="needs ../shared/data/glue")


def run(*args):
    r = subprocess.run([PY, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r.stdout


def zoo_args(out, teachers, *extra):
    return [ROOT/"bench"/"build_zoo.py", "--task", "mrpc", "--data-dir", GLUE, "--out", out, "--teachers", teachers,
            "--max-train", "64", "--max-eval", "40", "--epochs", "1", "--doc", out/"zoo.md",
            "--summaries", out/"summaries", *extra]


def test_tfidf_zoo_resumes_and_reports(tmp_path):
    out = tmp_path/"zoo"
    log = run(*zoo_args(out, "t3"))
    z = json.loads((out/"mrpc"/"zoo.json").read_text())
    assert [t["name"] for t in z["teachers"]] == ["t3"] and z["train_examples"] == 64 and z["dev_examples"] == 40
    t = z["teachers"][0]
    assert 0 <= t["dev_accuracy"] <= 1 and set(t["dev_metrics"]) == {"f1", "accuracy"}
    assert z["train_subset"] == {"max_train_examples": 64, "seed": 0,
                                 "note": "fixed-seed random subset of the training set"}
    assert "built in" in log
    mtime = (out/"mrpc"/"t3"/"tfidf.npz").stat().st_mtime_ns
    assert "already built, skipping" in run(*zoo_args(out, "t3"))              # resumable: nothing rebuilt
    assert (out/"mrpc"/"t3"/"tfidf.npz").stat().st_mtime_ns == mtime
    doc = (out/"zoo.md").read_text()
    assert "## mrpc" in doc and "| t3 |" in doc and "--max-train 64" in doc

    assert (json.loads((out/"summaries"/"mrpc.json").read_text())               # the committed copy of the summary
            == json.loads((out/"mrpc"/"zoo.json").read_text()))
    table = run(ROOT/"bench"/"cache_speed.py", "--task", "mrpc", "--zoo", out, "--doc", out/"zoo.md",
                "--summaries", out/"summaries", "--forward-batches", "1")
    assert "gather one epoch" in table
    cs = json.loads((out/"mrpc"/"cache_speed.json").read_text())
    assert cs["bytes"] > 0 and cs["seconds"]["gather_mmap"] > 0 and not cs["reused_cache"]
    assert "### Teacher cache (mrpc)" in (out/"zoo.md").read_text()
    run(ROOT/"bench"/"cache_speed.py", "--task", "mrpc", "--zoo", out, "--doc", "none", "--forward-batches", "1")
    again = json.loads((out/"mrpc"/"cache_speed.json").read_text())
    assert again["reused_cache"] and again["cache"] == cs["cache"]             # same teachers and data: same entry


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RMKD_SLOW"), reason="fine-tunes MiniLM-L6: set RMKD_SLOW=1")
def test_minilm_zoo_on_a_tiny_subset(tmp_path):
    out = tmp_path/"zoo"
    run(*zoo_args(out, "t0,t1,t2,t3"))
    z = json.loads((out/"mrpc"/"zoo.json").read_text())
    assert [t["name"] for t in z["teachers"]] == ["t0", "t1", "t2", "t3"]
    assert [t["train_examples"] for t in z["teachers"]] == [64, 32, 64, 64]
    D = z["disagreement"]["matrix"]
    assert all(D[i][i] == 0 and D[i][j] == D[j][i] for i in range(4) for j in range(4))
    cfg = json.loads((out/"mrpc"/"t2"/"config.json").read_text())
    assert cfg["num_hidden_layers"] == 3 and cfg["id2label"] == {"0": "not_equivalent", "1": "equivalent"}
