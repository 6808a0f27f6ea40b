"Refusals of `rmkd_nb.teachers` (moved out of nbs/02_teachers.ipynb): each names the value and the problem."
import shutil
import pytest
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
