"""Checkpoints hold safetensors + JSON only (nothing unpickled on any load path); the best student is kept as a
model."""
import json, re, sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).parent))
import _tiny
from rmkd_nb.core import ConfigError
from rmkd_nb.trainer import DistillTrainer, TrainerState
from rmkd_nb.checkpoints import find_checkpoints
from test_hf_callbacks import trainer, rows

ROOT = Path(__file__).resolve().parents[1]


def test_no_pickle_on_any_load_path():
    files = [*(ROOT/"rmkd_nb").glob("*.py"), *(ROOT/"nbs").glob("*.ipynb"), *(ROOT/"tests").glob("*.py"),
             *(ROOT/"bench").glob("*.py")]
    for p in sorted(f for f in files if f.name != Path(__file__).name):
        text = p.read_text()
        for bad in ("weights_only=False", "torch.load(", "pickle.load", "allow_pickle=True"):
            assert bad not in text, f"{p.name} uses {bad}"


def test_checkpoint_files_and_state(tmp_path):
    res = trainer(tmp_path/"run", keep_checkpoints="all", strategy="rl").train()
    cks = find_checkpoints(tmp_path/"run")
    assert cks and cks[-1][0] == res["steps"]
    for _, ck in cks:
        assert {p.suffix for p in ck.iterdir()} == {".json", ".safetensors"}, sorted(p.name for p in ck.iterdir())
    st, cfg = TrainerState.load_from_json(cks[-1][1]/"trainer_state.json")
    assert (st.step, st.best_step, st.best, cfg["strategy"]) == (res["steps"], res["best_step"], res["best"], "rl")
    assert json.loads((cks[-1][1]/"trainer_state.json").read_text())["version"] == 2


def test_old_checkpoint_is_refused_with_a_clear_message(tmp_path):
    class Stop(Exception): pass
    class StopAt:
        def on_step(self, tr, rec):
            if rec["step"] == 5: raise Stop()
    with pytest.raises(Stop): trainer(tmp_path/"run", [StopAt()]).train()
    ck = find_checkpoints(tmp_path/"run")[-1][1]
    st = json.loads((ck/"trainer_state.json").read_text()); st.pop("version")   # what version 1 wrote: no version
    (ck/"trainer_state.json").write_text(json.dumps(st))
    refused = r"has version 1, this rmkd_nb reads version 2 .*set resume=False or overwrite=True"
    with pytest.raises(ConfigError, match=refused):
        trainer(tmp_path/"run").train()


def test_best_student_is_the_best_checkpoint(tmp_path):
    res = trainer(tmp_path/"run", keep_checkpoints="all", epochs=6).train()
    assert res["best_step"] != res["steps"], "the best evaluation is the last one: nothing to tell apart"
    best = load_file(str(tmp_path/"run"/"best_student"/"model.safetensors"))
    ck = load_file(str(tmp_path/"run"/"checkpoints"/f"step-{res['best_step']}"/"model.safetensors"))
    final = load_file(str(tmp_path/"run"/"student"/"model.safetensors"))
    assert best.keys() == ck.keys() and all(torch.equal(best[k], ck[k]) for k in ck)
    assert not all(torch.equal(best[k], final[k]) for k in ck)
    m = _tiny.MLP(); m.load_state_dict(best)                         # it scores the best dev accuracy again
    t = trainer(tmp_path/"other"); t.student = m; t.model = None; t.accelerator = None
    assert t.evaluate()["accuracy"] == res["best"]["accuracy"]
