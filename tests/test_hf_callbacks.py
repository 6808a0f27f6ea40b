"""Real `transformers.TrainerCallback`s in `DistillTrainer`: the events, args/state/control, early stopping, the
explorer."""
import json, sys
from pathlib import Path

import numpy as np
import torch
from transformers import EarlyStoppingCallback, TrainerCallback, TrainingArguments

sys.path.insert(0, str(Path(__file__).parent))
import _tiny
from rmkd_nb.core import DistillConfig
from rmkd_nb.trainer import DistillTrainer, TrainerState
from rmkd_nb.checkpoints import find_checkpoints


def trainer(out, callbacks=(), **cfg):
    train, dev, y = _tiny.features(n_train=64, n_dev=32)
    cache = _tiny.make_cache(_tiny.teacher_logits(y, seed=1), y)
    config = DistillConfig(**{"output_dir": str(out), "epochs": 4, "batch_size": 8, "lr": 1e-2, "warmup_ratio": 0.0,
                              "seed": 0, "eval_every": 2} | cfg)
    torch.manual_seed(0)
    return DistillTrainer(config, _tiny.MLP(), train, dev, cache, callbacks=list(callbacks))


def rows(run, kind):
    return [r for r in map(json.loads, (Path(run)/"metrics.jsonl").read_text().splitlines()) if r["type"] == kind]


class Recorder(TrainerCallback):
    "Every event with what Trainer would pass."
    def __init__(self): self.events = []
    def _rec(name):
        def f(self, args, state, control, **kw):
            assert isinstance(args, TrainingArguments) and isinstance(state, TrainerState), (type(args), type(state))
            has_model = kw.get("model") is not None
            self.events.append((name, state.global_step, kw.get("metrics"), kw.get("logs"), has_model))
        return f
    for _n in ("on_train_begin", "on_epoch_begin", "on_step_begin", "on_step_end", "on_log", "on_evaluate", "on_save",
               "on_epoch_end", "on_train_end"):
        locals()[_n] = _rec(_n)


def test_trainer_callback_gets_every_event_with_args_state_control(tmp_path):
    rec = Recorder()
    t = trainer(tmp_path/"run", [rec]); res = t.train()
    names = [e[0] for e in rec.events]
    steps = res["steps"]                                              # 8 steps per epoch x 4 epochs
    assert steps == 32 and names[0] == "on_train_begin" and names[-1] == "on_train_end"
    assert names.count("on_step_end") == names.count("on_step_begin") == steps
    assert names.count("on_epoch_begin") == names.count("on_epoch_end") == 4
    assert [e[1] for e in rec.events if e[0] == "on_step_end"] == list(range(1, steps + 1))
    evals = rows(tmp_path/"run", "eval")
    got = [e for e in rec.events if e[0] == "on_evaluate"]
    assert len(got) == len(evals) and all(g[1] == r["step"] for g, r in zip(got, evals))
    assert all(g[2]["eval_accuracy"] == r["accuracy"] and g[2]["eval_loss"] == r["loss"] for g, r in zip(got, evals))
    logs = [e for e in rec.events if e[0] == "on_log"]
    assert len(logs) == len(rows(tmp_path/"run", "train")) + len(evals)   # one on_log per metrics.jsonl row
    assert all(e[4] for e in rec.events), "model= was not passed"
    assert t._hf_args.learning_rate == 1e-2 and t._hf_args.per_device_train_batch_size == 8
    assert names.count("on_save") >= 1


def test_should_training_stop_is_honoured_and_survives_a_resume(tmp_path):
    class StopAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 11: control.should_training_stop = True
    res = trainer(tmp_path/"run", [StopAt()]).train()
    assert res["steps"] == 11 and max(r["step"] for r in rows(tmp_path/"run", "train")) == 11
    again = trainer(tmp_path/"run").train()                       # the same run again: it stays stopped
    assert again["steps"] == 11 and again["final"] == res["final"]


def test_hf_early_stopping_stops_where_its_rule_says(tmp_path):
    full = trainer(tmp_path/"full", epochs=6).train()
    evals = rows(tmp_path/"full", "eval")
    best, bad, stop = None, 0, None          # EarlyStoppingCallback's rule (patience 1), on the full run's evals
    for r in evals:
        if best is None or r["accuracy"] > best: best, bad = r["accuracy"], 0
        else: bad += 1
        if bad >= 1: stop = r["step"]; break
    assert stop is not None and stop < full["steps"], "the reference run never stalls: no early stop to test"
    res = trainer(tmp_path/"es", [EarlyStoppingCallback(early_stopping_patience=1)], epochs=6).train()
    assert res["steps"] == stop, (res["steps"], stop)
    assert rows(tmp_path/"es", "eval")[:len(evals)] == [r for r in evals if r["step"] <= stop]


def test_explorer_callback_is_a_trainer_callback_fed_live(tmp_path):
    from rmkd_nb.viz import TrajectoryExplorer, ExplorerCallback
    from rmkd_nb.weightlog import WeightLog
    ex = TrajectoryExplorer(None); cb = ex.callback; cb.every = 0
    assert isinstance(cb, TrainerCallback) and isinstance(cb, ExplorerCallback)
    trainer(tmp_path/"run", [cb], epochs=1).train()
    log = WeightLog.read(tmp_path/"run")
    assert ex.run.num_rows == len(log["idx"]) and np.array_equal(np.asarray(ex.run.log["idx"]), log["idx"])
    last_eval = [m for m in ex.run.metrics if m["type"] == "eval"][-1]
    assert last_eval["accuracy"] == rows(tmp_path/"run", "eval")[-1]["accuracy"]
