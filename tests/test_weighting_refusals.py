"""The baseline strategies refuse bad specs and options with a message naming them (moved from nbs/05_weighting)."""
import numpy as np
import pytest
import torch

from rmkd_nb.core import ConfigError
from rmkd_nb.weighting import State, _as_weight_vector, get_strategy


class FakeCache:
    "A stand-in for `TeacherCache`: `num_teachers`, `accuracy`, `arrays(split)`."
    def __init__(self, splits:dict): # split -> (logits (N, K, C), labels (N,))
        self._arr = {sp: dict(idx=np.arange(len(y)), labels=np.asarray(y), logits=np.asarray(lg, np.float32),
                              pooled=None) for sp, (lg, y) in splits.items()}
        self.num_teachers = next(iter(self._arr.values()))["logits"].shape[1]
        self.accuracy = {sp: (a["logits"].argmax(-1) == a["labels"][:, None]).mean(0).tolist()
                         for sp, a in self._arr.items()}
    def arrays(self, split):
        if split not in self._arr: raise KeyError(f"split {split!r} not in cache")
        return self._arr[split]

def _state(B=5, K=3, C=4):
    g = torch.Generator().manual_seed(0)
    tl, y = torch.randn(B, K, C, generator=g), torch.randint(0, C, (B,), generator=g)
    return State(tl, torch.rand(B, K, generator=g), torch.randn(B, C, generator=g), y, torch.arange(B))

@pytest.mark.parametrize("values,message", [([1, -1], "cfg: weights=[1, -1] must be finite, non-negative"),
                                            (["a"], "weights=['a'] is not a list of numbers")])
def test_weight_vector_refusals(values, message):
    with pytest.raises(ConfigError) as e: _as_weight_vector(values, "weights", "cfg")
    assert message in str(e.value), str(e.value)

def test_single_teacher_refusals():
    s7 = get_strategy("single:7", where="config.strategy")
    with pytest.raises(ConfigError, match="k=7 is out of range for K=3"):
        s7.setup(FakeCache({"train": (np.zeros((2, 3, 2)), [0, 1])}))
    with pytest.raises(ConfigError, match="k=-1 is out of range"): get_strategy("single:-1").weights(_state())
    with pytest.raises(ConfigError, match="cfg: strategy 'single:x': teacher index 'x' is not an integer"):
        get_strategy("single:x", where="cfg")
    with pytest.raises(ConfigError, match="needs a teacher index"): get_strategy("single", where="cfg")

def test_fixed_weights_refusals():
    with pytest.raises(ConfigError, match=r"has 2 teacher weights \[0.5, 0.5\] but the run has K=3"):
        get_strategy("fixed", where="cfg", weights=[1, 1]).weights(_state())
    with pytest.raises(ConfigError, match=r"cfg: strategy 'fixed': weights=\[0, 0, 0\] must be finite, non-negative, "
                                          "with a positive sum"):
        get_strategy("fixed", where="cfg", weights=[0, 0, 0])
    with pytest.raises(Exception, match=r"call setup\(cache\) first"): get_strategy("fixed").weights(_state())
