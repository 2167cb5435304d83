import math

import pytest
import torch

from gangan import losses


def test_discriminator_loss_at_equilibrium_is_log2():
    zeros = torch.zeros(8)
    assert losses.discriminator_loss(zeros, zeros).item() == pytest.approx(math.log(2), rel=1e-6)


def test_losses_match_bce_formulas():
    real_logits = torch.tensor([2.0, -1.0, 0.5])
    fake_logits = torch.tensor([-3.0, 0.2, 1.0])
    d_real, d_fake = torch.sigmoid(real_logits), torch.sigmoid(fake_logits)
    expected_D = 0.5 * (-torch.log(d_real).mean() - torch.log(1 - d_fake).mean())
    assert torch.allclose(losses.discriminator_loss(real_logits, fake_logits), expected_D)
    assert torch.allclose(losses.generator_loss_non_saturating(fake_logits), -torch.log(d_fake).mean())
    assert torch.allclose(losses.generator_loss_minimax(fake_logits), torch.log(1 - d_fake).mean())


def test_minimax_saturates_where_non_saturating_does_not():
    # D confidently rejects the fake: D(G(z)) = sigmoid(-8) ~ 3e-4.
    logit = torch.tensor([-8.0], requires_grad=True)
    (minimax_grad,) = torch.autograd.grad(losses.generator_loss_minimax(logit), logit)
    (ns_grad,) = torch.autograd.grad(losses.generator_loss_non_saturating(logit), logit)
    assert abs(minimax_grad.item()) < 1e-3
    assert abs(ns_grad.item()) > 0.99

