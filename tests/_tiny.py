"""Shared tiny-model fixtures for the trainer tests, and a runner for training in a subprocess.

`python tests/_tiny.py '<json>'` trains the toy task with the options in the JSON object (see `run`); the SIGKILL
and DDP tests start it with `subprocess` / `torch.distributed.run`.
"""
from __future__ import annotations
import json, os, sys, time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)   # tiny tensors on a shared machine: one thread is much faster

from rmkd_nb.core import DistillConfig
from rmkd_nb.weighting import WeightingStrategy

WORDS = [f"w{i}" for i in range(40)]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS


def make_cache(logits, labels, **kw):
    "An in-memory `TeacherCache` (train split) from teacher logits and gold labels."
    from rmkd_nb.cache import TeacherCache
    return TeacherCache.from_arrays(logits, labels, **kw)


def teacher_logits(labels, acc=(.9, .75, .6), C=2, seed=0):
    "Logits of teachers that are right on a share `acc[k]` of the examples."
    r = np.random.default_rng(seed); y = np.asarray(labels); out = r.normal(0, .3, (len(y), len(acc), C))
    for k, a in enumerate(acc):
        pred = np.where(r.random(len(y)) < a, y, (y + 1 + r.integers(0, C - 1, len(y))) % C)
        out[np.arange(len(y)), k, pred] += 2.0
    return out.astype(np.float32)


def tokenizer(tmp_dir):
    from transformers import BertTokenizerFast
    p = Path(tmp_dir) / "vocab.txt"; p.parent.mkdir(parents=True, exist_ok=True)
    if not p.exists(): p.write_text("\n".join(VOCAB))
    return BertTokenizerFast(str(p))


def toy_task(tmp_dir, n_train=64, n_dev=32):
    """Tokenized (train, dev) toy sentences, label 1 when most words come from the first half of the vocabulary; and
    the tokenizer."""
    from datasets import Dataset
    from rmkd_nb.data import tokenize_dataset
    tok = tokenizer(tmp_dir)
    def split(n, seed):
        r = np.random.default_rng(seed)
        texts = [" ".join(r.choice(WORDS, r.integers(3, 14))) for _ in range(n)]
        labels = [int(sum(int(w[1:]) < 20 for w in t.split()) * 2 > len(t.split())) for t in texts]
        return Dataset.from_dict({"idx": list(range(n)), "text": texts, "label": labels})
    from datasets.utils.logging import disable_progress_bar
    disable_progress_bar()
    return tokenize_dataset(split(n_train, 0), tok, 16), tokenize_dataset(split(n_dev, 1), tok, 16), tok


def tiny_bert(seed=0, dropout=0.1, num_labels=2):
    "A random 2-layer BERT, hidden size 32."
    from transformers import BertConfig, BertForSequenceClassification
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64,
                     max_position_embeddings=64, num_labels=num_labels, hidden_dropout_prob=dropout,
                     attention_probs_dropout_prob=dropout)
    return BertForSequenceClassification(cfg)


class Coin(WeightingStrategy):
    "Random 0/1 teacher selections from its own generator; rewards: the updated student's negative CE."
    name = "coin"
    def setup(self, cache, seed=0): self.g, self.calls = torch.Generator().manual_seed(seed), 0
    def weights(self, state):
        self.p = torch.rand(state.teacher_ce.shape, generator=self.g); self.a = (self.p > .5).float()
        return self.a
    def update(self, state, weights, fb):
        self.calls += 1
        r = -F.cross_entropy(fb.after_logits(), state.labels, reduction="none")
        return {"probs": self.p, "actions": self.a, "rewards": r, "reward_mean": r.mean().item(), "calls": self.calls}
    def state_dict(self): return {"g": self.g.get_state(), "calls": self.calls}
    def load_state_dict(self, d): self.g.set_state(d["g"]); self.calls = d["calls"]


class _Hang:
    "on_step: after step `at`, write `marker` and sleep (the test kills the process then)."
    def __init__(self, at, marker): self.at, self.marker = at, marker
    def on_step(self, trainer, record):
        if record["step"] == self.at:
            Path(self.marker).write_text(str(os.getpid())); time.sleep(600)


def run(out, data_dir, strategy="coin", dropout=0.1, hang_after_step=None, hang_in_checkpoint=None, marker=None,
        chunk_rows=None, **cfg):
    """Train the toy task into `out`. `hang_after_step`: sleep after that step's on_step; `hang_in_checkpoint`: sleep
    inside the write of that step's checkpoint (temporary directory complete, not yet renamed)."""
    from rmkd_nb.trainer import DistillTrainer
    train, dev, tok = toy_task(data_dir)
    cache = make_cache(teacher_logits(train["label"]), train["label"], teacher_names=["good", "fair", "poor"],
                       label_names=["neg", "pos"])
    # fp32 pinned: these tests compare runs bit for bit (resume) or with a 1e-5 tolerance (DDP);
    # precision="auto" is bf16
    # on a CPU with native bf16 instructions, whose rounding is not what they test
    config = DistillConfig(**{"output_dir": str(out), "epochs": 2, "batch_size": 8, "eval_batch_size": 16, "lr": 2e-3,
                              "seed": 0, "save_every": 3, "eval_every": 5, "precision": "fp32"} | cfg)

    class Trainer(DistillTrainer):
        def _before_checkpoint_commit(self, tmp_dir):
            if hang_in_checkpoint is not None and self.state.step == hang_in_checkpoint:
                (Path(tmp_dir) / "model.safetensors").write_bytes(b"half-written")   # what a reader must never load
                Path(marker).write_text(str(os.getpid())); time.sleep(600)
    if chunk_rows: Trainer.weight_log_rows = chunk_rows
    strat = Coin() if strategy == "coin" else strategy
    cbs = [_Hang(hang_after_step, marker)] if hang_after_step is not None else []
    t = Trainer(config, tiny_bert(dropout=dropout), train, dev, cache, strategy=strat, tokenizer=tok, callbacks=cbs)
    return t, t.train()


class MLP(torch.nn.Module):
    "A small MLP classifier over feature vectors; returns (logits, hidden)."
    def __init__(self, d=8, h=16, C=2):
        super().__init__()
        self.body, self.head = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.Tanh()), torch.nn.Linear(h, C)
    def forward(self, x): z = self.body(x); return self.head(z), z


def features(n_train=45, n_dev=16, d=8, seed=0):
    "A list-of-dicts feature task: label = sign of x0 + x1."
    r = np.random.default_rng(seed)
    X = r.normal(size=(n_train + n_dev, d)).astype(np.float32); Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    rows = [{"x": torch.from_numpy(X[i]), "labels": int(Y[i]), "idx": i} for i in range(n_train + n_dev)]
    return rows[:n_train], rows[n_train:], Y[:n_train]


def run_mlp(out, strategy="uniform", nan_idx=(), **cfg):
    "Train the MLP on the feature task into `out` (teacher logits of the examples `nan_idx` set to NaN)."
    from rmkd_nb.trainer import DistillTrainer
    train, dev, y = features()
    logits = teacher_logits(y, seed=1); logits[list(nan_idx), 0, 0] = np.nan
    cache = make_cache(logits, y)
    config = DistillConfig(**{"output_dir": str(out), "epochs": 2, "batch_size": 8, "lr": 1e-2, "warmup_ratio": 0.0,
                              "seed": 0, "precision": "fp32"} | cfg)   # fp32 pinned: see `run`
    torch.manual_seed(0)
    t = DistillTrainer(config, MLP(), train, dev, cache, strategy=strategy)
    return t, t.train()


def agent_states(run_dir) -> list:
    "Every process's strategy `state_dict` from the run's final checkpoint (one per rank)."
    from rmkd_nb.checkpoints import find_checkpoints, load_tree
    return load_tree(find_checkpoints(run_dir)[-1][1] / "strategy")


def student_params(run_dir) -> dict:
    "The saved student's parameters (from `student/`, loaded with plain transformers)."
    p = Path(run_dir) / "student" / "model.safetensors"
    if p.exists() and not (p.parent / "config.json").exists():
        from safetensors.torch import load_file
        return load_file(str(p))
    from transformers import BertForSequenceClassification
    return {k: v.detach().clone() for k,
            v in BertForSequenceClassification.from_pretrained(Path(run_dir) / "student").state_dict().items()}


def history(run_dir) -> list:
    "metrics.jsonl without the timing column."
    rows = [json.loads(l) for l in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "samples_per_s"} for r in rows]


def strip_times(result: dict) -> dict:
    return {k: v for k, v in result.items() if not k.endswith(("time_s", "per_s"))}


if __name__ == "__main__":
    args = json.loads(sys.argv[1])
    if isinstance(args.get("mlp"), list):   # several MLP runs, one after the other, in the same process group
        for a in args["mlp"]: trainer, result = run_mlp(**a)
    else: trainer, result = run_mlp(**args["mlp"]) if "mlp" in args else run(**args)
    if trainer.is_main and args.get("marker") and args.get("write_done", True):
        Path(args["out"], "done.json").write_text(json.dumps(strip_times(result)))
