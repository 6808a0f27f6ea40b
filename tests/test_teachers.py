"""Refusals of `rmkd_nb.teachers` (moved out of nbs/02_teachers.ipynb): each names the value and the problem.
Models by name (issue 18 item 2): hub ids offline, label_map, untrained heads."""
import os, shutil, subprocess, sys, warnings
import numpy as np
import pytest
import _tiny
from rmkd_nb.core import ConfigError
from rmkd_nb.data import toy_task
from rmkd_nb.teachers import (HFTeacher, TfidfTeacher, finetune_teacher, label_order, load_teacher, make_student,
                              pretrained_path, save_model, tiny_bert)

NAMES = ["negative", "positive"]


@pytest.fixture(scope="module")
def rev(tmp_path_factory):
    "A tiny teacher saved with labels in the reverse of the task's order."
    d = tmp_path_factory.mktemp("teachers")/"rev"
    m, t = tiny_bert(2, ["positive", "negative"])
    return save_model(m, t, d)


def test_pretrained_path_missing():
    with pytest.raises(ConfigError, match=r"'/no/such/dir' \(given for 'minilm-l6'\) does not exist"):
        pretrained_path("minilm-l6", path="/no/such/dir")


def test_student_layers_and_missing_source(tmp_path):
    m, tok = make_student("tiny", 2, num_layers=4)
    m.save_pretrained(tmp_path/"tiny4"); tok.save_pretrained(tmp_path/"tiny4")
    with pytest.raises(ConfigError, match="num_layers=7 for student .*: it has 4 layers"):
        make_student(str(tmp_path/"tiny4"), 2, num_layers=7)
    with pytest.raises(ConfigError, match="student source .*nope' does not exist"):
        make_student(str(tmp_path/"nope"), 2)
    with pytest.raises(ConfigError, match=r"label_names=\['a'\] has 1 names but num_labels=2"):
        make_student("tiny", 2, label_names=["a"])


def test_label_order_without_task_and_generic_mismatch():
    assert label_order(["a", "b", "c"], None) == [0, 1, 2]
    with pytest.raises(ConfigError, match="differs from the task's label set"):
        label_order(["LABEL_0", "LABEL_1"], ["a", "b", "c"])


def test_hf_teacher_refusals(rev, tmp_path):
    with pytest.raises(ConfigError, match=r"label set \['positive', 'negative'\] differs from the task's label set "
                                          r"\['entailment', 'not_entailment'\]"):
        HFTeacher(rev, label_names=["entailment", "not_entailment"])
    with pytest.raises(ConfigError, match="does not exist"):
        HFTeacher(tmp_path/"missing")
    bad = tmp_path/"badtok"; shutil.copytree(rev, bad); (bad/"tokenizer.json").write_text("{not json")
    for f in ("vocab.txt", "tokenizer_config.json"): (bad/f).unlink(missing_ok=True)
    with pytest.raises(ConfigError, match="tokenizer at"):
        HFTeacher(bad)


def test_tfidf_teacher_refusals(tmp_path):
    tf = TfidfTeacher.fit(["a great film", "a dull film", "great fun", "dull plot"], [1, 0, 1, 0], NAMES)
    tf.save(tmp_path/"tf")
    with pytest.raises(ConfigError, match=r"label set \['negative', 'positive'\] differs"):
        load_teacher(tmp_path/"tf", ["yes", "no"])
    with pytest.raises(ConfigError, match="do not cover ids 0..2"):
        TfidfTeacher.fit(["red cat", "big dog"], [0, 1], ["x", "y", "z"])
    with pytest.raises(ConfigError, match="TF-IDF teacher at .* cannot be loaded"):
        TfidfTeacher.load(tmp_path)


def test_finetune_refusals(tmp_path):
    toy = toy_task(16, 8)
    (tmp_path/"ft").mkdir()
    with pytest.raises(ConfigError, match="output_dir .*ft' exists; pass overwrite=True"):
        finetune_teacher("tiny", toy, tmp_path/"ft")
    with pytest.raises(ConfigError, match=r"dataset has no 'test' split \(has \['train', 'validation'\]\)"):
        finetune_teacher("tiny", toy, tmp_path/"x", eval_split="test")
    with pytest.raises(ConfigError, match="freeze_layers=3, but the model has 2 layers"):
        finetune_teacher("tiny", toy, tmp_path/"y", freeze_layers=3, progress=False, verbose=False)


HUB = "is not a local directory, so it was looked up as a Hugging Face hub id, but the Hugging Face hub is unreachable"


def test_hub_ids_offline_say_the_hub_is_unreachable(tmp_path):
    "A teacher or student that is not a local path goes to from_pretrained as a hub id; offline, the error says so."
    code = "\n".join(["from rmkd_nb.core import ConfigError", "from rmkd_nb.teachers import HFTeacher, make_student",
                      "for f in (lambda: HFTeacher('no-such-org/no-such-model'),",
                      "          lambda: make_student('no-such-org/no-such-model:2', 2)):",
                      "    try: f(); print('NO ERROR')",
                      "    except ConfigError as e: print('ERR', e)"])
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env=os.environ | {"HF_HUB_OFFLINE": "1"})
    lines = [l for l in r.stdout.splitlines() if l.startswith(("ERR", "NO ERROR"))]
    assert len(lines) == 2, r.stdout + r.stderr[-2000:]
    assert lines[0].startswith("ERR teacher 'no-such-model': 'no-such-org/no-such-model' " + HUB), lines[0]
    assert lines[1].startswith("ERR student 'no-such-org/no-such-model': 'no-such-org/no-such-model' " + HUB), lines[1]
    assert all("huggingface-cli download no-such-org/no-such-model --local-dir" in l for l in lines)


@pytest.fixture
def bare(tmp_path):
    "A real tiny random encoder saved without a classification head (what an untuned hub encoder looks like)."
    d = tmp_path/"bare"
    _tiny.tiny_bert().bert.save_pretrained(d); _tiny.tokenizer(tmp_path/"tok").save_pretrained(d)
    return d


def test_untrained_head_is_refused_unless_allowed(bare):
    with pytest.raises(ConfigError, match=r"teacher 'bare': the checkpoint at .*bare' has no weights for "
                                          r"\['classifier.bias', 'classifier.weight'\], so transformers initialised "
                                          r"them at random .*pass allow_untrained_teachers=True"):
        HFTeacher(bare)
    with pytest.warns(UserWarning, match="used anyway"):
        t = load_teacher(bare, ["neg", "pos"], allow_untrained=True, max_length=16)
    assert t.predict(["w1 w2", "w3"])["logits"].shape == (2, 2)


def test_a_trained_head_loads_without_warning(rev):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert HFTeacher(rev, NAMES, max_length=16).teacher_labels == ["positive", "negative"]


def test_label_map_renames_teacher_labels(rev, tmp_path):
    plain = HFTeacher(rev, NAMES, max_length=16)
    mapped = HFTeacher(rev, ["neg", "pos"], label_map={"positive": "pos", "negative": "neg"}, max_length=16)
    texts = ["a fine film", "dull"]
    np.testing.assert_allclose(mapped.predict(texts)["logits"], plain.predict(texts)["logits"], atol=1e-6)
    assert mapped.fingerprint() != plain.fingerprint()
    with pytest.raises(ConfigError, match=r"rename its labels with label_map"):
        HFTeacher(rev, ["neg", "pos"], max_length=16)
    with pytest.raises(ConfigError, match=r"label_map=\{'positive': 'x', 'negative': 'x'\} renames its labels"):
        HFTeacher(rev, ["x"], label_map={"positive": "x", "negative": "x"})
    tf = TfidfTeacher.fit(["a great film", "a dull film", "great fun", "dull plot"], [1, 0, 1, 0], ["NEG", "POS"])
    tf.save(tmp_path/"tf")
    t2 = load_teacher(tmp_path/"tf", ["pos", "neg"], label_map={"POS": "pos", "NEG": "neg"})
    np.testing.assert_allclose(t2.predict(["great"])["logits"], tf.predict(["great"])["logits"][:, ::-1], atol=1e-6)
