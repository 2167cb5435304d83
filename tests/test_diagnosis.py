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
        (_record(300, diversity_ratio=0.1), "collapse", "varies only 10%"),
        (_record(100, diversity_ratio=0.1), "equilibrium", "D accuracy 50%"),
        (_record(acc_real=0.99, acc_fake=0.97), "d_dominating", "classifies 98% of images correctly"),
        (_record(acc_real=0.9, acc_fake=0.02), "g_fooling", "calls 98% of the fakes real"),
        (_record(acc_real=0.55, acc_fake=0.5), "equilibrium", "D accuracy 52%"),
        (_record(acc_real=0.949, acc_fake=0.951), "d_ahead", "accuracy 95.0% (real 94.9%, fake 95.1%"),
        (_record(acc_real=1.0, acc_fake=0.17), "d_ahead", "accuracy 58.5% (real 100.0%, fake 17.0%"),
        (_record(acc_real=0.3, acc_fake=0.2), "g_ahead", "D accuracy 25.0% (real 30.0%, fake 20.0%"),
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


def test_vanishing_relative_to_first_norm():
    diagnoser = Diagnoser()
    diagnoser.update(_record(100, 0.99, 0.99, grad_norm_G=1.8))
    assert "vanishing" not in diagnoser.update(_record(200, 0.99, 0.99, grad_norm_G=0.5)).message
    message = diagnoser.update(_record(300, 0.99, 0.99, grad_norm_G=0.018)).message
    assert "G's gradients are vanishing (|grad G| = 1.8e-02, first logged 1.8e+00)" in message

    resumed = Diagnoser()
    resumed.load_state_dict(diagnoser.state_dict())
    assert "vanishing" in resumed.update(_record(400, 0.99, 0.99, grad_norm_G=0.02)).message
