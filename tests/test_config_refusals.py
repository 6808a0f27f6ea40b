"""Every refusal of `DistillConfig.from_dict` / `validate` that `nbs/00_core.ipynb` used to list, with the same
messages (the notebook keeps one check of each kind)."""
import json

import pytest, yaml

from rmkd_nb.core import ConfigError, DistillConfig


def refused(d:dict, contains:str, where:str="config"):
    with pytest.raises(ConfigError) as e: DistillConfig.from_dict(d, where=where)
    assert contains in str(e.value), f"{d}: {e.value}"


def test_round_trips():
    cfg = DistillConfig(task="mrpc", teachers=["a", "b"], strategy="ca_mkd")
    assert DistillConfig.from_dict(json.loads(cfg.to_json())) == cfg
    assert DistillConfig.from_dict(yaml.safe_load(cfg.to_yaml())) == cfg


@pytest.mark.parametrize("d,where,contains", [
    ({"temprature": 2}, "exp.yaml", "'temprature' (did you mean 'temperature'?)"),
    ({"alpha": 1.5}, "papermill", "papermill: alpha=1.5 must be in [0, 1]"),
    ({"batch_size": "32"}, "papermill", "papermill: batch_size='32' has type str, expected int"),
    ({"temperature": float("nan")}, "config", "temperature=nan"),
    ({"temperature": 10**400}, "fuzz", "fuzz: temperature=1000"),
    ({"seed": 2**64}, "fuzz", "seed=18446744073709551616 must be an integer in [0, 2**63)"),
    ({"teachers": ["a", None]}, "config", "teachers=['a', None] must be a list of non-empty strings (item None)"),
    ({"output_dir": "a\x00b"}, "config", "output_dir='a\\x00b' is not a usable path"),
    ({"lr": 1e-4, "learning_rate": 1e-4}, "config", "both 'lr' and its alias 'learning_rate'"),
    ({"task": "custom", "train_file": "t.csv", "reward_file": "r.csv", "reward_examples": 5}, "config",
     "reward_file='r.csv' and reward_examples>0 both ask"),
])
def test_refusals_name_the_value_and_the_source(d, where, contains): refused(d, contains, where)


def test_accepted_spellings():
    assert DistillConfig.from_dict({"epochs": 2}).epochs == 2.0
    c = DistillConfig.from_dict({"learning_rate": 1e-4, "num_train_epochs": 2, "save_total_limit": 0,
                                 "report_to": "tensorboard"})
    assert (c.lr, c.epochs, c.keep_checkpoints, c.report_to) == (1e-4, 2.0, "none", ["tensorboard"])
    assert DistillConfig.from_dict({"strategy_options": "{mode: soft}"}).strategy_options == {"mode": "soft"}


def test_fields_keep_their_order_and_help():
    import dataclasses
    names = [f.name for f in dataclasses.fields(DistillConfig)]
    assert names[:3] == ["task", "data_dir", "train_file"] and names[-1] == "report_to"
    assert list(DistillConfig().to_dict()) == names
    assert all(f.metadata.get("help") for f in dataclasses.fields(DistillConfig))
