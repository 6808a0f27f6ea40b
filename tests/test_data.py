"GLUE layouts we do not ship (MNLI, QQP) and bad data files: each error names the file and the problem."
import os, stat
from pathlib import Path
import pytest
from rmkd_nb.core import ConfigError
from rmkd_nb.data import load_task, load_text_files, label_names

MNLI_HEADER = "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2"

def _mnli(root, dev_label="neutral"):
    d = root/"MNLI"; d.mkdir(parents=True)
    (d/"train.tsv").write_text(MNLI_HEADER + "\tlabel1\tgold_label\n" + "".join(
        f"{i}\t1\t1e\tfiction\t(x)\t(y)\t(X)\t(Y)\tpremise {i}\thypothesis {i}\t{l}\t{l}\n"
        for i, l in enumerate(["entailment", "neutral", "contradiction"])))
    for s in ("dev_matched", "dev_mismatched"):
        (d/f"{s}.tsv").write_text(MNLI_HEADER + "\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n"
                                  f"0\t1\t1e\tslate\t(x)\t(y)\t(X)\t(Y)\tp \"quoted\th\t{dev_label}\tn\tn\tn\tn\t{dev_label}\n")
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
    body = "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n0\t1\t2\ta?\tb?\t0\n1\t3\t4\tbroken row\n2\t5\t6\tc?\td?\t1\n"
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
    with pytest.raises(ConfigError, match=r"train.tsv: column 'sentence' not found; the file has columns \['text', 'label'\]"):
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
    (tmp_path/"tr.tsv").write_text("text\tlabel\na\tpos\nb\tneg\n"); (tmp_path/"dev.tsv").write_text("text\tlabel\nc\tneutral\n")
    with pytest.raises(ConfigError, match=r"dev.tsv, row 1: label 'neutral' is not in the label set \['neg', 'pos'\]"):
        load_text_files({"train": tmp_path/"tr.tsv", "validation": tmp_path/"dev.tsv"}, "text", "label")
