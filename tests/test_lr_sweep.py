"""course_utils.lr_sweep (lesson 04): the tiny network's learning-rate sweeps train, are
reproducible, report divergence and explain bad input; the explorer built on them (in
course_utils.widgets) builds without a browser."""

import math
import subprocess
import sys

import pytest
import torch

from course_utils import lr_sweep


def test_lr_sweep_needs_no_ipywidgets_or_matplotlib():
    code = (
        "import sys, course_utils as cu; cu.lr_sweep.lr_loss_curve; "
        "import course_utils.checks.lesson04; "
        "print(sorted(m for m in ('ipywidgets', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lr_loss_curve_learns_and_is_reproducible(blobs):
    features, labels = blobs
    first = lr_sweep.lr_loss_curve(features, labels, 0.1, "SGD", steps=60)
    again = lr_sweep.lr_loss_curve(features, labels, 0.1, "SGD", steps=60)
    assert len(first) == 60 and first == again
    assert sum(first[-10:]) / 10 < 0.5 * sum(first[:10]) / 10


@pytest.mark.parametrize("name", lr_sweep.OPTIMIZERS)
def test_every_optimizer_trains(blobs, name):
    features, labels = blobs
    losses = lr_sweep.lr_loss_curve(
        features, labels, 0.01 if name == "Adam" else 0.05, name, steps=60
    )
    assert sum(losses[-10:]) < sum(losses[:10])


def test_lr_loss_curve_stops_when_the_loss_blows_up(blobs):
    features, labels = blobs
    losses = lr_sweep.lr_loss_curve(features * 1000, labels, 1e4, "SGD", steps=200)
    assert losses[-1] == math.inf and len(losses) < 200


def test_lr_loss_curve_restores_the_thread_count(blobs):
    features, labels = blobs
    threads = torch.get_num_threads()
    lr_sweep.lr_loss_curve(features, labels, 0.1, "SGD", steps=5)
    assert torch.get_num_threads() == threads


def test_lr_loss_curve_explains_bad_input(blobs):
    features, labels = blobs
    with pytest.raises(ValueError, match=r"float N x D tensor.*flatten"):
        lr_sweep.lr_loss_curve(torch.zeros(10, 1, 28, 28), labels[:10], 0.1)
    with pytest.raises(ValueError, match="unknown optimizer 'RMSprop'"):
        lr_sweep.lr_loss_curve(features, labels, 0.1, "RMSprop", steps=1)
    with pytest.raises(ValueError, match="need lr > 0"):
        lr_sweep.lr_loss_curve(features, labels, 0.0)


def test_callback_sees_the_curve_grow(blobs):
    features, labels = blobs
    seen = []
    lr_sweep.lr_loss_curve(
        features, labels, 0.1, steps=50, callback=lambda losses: seen.append(len(losses)), every=20
    )
    assert seen == [20, 40, 50]


def test_draw_and_explorer_build_without_a_browser(blobs):
    features, labels = blobs
    from course_utils import widgets

    fig = lr_sweep.draw_lr_curves({"ok": [2.0, 1.0, 0.5], "bad": [2.0, 5.0, math.inf]})
    assert "diverged at step 3" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()][1]
    box = widgets.lr_explorer(features, labels, steps=20)
    slider, menu = box.children[0].children
    menu.value = "Adam"  # triggers a new run, as a click in the browser would
    slider.value = 0.01
    assert menu.options == lr_sweep.OPTIMIZERS


def test_make_optimizer_and_tiny_mlp():
    model = lr_sweep.tiny_mlp(20, 3, hidden=8, seed=1)
    again = lr_sweep.tiny_mlp(20, 3, hidden=8, seed=1)
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters(), strict=True)
    )
    momentum = lr_sweep.make_optimizer("SGD + momentum", model.parameters(), 0.01, 1e-4)
    assert momentum.param_groups[0]["momentum"] == 0.9
    assert momentum.param_groups[0]["weight_decay"] == 1e-4
    assert isinstance(lr_sweep.make_optimizer("Adam", model.parameters(), 1e-3), torch.optim.Adam)


def test_smooth_is_a_running_mean():
    assert lr_sweep.smooth([1.0, 3.0, 5.0, 7.0], window=2).tolist() == [1.0, 2.0, 4.0, 6.0]
