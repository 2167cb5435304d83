import math

import pytest

from gangan.monitor import Diagnoser


def _record(step=100, acc_real=0.5, acc_fake=0.5, **extra):
    record = {
        "step": step, "interval_start": step - 100, "loss_D": 0.69, "loss_G": 0.69,
        "D_acc_real": acc_real, "D_acc_fake": acc_fake, "D_acc": (acc_real + acc_fake) / 2,
    }
    return {**record, **extra}


@pytest.mark.parametrize(
    ("record", "state", "words"),
    [
        (_record(loss_D=math.nan), "diverged", "NaN or Inf"),
        (_record(diversity_ratio=0.1), "collapse", "varies only 10%"),
        (_record(acc_real=0.99, acc_fake=0.97), "d_dominating", "classifies 98% of images correctly"),
        (_record(acc_real=0.9, acc_fake=0.02), "g_fooling", "calls 98% of the fakes real"),
        (_record(acc_real=0.55, acc_fake=0.5), "equilibrium", "D accuracy 52%"),
        (_record(acc_real=0.949, acc_fake=0.951), "d_ahead", "accuracy 95.0% (real 94.9%, fake 95.1%"),
        (_record(acc_real=0.3, acc_fake=0.2), "g_ahead", "below guessing"),
    ],
)
def test_diagnoser_states(record, state, words):
    diagnosis = Diagnoser().update(record)
    assert diagnosis.state == state
    assert words in diagnosis.message


def test_dominating_counts_steps():
    diagnoser = Diagnoser()
    diagnoser.update(_record(100, 0.99, 0.99))
    message = diagnoser.update(_record(200, 0.99, 0.99, grad_norm_G=1e-5)).message
    assert "for 200 steps" in message
    assert "G's gradients are vanishing" in message
