"""Plain-language diagnoses of the state of GAN training, from one log interval's averages."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Thresholds, as shares of the batch. They are rules of thumb, not derived values.
EQUILIBRIUM_MARGIN = 0.10  # D accuracy within 50% +- 10 points counts as "near equilibrium".
DOMINATING_ACCURACY = 0.95  # D right on at least 95% of real and of fake images.
FOOLED_ACCURACY = 0.05  # D right on at most 5% of the fakes.
COLLAPSE_DIVERSITY = 0.25  # fixed-z samples vary at most a quarter as much as real images.
# An untrained generator's outputs are nearly alike, so variety is judged only from this step on.
COLLAPSE_FROM_STEP = 200
# Each of real and fake accuracy within 50% +- 25 points: otherwise the overall accuracy can sit
# near 50% while D calls nearly every image real (or fake), which is no equilibrium.
BALANCE_MARGIN = 0.25
# G's gradients count as vanishing below this norm, or below this share of their first logged norm.
VANISHING_GRAD_NORM = 1e-3
VANISHING_GRAD_SHARE = 0.02


@dataclass
class Diagnosis:
    """State of training: a short `state` name and a sentence for people."""

    state: str
    message: str


class Diagnoser:
    """Turns each log record into a Diagnosis, remembering since when the state holds.

    States: "diverged", "collapse", "d_dominating", "g_fooling", "equilibrium", "d_ahead".
    """

    def __init__(self):
        self.state = ""
        self.since_step = 0
        self.first_grad_norm_G: float | None = None

    def update(self, record: dict) -> Diagnosis:
        step = record["step"]
        state, message = self._classify(record)
        if state != self.state:
            self.state, self.since_step = state, record.get("interval_start", step)
        grad_G = record.get("grad_norm_G")
        if grad_G is not None and self.first_grad_norm_G is None and math.isfinite(grad_G):
            self.first_grad_norm_G = grad_G
        if state == "d_dominating":
            message += f" for {step - self.since_step:,} steps"
            if grad_G is not None and self._vanishing(grad_G):
                message += f"; G's gradients are vanishing (|grad G| = {grad_G:.1e}, first logged {self.first_grad_norm_G:.1e})"
        return Diagnosis(state, message)

    def _vanishing(self, grad_G: float) -> bool:
        first = self.first_grad_norm_G
        return grad_G < VANISHING_GRAD_NORM or (first is not None and grad_G < VANISHING_GRAD_SHARE * first)

    @staticmethod
    def _classify(record: dict) -> tuple[str, str]:
        losses = [record.get("loss_D", 0.0), record.get("loss_G", 0.0)]
        if not all(math.isfinite(value) for value in losses):
            return "diverged", "training diverged: a loss became NaN or Inf"
        ratio = record.get("diversity_ratio")
        if "D_acc" not in record:
            # Models without a discriminator (autoencoders) have no equilibrium to report.
            return "training", "training: no discriminator, so no equilibrium signals"
        acc, acc_real, acc_fake = record["D_acc"], record["D_acc_real"], record["D_acc_fake"]
        if ratio is not None and ratio < COLLAPSE_DIVERSITY and record["step"] >= COLLAPSE_FROM_STEP:
            return "collapse", (
                f"samples are losing variety (mode collapse): the fixed-z batch varies only "
                f"{ratio:.0%} as much as real images"
            )
        if acc_real >= DOMINATING_ACCURACY and acc_fake >= DOMINATING_ACCURACY:
            return "d_dominating", f"the discriminator is dominating: it classifies {acc:.0%} of images correctly"
        if acc_fake <= FOOLED_ACCURACY:
            return "g_fooling", f"the generator fools D completely: D calls {1 - acc_fake:.0%} of the fakes real"
        balanced = abs(acc_real - 0.5) <= BALANCE_MARGIN and abs(acc_fake - 0.5) <= BALANCE_MARGIN
        if abs(acc - 0.5) <= EQUILIBRIUM_MARGIN and balanced:
            return "equilibrium", f"near equilibrium: D accuracy {acc:.0%}, close to guessing (50%)"
        if acc > 0.5:
            # One decimal, so that a D just under the dominating threshold does not read as 95%.
            return "d_ahead", f"D is ahead: accuracy {acc:.1%} (real {acc_real:.1%}, fake {acc_fake:.1%}; 50% is equilibrium)"
        return "g_ahead", f"G is ahead: D accuracy {acc:.1%} (real {acc_real:.1%}, fake {acc_fake:.1%}; 50% is equilibrium)"

    def state_dict(self) -> dict:
        return {"state": self.state, "since_step": self.since_step, "first_grad_norm_G": self.first_grad_norm_G}

    def load_state_dict(self, state: dict) -> None:
        self.state, self.since_step = state["state"], int(state["since_step"])
        # Checkpoints written before the first norm was kept have no such entry.
        self.first_grad_norm_G = state.get("first_grad_norm_G")
