"""Zero-cost proxies against their formulas, worked by hand on a two-layer network.

The network is f(x) = W2 relu(W1 x + b1) + b2 with W1 (2, 3) and W2 (2, 2) fixed below,
the batch three inputs with labels, the loss mean cross-entropy. The gradients are
written out with the chain rule (no autograd), the synflow sum and the NASWOT kernel
with numbers a reader can check on paper.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from evaluators.proxies import grad_norm, naswot, snip, synflow

W1 = [[0.5, -1.0, 0.25], [-0.5, 0.75, 1.0]]
B1 = [0.1, -0.2]
W2 = [[1.0, -2.0], [0.5, 0.25]]
B2 = [0.0, 0.3]
# Pre-activations W1 x + b1, by hand: x1 -> (1.1, -1.2), x2 -> (-0.9, 0.55),
# x3 -> (0.6, 1.8): the ReLU codes are (1, 0), (0, 1), (1, 1).
X = [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]
Y = [0, 1, 1]


def two_layer() -> nn.Sequential:
    net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 2)).double()
    with torch.no_grad():
        for layer, w, b in ((net[0], W1, B1), (net[2], W2, B2)):
            layer.weight.copy_(torch.tensor(w, dtype=torch.float64))
            layer.bias.copy_(torch.tensor(b, dtype=torch.float64))
    return net


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor(X, dtype=torch.float64), torch.tensor(Y)


def hand_gradients() -> dict[str, torch.Tensor]:
    """dL/dtheta of the mean cross-entropy by the chain rule."""
    x, y = batch()
    w1, b1, w2, b2 = (torch.tensor(t, dtype=torch.float64) for t in (W1, B1, W2, B2))
    pre = x @ w1.T + b1  # (3, 2)
    h = pre.clamp(min=0)
    z = h @ w2.T + b2  # (3, 2) logits
    p = z.exp() / z.exp().sum(1, keepdim=True)
    dz = (p - torch.eye(2, dtype=torch.float64)[y]) / len(x)  # d mean CE / d logits
    dpre = (dz @ w2) * (pre > 0)
    return {"w1": dpre.T @ x, "b1": dpre.sum(0), "w2": dz.T @ h, "b2": dz.sum(0)}


def test_hand_gradients_agree_with_finite_differences():
    # The oracle's own check: a central difference of the loss in one weight.
    x, y = batch()
    eps = 1e-6
    net = two_layer()
    with torch.no_grad():
        net[0].weight[1, 2] += eps
        up = F.cross_entropy(net(x), y).item()
        net[0].weight[1, 2] -= 2 * eps
        down = F.cross_entropy(net(x), y).item()
    assert hand_gradients()["w1"][1, 2].item() == pytest.approx((up - down) / (2 * eps),
                                                                rel=1e-6)


def test_grad_norm_is_the_sum_of_per_tensor_gradient_norms():
    g = hand_gradients()
    want = sum(math.sqrt((t ** 2).sum().item()) for t in g.values())
    assert grad_norm(two_layer(), *batch(), F.cross_entropy) == pytest.approx(want, rel=1e-12)


def test_snip_is_the_sum_of_abs_weight_times_gradient():
    g = hand_gradients()
    theta = {"w1": W1, "b1": B1, "w2": W2, "b2": B2}
    want = sum((torch.tensor(theta[k], dtype=torch.float64) * g[k]).abs().sum().item()
               for k in g)
    assert snip(two_layer(), *batch(), F.cross_entropy) == pytest.approx(want, rel=1e-12)


def test_synflow_on_abs_weights_and_an_input_of_ones():
    # R = sum(|W2| relu(|W1| 1 + |b1|) + |b2|): every unit is active.
    # h = |W1| 1 + |b1| = (1.75 + 0.1, 2.25 + 0.2) = (1.85, 2.45)
    # dR/dh = column sums of |W2| = (1.5, 2.25)
    # S = sum |W2|_ij h_j   = 1.5 * 1.85 + 2.25 * 2.45       = 8.2875
    #   + sum |b2|          = 0.3
    #   + sum |W1|_jk dR/dh_j = 1.75 * 1.5 + 2.25 * 2.25     = 7.6875
    #   + sum |b1|_j dR/dh_j  = 0.1 * 1.5 + 0.2 * 2.25       = 0.6
    #   = 16.875, and the proxy is log(1 + S).
    net = two_layer()
    x, y = batch()
    assert synflow(net, x, y, F.cross_entropy) == pytest.approx(math.log1p(16.875), rel=1e-12)
    # The signs come back: the network is the one it was.
    ref = two_layer()
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
                                                 ref.state_dict().values()))
    assert net[0].weight.grad is None and net.training


def test_synflow_ignores_the_data():
    net = two_layer()
    x, y = batch()
    assert synflow(net, x * -3.0, y.flip(0), F.cross_entropy) == pytest.approx(
        math.log1p(16.875), rel=1e-12)


def test_naswot_is_log_det_of_the_hamming_kernel():
    # Codes (1, 0), (0, 1), (1, 1) over N_A = 2 units; K_ij = N_A - Hamming(c_i, c_j):
    # K = [[2, 0, 1], [0, 2, 1], [1, 1, 2]]; the proxy adds I (finite for equal codes):
    # det [[3, 0, 1], [0, 3, 1], [1, 1, 3]] = 3 (9 - 1) - 0 + 1 (0 - 3) = 21.
    assert naswot(two_layer(), *batch(), F.cross_entropy) == pytest.approx(math.log(21),
                                                                             rel=1e-12)


def test_naswot_with_repeated_codes_stays_finite():
    # x1 twice: codes (1, 0), (1, 0), (1, 1) -> K + I = [[3, 2, 1], [2, 3, 1], [1, 1, 3]],
    # det = 3 (9 - 1) - 2 (6 - 1) + 1 (2 - 3) = 13 (the paper's K alone is singular).
    x, y = batch()
    x[1] = x[0]
    assert naswot(two_layer(), x, y, F.cross_entropy) == pytest.approx(math.log(13),
                                                                         rel=1e-12)
