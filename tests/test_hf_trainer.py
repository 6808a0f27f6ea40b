"""`rmkd_nb.hf.DistillationTrainer` (a transformers.Trainer) gives DistillTrainer's losses on the same seed, data,
batches."""
import json, sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
import _tiny
from rmkd_nb.core import DistillConfig
from rmkd_nb.trainer import DistillTrainer, training_arguments
from rmkd_nb.checkpoints import load_tree
from rmkd_nb.hf import DistillationTrainer

TOL = 1e-5   # max |loss difference| per step over 16 steps (float32 on CPU; the two differ in summation order only)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    d = tmp_path_factory.mktemp("toy"); train, dev, tok = _tiny.toy_task(d)
    return train, dev, tok, _tiny.make_cache(_tiny.teacher_logits(train["label"]), train["label"])


def both(tmp_path, toy, strategy, **kw):
    train, dev, tok, cache = toy
    cfg = DistillConfig(**{"output_dir": str(tmp_path/"kit"), "epochs": 2, "batch_size": 8, "lr": 2e-3,
                           "warmup_ratio": 0.25, "seed": 0, "strategy": strategy, "device": "cpu", "precision": "fp32",
                           "log_weights": False} | kw)
    DistillTrainer(cfg, _tiny.tiny_bert(dropout=0.0), train, dev, cache, tokenizer=tok).train()
    kit_rows = map(json.loads, (tmp_path/"kit"/"metrics.jsonl").read_text().splitlines())
    kit = [r["loss"] for r in kit_rows if r["type"] == "train"]
    args = training_arguments(cfg.replace(output_dir=str(tmp_path/"hf")), optim="adamw_torch", eval_strategy="no",
                              save_strategy="epoch", load_best_model_at_end=False, use_cpu=True)
    hf = DistillationTrainer(model=_tiny.tiny_bert(dropout=0.0), args=args, train_dataset=train, processing_class=tok,
                             teacher_cache=cache, strategy=strategy, temperature=cfg.temperature, alpha=cfg.alpha,
                             strategy_options=cfg.strategy_options)
    hf.train()
    return np.array(kit), np.array(hf.step_losses), hf


@pytest.mark.parametrize("strategy", ["uniform", "ca_mkd", "rl"])
def test_same_losses_as_distill_trainer(tmp_path, toy, strategy):
    kit, hf, _ = both(tmp_path, toy, strategy)
    assert len(kit) == len(hf) == 16
    assert np.abs(kit - hf).max() < TOL, f"{strategy}: max |diff| {np.abs(kit - hf).max():.2e}\nkit {kit}\nhf  {hf}"
    assert kit[-1] < kit[0]       # it trains


def test_rl_agent_learns_each_step_and_is_checkpointed(tmp_path, toy):
    _, _, hf = both(tmp_path, toy, "rl")
    sd = hf.strategy.state_dict()
    assert sd["steps"] == 16
    saved = load_tree(tmp_path/"hf"/"checkpoint-16"/"strategy")
    assert saved["steps"] == 16 and all(torch.equal(saved["policy"][k], sd["policy"][k]) for k in sd["policy"])
