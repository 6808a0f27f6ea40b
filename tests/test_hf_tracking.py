"""report_to: every metrics.jsonl row also goes to Accelerate's trackers (TensorBoard here); missing trackers are
refused."""
import sys
from pathlib import Path

import pytest
from accelerate.utils import is_wandb_available

sys.path.insert(0, str(Path(__file__).parent))
from rmkd_nb.core import ConfigError
from rmkd_nb.trainer import resolve_report_to
from test_hf_callbacks import trainer, rows

tensorboard = pytest.importorskip("tensorboard", reason="CI installs the [tensorboard] extra")


def test_tensorboard_scalars_equal_metrics_jsonl(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    trainer(tmp_path/"run", report_to=["tensorboard"], epochs=1).train()
    ev = EventAccumulator(str(tmp_path/"run"/"tensorboard"/"rmkd_nb")); ev.Reload()
    got = {(e.step, round(e.value, 5)) for e in ev.Scalars("train/loss")}
    want = {(r["step"], round(r["loss"], 5)) for r in rows(tmp_path/"run", "train")}
    assert got == want and len(got) == 8
    acc = [(e.step, round(e.value, 5)) for e in ev.Scalars("eval/accuracy")]
    assert acc == [(r["step"], round(r["accuracy"], 5)) for r in rows(tmp_path/"run", "eval")]
    assert (tmp_path/"run"/"metrics.jsonl").is_file()      # metrics.jsonl stays


def test_report_to_resolves_what_is_installed(tmp_path):
    assert resolve_report_to(["none"]) == [] and "tensorboard" in resolve_report_to(["all"])
    if not is_wandb_available():
        with pytest.raises(ConfigError, match=r"report_to=\['wandb'\]: wandb not installed \(pip install wandb\)"):
            trainer(tmp_path/"run", report_to=["wandb"])
        assert not (tmp_path/"run").exists()                    # refused before anything is written
