"""The RL agent refuses bad options when it is built, with a message naming the option (moved from nbs/06_agent)."""
import pytest

from rmkd_nb.core import ConfigError
from rmkd_nb.weighting import get_strategy
from rmkd_nb.agent import RLTeacherSelector, reward_plan

REFUSALS = [   # (strategy, options, the message's telling part)
    ("rl", {"mode": "greedy"}, "mode='greedy'"),
    ("rl", {"reward": "accuracy"}, "unknown reward 'accuracy'"),
    ("rl_soft", {"reward": "ce_gain"}, "mode='soft' executes no sampled action"),
    ("rl", {"reward": "dev"}, "set episode='epoch'"),
    ("rl", {"reward": "ce_gain", "credit": "teacher"}, "needs a counterfactual reward"),
    ("rl", {"lr": -1}, "lr=-1 must be a positive number"),
    ("rl", {"features": ["repr", "colour"]}, "unknown feature group 'colour'"),
    ("rl", {"episode": 0}, "episode=0"),
    ("rl", {"reward": "ce_gain", "baseline": "greedy"}, "baseline='greedy' scores the greedy action"),
    ("rl", {"reward": "heldout", "baseline": "value"}, "one reward per episode"),
    ("rl", {"guard": "yes"}, "guard='yes'"),
    ("rl", {"credit": "everyone"}, "credit='everyone'; use 'example' or 'teacher'"),
    ("rl", {"baseline": "median"}, "baseline='median'"),
    ("rl", {"entropy_coef": -0.1}, "entropy_coef=-0.1 must be >= 0"),
    ("rl", {"baseline_momentum": 1.0}, "baseline_momentum=1.0 must be in [0, 1)"),
    ("rl", {"heldout_examples": 0}, "heldout_examples=0 must be an integer >= 1"),
    ("rl", {"heldout_metric": "f1"}, "heldout_metric='f1'"),
    ("rl", {"init_prob": 1.0}, "init_prob=1.0 must be in (0, 1)"),
    ("rl", {"policy": "tree"}, "policy='tree'"),
]

@pytest.mark.parametrize("spec,options,message", REFUSALS, ids=[f"{s}-{o}" for s, o, _ in REFUSALS])
def test_agent_refuses_bad_options(spec, options, message):
    with pytest.raises(ConfigError) as e: get_strategy(spec, **options)
    assert message in str(e.value), str(e.value)

def test_pretrain_reward_must_be_counterfactual():
    "A preset's pre-training reward must score actions a frozen student never shows the effect of."
    class FrozenBlind(RLTeacherSelector): PRETRAIN_REWARD = "ce_after"
    with pytest.raises(ConfigError, match="pretrain_reward='ce_after' cannot score actions while the student is "
                                          "frozen"):
        FrozenBlind()
    with pytest.raises(ConfigError, match="pretrain_reward='ce_after' cannot score actions"):
        reward_plan("kd_lookahead", pretrain_reward="ce_after")
    assert reward_plan("ce_gain") == ("example", "kd_lookahead") and reward_plan("loss")[1] == "loss"

@pytest.mark.parametrize("option", ["pretrain_reward", "eval_mode", "lookahead_lr", "dev_metric", "norm_max_count",
                                    "value_coef"])
def test_options_that_became_constants_are_refused(option):
    "Options no experiment set are constants now (`LOOKAHEAD_LR`, `VALUE_COEF`) or derived: naming one is an error."
    with pytest.raises(ConfigError, match="does not take"): get_strategy("rl", **{option: 1})
