"GLUE layouts we do not ship (MNLI, QQP) and bad data files: each error names the file and the problem."
import os, stat
from pathlib import Path
import pytest
from rmkd_nb.core import ConfigError
from rmkd_nb.data import load_task, load_text_files, label_names

MNLI_HEADER = ("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
               "sentence2_parse\tsentence1\tsentence2")

def _mnli(root, dev_label="neutral"):
    d = root/"MNLI"; d.mkdir(parents=True)
    (d/"train.tsv").write_text(MNLI_HEADER + "\tlabel1\tgold_label\n" + "".join(
        f"{i}\t1\t1e\tfiction\t(x)\t(y)\t(X)\t(Y)\tpremise {i}\thypothesis {i}\t{l}\t{l}\n"
        for i, l in enumerate(["entailment", "neutral", "contradiction"])))
    for s in ("dev_matched", "dev_mismatched"):
        (d/f"{s}.tsv").write_text(MNLI_HEADER + "\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n"
                                  "0\t1\t1e\tslate\t(x)\t(y)\t(X)\t(Y)\tp \"quoted\th\t"
                                  f"{dev_label}\tn\tn\tn\tn\t{dev_label}\n")
    return d

def test_mnli_layout_and_splits(tmp_path):
    _mnli(tmp_path)
    d = load_task("MNLI", data_dir=tmp_path)
    assert set(d) == {"train", "validation_matched", "validation_mismatched"}
    assert label_names(d) == ["entailment", "neutral", "contradiction"]
    assert d["train"]["label"] == [0, 1, 2]
    assert d["validation_matched"][0]["text"] == 'p "quoted'   # quotes are text (QUOTE_NONE)

def test_qqp_skips_malformed_rows(tmp_path):
    q = tmp_path/"QQP"; q.mkdir()
    body = ("id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n0\t1\t2\ta?\tb?\t0\n1\t3\t4\tbroken row\n"
            "2\t5\t6\tc?\td?\t1\n")
    (q/"train.tsv").write_text(body); (q/"dev.tsv").write_text(body)
    d = load_task("qqp", data_dir=tmp_path)
    assert d["train"]["label"] == [0, 1] and d["train"]["text_pair"] == ["b?", "d?"]

def test_unknown_label_names_file_and_line(tmp_path):
    _mnli(tmp_path, dev_label="maybe")
    with pytest.raises(ConfigError, match=r"dev_matched.tsv, line 2: label 'maybe' is not in the mnli label set"):
        load_task("mnli", data_dir=tmp_path)

def test_missing_column(tmp_path):
    d = tmp_path/"SST-2"; d.mkdir()
    (d/"train.tsv").write_text("text\tlabel\nhello\t1\n")
    with pytest.raises(ConfigError,
                       match=r"train.tsv: column 'sentence' not found; the file has columns \['text', 'label'\]"):
        load_task("sst2", data_dir=tmp_path)

def test_empty_split(tmp_path):
    d = tmp_path/"SST-2"; d.mkdir(); (d/"train.tsv").write_text("sentence\tlabel\n")
    with pytest.raises(ConfigError, match=r"train.tsv: the sst2 split has no rows"):
        load_task("sst2", data_dir=tmp_path)

def test_missing_directory_and_file(tmp_path):
    with pytest.raises(ConfigError, match="data_dir .*nope.* does not exist"):
        load_task("rte", data_dir=tmp_path/"nope")
    with pytest.raises(ConfigError, match=r"no split files \['train.tsv', 'dev.tsv'\]"):
        load_task("rte", data_dir=tmp_path)

def test_directory_in_place_of_a_file(tmp_path):
    (tmp_path/"SST-2"/"train.tsv").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"SST-2/train.tsv is not a readable file"):
        load_task("sst2", data_dir=tmp_path)

def test_unreadable_file_bytes(tmp_path):
    d = tmp_path/"SST-2"; d.mkdir(); (d/"train.tsv").write_bytes(b"sentence\tlabel\n\xff\xfe\x00bad\t1\n")
    with pytest.raises(ConfigError, match=r"train.tsv: not UTF-8 text"):
        load_task("sst2", data_dir=tmp_path)

def test_unknown_label_in_custom_file(tmp_path):
    (tmp_path/"tr.tsv").write_text("text\tlabel\na\tpos\nb\tneg\n")
    (tmp_path/"dev.tsv").write_text("text\tlabel\nc\tneutral\n")
    with pytest.raises(ConfigError, match=r"dev.tsv, row 1: label 'neutral' is not in the label set \['neg', 'pos'\]"):
        load_text_files({"train": tmp_path/"tr.tsv", "validation": tmp_path/"dev.tsv"}, "text", "label")


# --- your own files and DatasetDicts (issue 18 item 7) ------------------------------------------------------------
import json
import numpy as np
import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict
from rmkd_nb.data import (FILE_FORMATS, check_metrics, compute_metrics, metric_names, read_data_file, task_dataset,
                          macro_f1, f1_binary, matthews_corrcoef, accuracy)

ROWS = [{"s1": "a fine film", "s2": "good", "y": "pos"}, {"s1": '"quoted" at the start', "s2": "bad", "y": "neg"},
        {"s1": "a, comma", "s2": "meh", "y": "neutral"}]


def _write(path, rows):
    "The rows in the file format of `path`'s suffix, written with pandas/json (independently of the reader)."
    df = pd.DataFrame(rows); suf = path.suffix
    if suf == ".csv": df.to_csv(path, index=False)
    elif suf == ".tsv": path.write_text("\n".join("\t".join(map(str, r)) for r in [df.columns, *df.values]))
    elif suf == ".json": path.write_text(json.dumps(rows))
    elif suf == ".jsonl": path.write_text("\n".join(json.dumps(r) for r in rows))
    elif suf == ".parquet": df.to_parquet(path)
    return path


@pytest.mark.parametrize("suffix", sorted(FILE_FORMATS))
def test_every_file_format_gives_the_same_task(tmp_path, suffix):
    f = _write(tmp_path/f"train{suffix}", ROWS)
    d = load_text_files({"train": f, "validation": f}, ["s1", "s2"], "y", name="mine")
    assert label_names(d) == ["neg", "neutral", "pos"]
    assert d["train"]["text"][:] == ["a fine film", '"quoted" at the start', "a, comma"]   # quotes, commas: text
    assert d["train"]["text_pair"][:] == ["good", "bad", "meh"]
    assert d["validation"]["label"][:] == [2, 0, 1] and d["train"]["idx"][:] == [0, 1, 2]


def test_integer_labels_sort_numerically_and_label_names_order(tmp_path):
    f = _write(tmp_path/"t.jsonl", [{"text": f"t{i}", "label": v} for i, v in enumerate([10, 2, 1, 2])])
    d = load_text_files({"train": f}, "text", "label")
    assert label_names(d) == ["1", "2", "10"] and d["train"]["label"][:] == [2, 1, 0, 1]
    d = load_text_files({"train": f}, "text", "label", label_names=["10", "2", "1"])
    assert d["train"]["label"][:] == [0, 1, 2, 1]


def test_bad_files_are_refused_naming_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"train file: data file .*nope.csv does not exist"):
        load_text_files({"train": tmp_path/"nope.csv"}, "text")
    (tmp_path/"x.xlsx").write_text("x")
    with pytest.raises(ConfigError, match=r"x.xlsx: unsupported file type '.xlsx'; use .csv, .tsv, .json, "):
        load_text_files({"train": tmp_path/"x.xlsx"}, "text")
    (tmp_path/"bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"train file: .*bad.json, line 1: not valid JSON"):
        load_text_files({"train": tmp_path/"bad.json"}, "text")
    (tmp_path/"bad.jsonl").write_text('{"text": "a", "label": 1}\n\n{"text": "b", "label"\n')
    with pytest.raises(ConfigError, match=r"bad.jsonl, line 3: not valid JSON"):
        load_text_files({"train": tmp_path/"bad.jsonl"}, "text")
    (tmp_path/"latin.csv").write_bytes("text,label\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin.csv: not UTF-8 text"):
        load_text_files({"train": tmp_path/"latin.csv"}, "text")
    (tmp_path/"bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ConfigError, match=r"bad.parquet cannot be read as parquet"):
        load_text_files({"train": tmp_path/"bad.parquet"}, "text")
    f = _write(tmp_path/"t.csv", ROWS)
    with pytest.raises(ConfigError, match=r"t.csv: column\(s\) \['text'\] not found; the file has columns"):
        load_text_files({"train": f}, "text", "y")
    with pytest.raises(ConfigError, match=r"t.csv, row 3: label 'neutral' is not in the label set \['neg', 'pos'\]"):
        load_text_files({"train": f}, "s1", "y", label_names=["neg", "pos"])
    with pytest.raises(ConfigError, match=r"text_fields=\['s1', 's2', 'y'\]: give one or two text columns"):
        load_text_files({"train": f}, ["s1", "s2", "y"], "y")


def test_a_datasetdict_of_your_own():
    raw = DatasetDict({"train": Dataset.from_dict({"idx": [7, 3, 5], "sentence": ["x", None, "z"], "label": [1, 0, 1]}),
                       "validation": Dataset.from_dict({"sentence": ["w"], "label": [0]})})
    d = task_dataset(raw, "sentence", label_names=["neg", "pos"], name="mine")
    assert d["train"]["idx"][:] == [7, 3, 5] and d["validation"]["idx"][:] == [0]   # a valid idx is kept
    assert d["train"]["text"][:] == ["x", "", "z"] and d["train"]["label"][:] == [1, 0, 1]
    assert d["train"].features["label"].names == ["neg", "pos"]
    with pytest.raises(ConfigError, match=r"split 'train': its 'idx' column must hold distinct integers"):
        task_dataset(DatasetDict({"train": raw["train"].map(lambda e: {"idx": 1})}), "sentence")
    with pytest.raises(ConfigError, match="expected a DatasetDict of splits, got list"):
        task_dataset([1, 2])
    with pytest.raises(ConfigError, match=r"split 'validation': the validation split has no rows"):
        task_dataset(DatasetDict({"train": raw["train"], "validation": raw["validation"].select([])}), "sentence")


def test_metrics_match_scikit_learn():
    skm = pytest.importorskip("sklearn.metrics")
    r = np.random.default_rng(1)
    for C in (2, 3, 5):
        for n in (7, 50, 400):
            y = r.integers(0, C, n); p = np.where(r.random(n) < .6, y, r.integers(0, C, n))
            assert macro_f1(p, y) == pytest.approx(skm.f1_score(y, p, average="macro"), abs=1e-12)
            assert matthews_corrcoef(p, y) == pytest.approx(skm.matthews_corrcoef(y, p), abs=1e-12)
            assert accuracy(p, y) == pytest.approx(skm.accuracy_score(y, p), abs=1e-12)
            if C == 2: assert f1_binary(p, y) == pytest.approx(skm.f1_score(y, p), abs=1e-12)
    for y, p in [([0, 0, 1, 2], [0, 0, 0, 0]), ([0, 0, 1], [0, 2, 1])]:   # a class only in labels, only in preds
        assert macro_f1(p, y) == pytest.approx(skm.f1_score(y, p, average="macro", zero_division=0), abs=1e-12)


def test_metric_options():
    assert metric_names("mrpc") == ["f1", "accuracy"] and metric_names("cola", None) == ["mcc", "accuracy"]
    assert metric_names("reviews") == ["accuracy"] and metric_names("reviews", ["mcc", "f1"]) == ["mcc", "f1"]
    assert list(compute_metrics(["mcc", "macro_f1"], [0, 1, 1], [0, 1, 0])) == ["mcc", "macro_f1"]
    with pytest.raises(ConfigError, match=r"metrics: unknown metric\(s\) \['auc'\]; known: accuracy, f1, macro_f1"):
        check_metrics(["auc"], 2)
    with pytest.raises(ConfigError, match="task 'mine': metric f1 is binary"):
        task_dataset(DatasetDict({"train": Dataset.from_dict({"text": ["a", "b", "c"], "label": [0, 1, 2]})}),
                     name="mine", metrics=["f1"])
