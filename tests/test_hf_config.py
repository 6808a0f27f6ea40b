"""The config speaks Hugging Face: HfArgumentParser, `rmkd run --help`, TrainingArguments names, one-or-many lists."""
import dataclasses, subprocess, sys
from pathlib import Path

import pytest, yaml
from transformers import HfArgumentParser, TrainingArguments

from rmkd_nb.core import ALIASES, ConfigError, DistillConfig
from rmkd_nb.cli import config_from_argv
from rmkd_nb.sweep import sweep_points

ROOT = Path(__file__).resolve().parents[1]


def test_hf_argument_parser_parses_the_config():
    (cfg,) = HfArgumentParser(DistillConfig).parse_args_into_dataclasses(
        ["--teachers", "a", "b", "--text_fields", "text", "--learning_rate", "3e-4",
         "--strategy_options", "{mode: soft}", "--num_train_epochs", "2", "--overwrite", "--report_to", "tensorboard"],
        look_for_args_file=False)
    assert (cfg.teachers, cfg.text_fields, cfg.lr, cfg.epochs, cfg.overwrite) == (["a", "b"], ["text"], 3e-4, 2.0, True)
    assert cfg.strategy_options == {"mode": "soft"} and cfg.report_to == ["tensorboard"]
    assert DistillConfig.from_dict(cfg.to_dict()) == cfg           # what it parsed passes the one validation


def test_help_lists_every_field_with_help_and_default():
    code = "import sys; from rmkd_nb.cli import main; sys.exit(main(['run', '--help']))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())     # argparse wraps lines
    for f in dataclasses.fields(DistillConfig):
        help_ = f.metadata.get("help")
        assert help_, f"{f.name} has no help"
        assert f"--{f.name}" in text and " ".join(help_.split()[:4]) in text, (
            f"--{f.name} or its help missing from --help")
    assert text.count("(default:") >= len(dataclasses.fields(DistillConfig))


def test_training_arguments_names_mean_the_same():
    targs = {f.name for f in dataclasses.fields(TrainingArguments)}
    for alias, name in ALIASES.items():     # every alias is a real TrainingArguments field
        assert alias in targs, alias
    for name in ("learning_rate", "num_train_epochs", "per_device_train_batch_size", "per_device_eval_batch_size",
                 "gradient_accumulation_steps", "save_total_limit", "report_to", "seed", "weight_decay", "warmup_ratio",
                 "max_grad_norm", "output_dir"):
        canonical = {f.name for f in dataclasses.fields(DistillConfig)}
        assert name in ALIASES or name in canonical or name == "save_total_limit"
    c = config_from_argv(["--learning_rate", "1e-4", "--num_train_epochs", "2", "--per_device_train_batch_size", "16",
                          "--per_device_eval_batch_size", "64", "--gradient_accumulation_steps", "2",
                          "--save_total_limit", "0", "--report_to", "none", "--eval_steps", "10", "--save_steps", "20"])
    assert (c.lr, c.epochs, c.batch_size, c.eval_batch_size, c.grad_accum, c.keep_checkpoints, c.report_to,
            c.eval_every, c.save_every) == (1e-4, 2.0, 16, 64, 2, "none", ["none"], 10, 20)
    assert c.to_dict()["lr"] == 1e-4 and "learning_rate" not in c.to_dict()       # canonical names are written
    with pytest.raises(ConfigError, match="save_total_limit=3"): DistillConfig.from_dict({"save_total_limit": 3})
    with pytest.raises(ConfigError, match="did you mean 'learning_rate'"): DistillConfig.from_dict({"learning_rat": 1})


def test_lists_take_one_or_many_values_and_flags_override_the_file(tmp_path):
    f = tmp_path/"c.yaml"; f.write_text(yaml.safe_dump({"teachers": ["x", "y"], "lr": 1e-3, "task": "mrpc"}))
    c = config_from_argv(["--config", str(f), "--teachers", "t0", "--text_fields", "text"])
    assert (c.teachers, c.text_fields, c.lr, c.task) == (["t0"], ["text"], 1e-3, "mrpc")
    c = config_from_argv(["--config", str(f), "--learning_rate", "2e-3", "--teachers", "a", "b"])
    assert (c.lr, c.teachers) == (2e-3, ["a", "b"])
    with pytest.raises(ConfigError, match=r"command line and .*c.yaml: alpha=2.0 must be in \[0, 1\]"):
        config_from_argv(["--config", str(f), "--alpha", "2"])


def test_sweep_files_still_parse():
    for spec in sorted((ROOT/"bench"/"sweeps").glob("*.yaml")):
        for name, d in sweep_points(yaml.safe_load(spec.read_text())):
            DistillConfig.from_dict(d, where=f"{spec.name}: {name}")
