"""A task of your own and models by name, end to end (issue 18 items 2 and 7): files and a `DatasetDict` through
`run_experiment` and `rmkd run`, the task's name and metrics in `result.json` and the report, teachers named and
label-mapped, hub ids offline, untrained heads refused. Every run is a tiny random student on a few toy rows."""
import json, os, subprocess, sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datasets import Dataset, DatasetDict

from rmkd_nb.core import ConfigError
from rmkd_nb.data import toy_task
from rmkd_nb.experiment import check_run, run_experiment
from rmkd_nb.teachers import save_model, tiny_bert

ROOT = Path(__file__).resolve().parents[1]


def tiny(out, **kw) -> dict:
    "A run of seconds on the toy task: tiny random student, the built-in TF-IDF teachers."
    return {"max_length": 32, "epochs": 1.0, "batch_size": 8, "lr": 1e-3, "seed": 0, "device": "cpu",
            "precision": "fp32", "output_dir": str(out/"run"), "cache_dir": str(out/"cache")} | kw


def three_class_files(d:Path) -> dict:
    "Train and dev files of a 3-class task, with the label names as strings."
    toy = toy_task(48, 24, seed=3)
    names = ["bad", "good", "meh"]
    for s, f in (("train", "train.csv"), ("validation", "dev.csv")):
        rows = toy[s].to_pandas()
        rows["stars"] = [names[l] if i % 5 else "meh" for i, l in enumerate(rows["label"])]
        rows.rename(columns={"text": "review"})[["review", "stars"]].to_csv(d/f, index=False)
    return {"train_file": str(d/"train.csv"), "dev_file": str(d/"dev.csv"), "text_fields": ["review"],
            "label_field": "stars"}


def test_own_files_named_task_and_metrics(tmp_path):
    cfg = tiny(tmp_path, task="reviews", metrics=["macro_f1", "accuracy"]) | three_class_files(tmp_path)
    res = run_experiment(cfg, figures=False)
    assert res["task"] == "reviews" and list(res["final"])[:2] == ["macro_f1", "accuracy"]
    on_disk = json.loads((tmp_path/"run"/"result.json").read_text())
    assert on_disk["task"] == "reviews"
    best = json.loads((tmp_path/"run"/"student"/"config.json").read_text())["id2label"]
    assert best == {"0": "bad", "1": "good", "2": "meh"}


def test_f1_is_refused_for_three_classes_before_any_work(tmp_path):
    cfg = tiny(tmp_path, task="reviews", metrics=["f1"]) | three_class_files(tmp_path)
    with pytest.raises(ConfigError, match="task 'reviews': metric f1 is binary .* has 3 classes; use macro_f1"):
        run_experiment(cfg, figures=False)
    assert not (tmp_path/"run").exists() and not (tmp_path/"cache").exists()


def test_a_datasetdict_through_run_experiment(tmp_path):
    toy = toy_task(48, 24, seed=2)
    raw = DatasetDict({s: Dataset.from_dict({"sentence": toy[s]["text"][:],
                                             "y": [["no", "yes"][l] for l in toy[s]["label"]]})
                       for s in ("train", "validation")})
    res = run_experiment(tiny(tmp_path, task="toy_sentiment", text_fields=["sentence"], label_field="y",
                              metrics=["mcc"]), data=raw, figures=False)
    assert res["task"] == "toy_sentiment" and list(res["final"])[0] == "mcc"
    assert [s["n"] for s in res["splits"]] == [48, 24]


def test_custom_task_without_a_name_is_named_after_its_folder(tmp_path):
    d = tmp_path/"reviews"; d.mkdir()
    res = run_experiment(tiny(tmp_path, task="custom") | three_class_files(d), figures=False)
    assert res["task"] == "reviews"


def test_report_uses_the_task_name_and_its_main_metric(tmp_path):
    from rmkd_nb.report import write_report
    cfg = tiny(tmp_path, task="reviews", metrics=["macro_f1", "accuracy"]) | three_class_files(tmp_path)
    run_experiment(cfg, figures=False)
    write_report([tmp_path/"run"], tmp_path/"r.md", tmp_path/"r.csv")
    md = (tmp_path/"r.md").read_text()
    assert "## reviews" in md and "| strategy | macro_f1 | accuracy | Δ macro_f1 vs uniform" in md


def _teacher(d, labels, seed=0):
    m, t = tiny_bert(len(labels), list(labels), seed=seed)
    return str(save_model(m, t, d))


def test_teacher_names_and_label_map(tmp_path):
    a = _teacher(tmp_path/"a"/"best", ["NEG", "POS"], seed=1)
    b = _teacher(tmp_path/"b"/"best", ["negative", "positive"], seed=2)
    data = {"task": "sst2_toy", "train_file": str(tmp_path/"tr.jsonl"), "dev_file": str(tmp_path/"dv.jsonl")}
    for s, f in (("train", "tr.jsonl"), ("validation", "dv.jsonl")):
        rows = toy_task(32, 16, seed=4)[s]
        (tmp_path/f).write_text("\n".join(json.dumps({"text": t, "label": ["negative", "positive"][l]})
                                          for t, l in zip(rows["text"], rows["label"])))
    with pytest.raises(ConfigError, match=r"teacher names must be unique, got \['best', 'best'\]; name them with "
                                          "teacher_names"):
        run_experiment(tiny(tmp_path, teachers=[b, b]) | data, figures=False)
    cfg = tiny(tmp_path, teachers=[a, b], teacher_names=["t_a", "t_b"],
               label_map={"NEG": "negative", "POS": "positive"}) | data
    res = run_experiment(cfg, figures=False)
    assert res["teachers"]["names"] == ["t_a", "t_b"]
    with pytest.raises(ConfigError, match=r"label_map: 'NEUTRAL' is not a label of any teacher"):
        run_experiment(tiny(tmp_path/"x", teachers=[a, b], teacher_names=["t_a", "t_b"],
                            label_map={"NEG": "negative", "POS": "positive", "NEUTRAL": "negative"}) | data,
                       figures=False)


def test_untrained_teacher_refused_in_a_run(tmp_path):
    bare = tmp_path/"bare"
    m, t = tiny_bert(2, ["negative", "positive"]); m.bert.save_pretrained(bare); t.save_pretrained(bare)
    cfg = tiny(tmp_path, task="toy", teachers=[str(bare)]) | three_class_files(tmp_path)
    with pytest.raises(ConfigError, match=r"teacher 'bare': the checkpoint .* has no weights for .*classifier"):
        run_experiment(cfg, figures=False)
    assert not (tmp_path/"run").exists()


def rmkd(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "rmkd_nb.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=os.environ | (env or {}))


def test_cli_hub_id_teacher_offline(tmp_path):
    "The CLI passes a hub id to from_pretrained (not `<cwd>/org/name`); offline, the error says the hub is unreachable."
    files = three_class_files(tmp_path)
    r = rmkd("run", "--task", "reviews", "--train_file", files["train_file"], "--dev_file", files["dev_file"],
             "--text_fields", "review", "--label_field", "stars", "--teachers", "no-such-org/no-such-model",
             "--output_dir", tmp_path/"run", "--cache_dir", tmp_path/"cache", cwd=tmp_path, env={"HF_HUB_OFFLINE": "1"})
    assert r.returncode == 2, r.stdout + r.stderr[-3000:]
    assert ("'no-such-org/no-such-model' is not a local directory, so it was looked up as a Hugging Face hub id, but "
            "the Hugging Face hub is unreachable") in r.stderr, r.stderr[-3000:]
    assert str(tmp_path/"no-such-org") not in r.stderr
    assert not (tmp_path/"run").exists()


def test_cli_own_files_and_help(tmp_path):
    files = three_class_files(tmp_path)
    r = rmkd("run", "--task", "reviews", "--train_file", files["train_file"], "--dev_file", files["dev_file"],
             "--text_fields", "review", "--label_field", "stars", "--metrics", "macro_f1", "accuracy",
             "--max_length", "32", "--epochs", "1", "--batch_size", "8", "--device", "cpu", "--precision", "fp32",
             "--output_dir", tmp_path/"run", "--cache_dir", tmp_path/"cache", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert list(out["final"])[:2] == ["macro_f1", "accuracy"]
    assert json.loads((tmp_path/"run"/"result.json").read_text())["task"] == "reviews"
    h = rmkd("run", "--help", cwd=tmp_path).stdout
    assert ".csv, .tsv" in " ".join(h.split()) and ".parquet" in h


def test_bad_options_refused_before_any_work(tmp_path):
    files = three_class_files(tmp_path)
    (tmp_path/"t.xlsx").write_text("x")
    bad = [({"train_file": str(tmp_path/"t.xlsx")}, r"train_file: .*t.xlsx: unsupported file type '.xlsx'"),
           ({"student": str(tmp_path/"nope")}, r"student=.*nope' does not exist"),
           ({"teachers": ["./missing"]}, r"teacher path './missing' does not exist"),
           ({"task": "sst5", "train_file": None, "dev_file": None}, r"unknown task 'sst5'")]
    for kw, msg in bad:
        with pytest.raises(ConfigError, match=msg):
            check_run(tiny(tmp_path, task="reviews") | files | kw, where="test")
    assert not (tmp_path/"run").exists()
