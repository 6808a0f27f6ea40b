"Papermill runs of the experiment notebook, sweeps and the report, on tiny models and real GLUE rows."
import json, re, shutil, subprocess, sys
from pathlib import Path

import nbformat, papermill as pm, pytest

from rmkd_nb.experiment import find_glue_dir
from rmkd_nb.report import write_report
from rmkd_nb.sweep import run_sweep

ROOT = Path(__file__).resolve().parent.parent
NB = ROOT/"nbs"/"13_run.ipynb"
GLUE = find_glue_dir(ROOT)

def _tiny(out, **kw):
    return {"data_dir": str(GLUE), "max_train_examples": 48, "max_eval_examples": 32, "epochs": 1.0, "batch_size": 16,
            "output_dir": str(out), "cache_dir": str(out.parent/"cache")} | kw

def test_glue_data_present():
    assert GLUE is not None and (GLUE/"SST-2"/"train.tsv").is_file(), "../shared/data/glue is needed by these tests"

def test_parameters_tag_survives_clean(tmp_path):
    nb = nbformat.read(NB, as_version=4)
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells), (
        f"{NB.name} lost its papermill 'parameters' tag")
    copy = ROOT/"nbs"/"_tmp_tagcheck.ipynb"
    shutil.copy(NB, copy)
    try:
        subprocess.run([str(Path(sys.executable).parent/"nbdev-clean"), "--fname", str(copy)], cwd=ROOT, check=True)
        cleaned = nbformat.read(copy, as_version=4)
        assert any("parameters" in c.metadata.get("tags", []) for c in cleaned.cells), (
            "nbdev-clean strips the parameters tag")
    finally: copy.unlink()

def test_papermill_overrides_reach_the_run(tmp_path):
    out = tmp_path/"run"
    pm.execute_notebook(str(NB), str(tmp_path/"out.ipynb"), cwd=str(NB.parent), progress_bar=False,
                        kernel_name="python3",
                        parameters=_tiny(out, strategy="ca_mkd", seed=3, temperature=3.0, alpha=0.25, task="mrpc"))
    res = json.loads((out/"result.json").read_text())
    c = res["config"]
    assert (c["strategy"], c["seed"], c["temperature"], c["alpha"], c["task"]) == ("ca_mkd", 3, 3.0, 0.25, "mrpc")
    assert set(res["final"]) >= {"f1", "accuracy"}
    assert (out/"weightlog").is_dir() and (out/"metrics.jsonl").is_file() and (out/"examples.jsonl").is_file()
    html = (out/"figures"/"teacher_share.html").read_text()   # self-contained: plotly.js inline, nothing from a CDN
    assert not re.search(r'<script[^>]*src=', html) and len(html) > 1_000_000 and "Plotly.newPlot" in html

def test_papermill_bad_parameter_stops_before_writing(tmp_path):
    out = tmp_path/"run"
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(str(NB), str(tmp_path/"out.ipynb"), cwd=str(NB.parent), progress_bar=False,
                            kernel_name="python3", parameters=_tiny(out, batch_size="thirty-two"))
    assert "papermill parameters: batch_size='thirty-two' has type str, expected int" in str(e.value)
    assert not out.exists()

def test_sweep_survives_a_failing_point_and_resumes(tmp_path):
    spec = {"name": "two", "base": _tiny(tmp_path/"x") | {"output_dir": "unused"},
            "grid": {"strategy": ["uniform", "single:7"]}, "engine": "direct"}
    s = run_sweep(spec, runs_root=tmp_path)
    assert list(s["done"]) == ["strategy=uniform"] and list(s["failed"]) == ["strategy=single:7"]
    assert "single:7" in s["failed"]["strategy=single:7"]
    s2 = run_sweep(spec, runs_root=tmp_path)          # finished points are skipped
    assert s2["skipped"] == 1 and list(s2["failed"]) == ["strategy=single:7"]
    rows = write_report([tmp_path/"two"], tmp_path/"r.md", tmp_path/"r.csv")
    csv = (tmp_path/"r.csv").read_text().splitlines()
    assert csv[0] == "task,strategy,metric,mean,std,n_seeds,delta_vs_uniform,ci_low,ci_high,majority"
    assert {r["strategy"] for r in rows} == {"uniform"}

def test_cli_run_and_refuses_to_overwrite(tmp_path):
    out = tmp_path/"cli"
    flag = lambda k, v: [f"--{k}", json.dumps(v) if not isinstance(v, str) else v]
    args = [str(Path(sys.executable).parent/"rmkd"), "run"] + sum([flag(k, v) for k, v in
                                                                   _tiny(out, strategy="uniform").items()], [])
    r = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout.strip().splitlines()[-1])["output_dir"] == str(out)
    before = (out/"result.json").read_bytes()
    r2 = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path)
    assert r2.returncode == 2 and "already holds a finished run" in r2.stderr
    assert (out/"result.json").read_bytes() == before

def test_a_run_config_is_checked_once_before_anything_is_written(tmp_path, monkeypatch):
    """check_run validates once (from_dict for a dict, validate for a config) and resolves data_dir='auto' without a
    rebuild."""
    from rmkd_nb.core import DistillConfig
    from rmkd_nb.experiment import check_run
    calls, validate = [], DistillConfig.validate
    counted = lambda self, where="config": calls.append(where) or validate(self, where)
    monkeypatch.setattr(DistillConfig, "validate", counted)
    monkeypatch.setenv("RMKD_GLUE_DIR", str(GLUE))
    d = {"data_dir": "auto", "output_dir": str(tmp_path/"r"), "cache_dir": str(tmp_path/"c")}
    cfg = check_run(d, where="a dict")
    assert calls == ["a dict"] and cfg.data_dir == str(GLUE)
    assert check_run(DistillConfig(**d), where="a config").data_dir == str(GLUE) and calls[1:] == ["a config"]
    assert not (tmp_path/"r").exists() and not (tmp_path/"c").exists()
