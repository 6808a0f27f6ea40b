"""`weighted_kd_loss` refuses bad options and shapes with a message naming them (moved from nbs/04_losses)."""
import pytest
import torch

from rmkd_nb.core import ConfigError
from rmkd_nb.losses import weighted_kd_loss

s, t, y = torch.randn(2, 3), torch.randn(2, 4, 3), torch.tensor([0, 2])

@pytest.mark.parametrize("args,kwargs,message", [
    ((s, t, torch.ones(2, 4), y), {"mode": "avg"}, "mode='avg'"),
    ((s, t, torch.ones(2, 4), y), {"reduction": "max"}, "reduction='max'"),
    ((s, t, torch.ones(2, 3), y), {}, "weights shape (2, 3); expected (B, K) = (2, 4)"),
    ((s, t[..., :2], torch.ones(2, 4), y), {}, "teacher_logits shape (2, 4, 2)"),
], ids=["mode", "reduction", "weights-shape", "teacher-shape"])
def test_weighted_kd_loss_refusals(args, kwargs, message):
    with pytest.raises(ConfigError) as e: weighted_kd_loss(*args, **kwargs)
    assert message in str(e.value), str(e.value)
