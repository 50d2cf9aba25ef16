"""course_utils.fast_cifar: each airbench-style technique does what its docstring says."""

import math

import pytest
import torch
from torch import nn

from course_utils import fast_cifar as fc
from course_utils.training import fit


def test_net_shape_and_widths():
    net = fc.FastCifarNet((8, 16, 16))
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert net.groups[2].conv2.out_channels == 16


def test_frozen_scale_batchnorm_learns_only_its_shift():
    bn = fc.FrozenScaleBatchNorm(4)
    assert not bn.weight.requires_grad and bn.bias.requires_grad
    assert bn.momentum == pytest.approx(0.4)
    net = fc.FastCifarNet((8, 8, 8))
    trainable = {name for name, p in net.named_parameters() if p.requires_grad}
    assert not any(name.endswith("norm1.weight") for name in trainable)
    assert any(name.endswith("norm1.bias") for name in trainable)
    assert "whiten.weight" not in trainable  # set by the whitening, not learned


def test_dirac_conv_starts_as_identity_on_its_first_channels():
    conv = fc.DiracConv(4, 6)
    x = torch.randn(2, 4, 5, 5)
    assert torch.allclose(conv(x)[:, :4], x, atol=1e-6)


def test_whitening_weights_decorrelate_patches():
    torch.manual_seed(0)
    mixing = torch.tensor([[1.0, 0.9, 0.5], [0.0, 0.4, 0.3], [0.0, 0.0, 0.2]])
    images = torch.einsum("ij,njhw->nihw", mixing, torch.randn(64, 3, 16, 16))  # correlated channels
    images = torch.nn.functional.avg_pool2d(images, 3, 1, 1)  # correlated neighbours too
    weights = fc.whitening_weights(images, kernel_size=2, eps=0.0)
    assert weights.shape == (24, 3, 2, 2)
    out = torch.nn.functional.conv2d(images, weights[:12])  # the '+' half
    flat = out.permute(1, 0, 2, 3).reshape(12, -1)
    covariance = flat @ flat.T / flat.shape[1]
    assert torch.allclose(covariance, torch.eye(12), atol=0.05)  # raw patches are far from this
    assert torch.equal(weights[12:], -weights[:12])


def test_init_whitening_sets_the_layer():
    net = fc.FastCifarNet((8, 8, 8))
    images = torch.randn(16, 3, 32, 32)
    fc.init_whitening(net.whiten, images)
    assert torch.allclose(net.whiten.weight, fc.whitening_weights(images))


def test_airbench_sgd_decoupled_rates_and_bias_scaler():
    net = fc.FastCifarNet((8, 8, 8))
    opt = fc.airbench_sgd(net, batch_size=512, lr=11.5, momentum=0.85, weight_decay=0.0153, bias_scaler=64)
    norm, other = opt.param_groups
    lr_mean = 11.5 / (1024 * (1 + 1 / 0.15)) * 512
    assert other["lr"] == pytest.approx(lr_mean) and norm["lr"] == pytest.approx(64 * lr_mean)
    decay = 0.0153 * 512 / (1024 * (1 + 1 / 0.15))
    for group in (norm, other):  # the same decay per step for both groups: lr x weight_decay
        assert group["lr"] * group["weight_decay"] == pytest.approx(decay)
    assert all(p.ndim == 1 for p in norm["params"]) and len(norm["params"]) == 6
    assert opt.defaults["nesterov"]


def test_triangle_schedule_warms_up_then_decays():
    total = 100
    values = [fc.triangle(s, total) for s in range(total + 1)]
    assert values[0] == pytest.approx(0.2) and values[-1] == pytest.approx(0.07)
    peak = values.index(max(values))
    assert max(values) == pytest.approx(1.0) and peak == 23
    assert all(a <= b for a, b in zip(values[:peak], values[1 : peak + 1], strict=True))
    assert all(a >= b for a, b in zip(values[peak:], values[peak + 1 :], strict=False))


def test_lookahead_pulls_weights_to_average_and_ends_on_it():
    net = nn.Linear(2, 1, bias=False)
    nn.init.zeros_(net.weight)
    hook = fc.Lookahead(net, total_steps=10, every=5, decay=0.5)
    for step in range(1, 11):
        with torch.no_grad():
            net.weight.fill_(float(step))  # pretend the optimiser moved it
        hook.step()
        if step == 5:  # decay 0.5 * (5/10)**3 = 1/16 towards the average (0)
            assert net.weight[0, 0].item() == pytest.approx(5 * (1 - 1 / 16))
    assert torch.equal(net.weight, hook.average["weight"])  # ended on the average
    assert net.weight[0, 0].item() == pytest.approx(5 * (1 - 1 / 16))  # the last step did not move it


def test_freeze_after_trains_then_freezes():
    p = nn.Parameter(torch.zeros(3))
    hook = fc.FreezeAfter(p, steps=2)
    hook.step()
    assert p.requires_grad
    hook.step()
    assert not p.requires_grad


def test_step_hooks_step_each_and_round_trip_state():
    class Counter:
        def __init__(self):
            self.n = 0

        def step(self):
            self.n += 1

        def state_dict(self):
            return {"n": self.n}

        def load_state_dict(self, state):
            self.n = state["n"]

    a, b = Counter(), Counter()
    hooks = fc.StepHooks(a, b)
    hooks.step()
    hooks.step()
    assert a.n == b.n == 2
    state = hooks.state_dict()
    a.n = b.n = 0
    hooks.load_state_dict(state)
    assert a.n == b.n == 2


def test_flip_tta_averages_an_image_and_its_mirror_only_in_eval():
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    tta = fc.FlipTTA(net)
    x = torch.randn(3, 1, 3, 4)
    tta.train()
    assert torch.allclose(tta(x), net(x))
    tta.eval()
    assert torch.allclose(tta(x), (net(x) + net(x.flip(-1))) / 2)
    assert not torch.allclose(tta(x), net(x))


def test_random_translate_moves_by_at_most_shift_with_reflected_edges():
    images = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).view(2, 1, 6, 6)
    out = fc.random_translate(images, 2, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(images, (2,) * 4, mode="reflect")
    for i in range(2):  # each output is one of the 25 windows of its reflect-padded image
        windows = [padded[i, :, dy : dy + 6, dx : dx + 6] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(out[i], w) for w in windows)
    assert out.min() >= 0  # no zero padding was added (the image has no zero outside pixel 0)


def test_alternating_flip_mask_flips_each_image_every_other_epoch():
    masks = [fc.alternating_flip_mask(1000, epoch, seed=3) for epoch in range(4)]
    assert torch.equal(masks[1], ~masks[0]) and torch.equal(masks[2], masks[0])
    assert 400 < masks[0].sum() < 600


def test_alternating_flip_loader_batches():
    x = torch.randint(0, 256, (20, 3, 8, 8), dtype=torch.uint8)
    y = torch.arange(20)
    loader = fc.AlternatingFlipLoader(x, y, 8, (0.5,) * 3, (0.25,) * 3, translate=0)
    batches = list(loader)
    assert len(loader) == len(batches) == 2
    xb, yb = batches[0]
    assert xb.shape == (8, 3, 8, 8) and xb.dtype == torch.float32
    expected = (x[yb].float() / 255 - 0.5) / 0.25
    flipped = [torch.equal(xb[i], expected[i].flip(-1)) for i in range(8)]
    same = [torch.equal(xb[i], expected[i]) for i in range(8)]
    assert all(f or s for f, s in zip(flipped, same, strict=True))
    loader.set_epoch(0)
    xb0, yb0 = next(iter(loader))
    loader.set_epoch(1)
    xb1, yb1 = next(iter(iter(loader)))
    # in epoch 1, each image appears mirrored relative to epoch 0
    first = {int(label): img for img, label in zip(xb0, yb0, strict=True)}
    for img, label in zip(xb1, yb1, strict=True):
        if int(label) in first:
            assert torch.equal(img, first[int(label)].flip(-1))


def test_the_recipe_learns_a_tiny_task_with_fit():
    torch.manual_seed(0)
    y = torch.randint(0, 2, (256,))
    x = (torch.randint(0, 156, (256, 3, 32, 32)) + 100 * y[:, None, None, None]).to(torch.uint8)  # dark or bright
    mean, std = (0.5,) * 3, (0.29,) * 3
    net = fc.FastCifarNet((8, 16, 16))
    fc.init_whitening(net.whiten, (x.float() / 255 - 0.5) / 0.29)
    loader = fc.AlternatingFlipLoader(x, y, 64, mean, std)
    total = 6 * len(loader)
    opt = fc.airbench_sgd(net, batch_size=64)
    hooks = fc.StepHooks(fc.triangle_lr(opt, total), fc.Lookahead(net, total), fc.FreezeAfter(net.whiten.bias, 8))
    history = fit(fc.FlipTTA(net), loader, None, opt, 6, scheduler=hooks, scheduler_step="batch",
                  loss_fn=nn.CrossEntropyLoss(label_smoothing=0.2), progress=False)  # fmt: skip
    assert history["train_accuracy"][-1] > 0.8
    assert not net.whiten.bias.requires_grad
    assert all(math.isfinite(v) for v in history["train_loss"])
