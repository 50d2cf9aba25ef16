"""The checks of lesson 04 accept the reference answers and explain typical mistakes; the
lesson's learning-rate explorer trains, reports divergence and builds without a browser."""

import math

import pytest
import torch
from torch import nn

from course_utils import widgets
from course_utils.checks import ExerciseError, lesson04


def good_step(model, optimizer, loss_fn, inputs, targets):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    optimizer.step()
    return loss.item()


def no_zero_grad(model, optimizer, loss_fn, inputs, targets):
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    optimizer.step()
    return loss.item()


def zero_grad_too_late(model, optimizer, loss_fn, inputs, targets):
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def returns_tensor(model, optimizer, loss_fn, inputs, targets):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    optimizer.step()
    return loss


def test_exercise_1_accepts_reference(capsys):
    lesson04.exercise_1(good_step)
    assert "correct" in capsys.readouterr().out


def test_exercise_1_rejects_missing_zero_grad():
    with pytest.raises(ExerciseError, match="(?s)after step 2 .* call optimizer.zero_grad"):
        lesson04.exercise_1(no_zero_grad)


def test_exercise_1_rejects_zero_grad_before_step():
    with pytest.raises(ExerciseError, match="did not change after one train_step"):
        lesson04.exercise_1(zero_grad_too_late)


def test_exercise_1_rejects_a_tensor_result():
    with pytest.raises(ExerciseError, match="return loss.item"):
        lesson04.exercise_1(returns_tensor)


def test_exercise_2_accepts_reference(capsys):
    model = nn.Linear(3, 2)
    lesson04.exercise_2(
        torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4), model
    )
    assert "correct" in capsys.readouterr().out


def test_exercise_2_rejects_missing_momentum():
    model = nn.Linear(3, 2)
    with pytest.raises(ExerciseError, match="momentum is 0, expected 0.9"):
        lesson04.exercise_2(torch.optim.SGD(model.parameters(), lr=0.05, weight_decay=1e-4), model)


def test_exercise_2_rejects_adam():
    model = nn.Linear(3, 2)
    with pytest.raises(ExerciseError, match="is a Adam, expected torch.optim.SGD"):
        lesson04.exercise_2(torch.optim.Adam(model.parameters(), lr=0.05), model)


def test_exercise_2_rejects_another_models_parameters():
    model = nn.Linear(3, 2)
    other = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(other.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    with pytest.raises(ExerciseError, match=r"does not update these parameters .*'weight', 'bias'"):
        lesson04.exercise_2(optimizer, model)


def record_lrs(read_after_step: bool) -> list[float]:
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.1)
    lrs = []
    for _ in range(10):
        if not read_after_step:
            lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
        if read_after_step:
            lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


def test_exercise_3_accepts_reference(capsys):
    lesson04.exercise_3(record_lrs(read_after_step=False))
    assert "correct" in capsys.readouterr().out


def test_exercise_3_rejects_one_epoch_ahead():
    with pytest.raises(ExerciseError, match="one epoch ahead"):
        lesson04.exercise_3(record_lrs(read_after_step=True))


def test_exercise_3_rejects_wrong_length():
    with pytest.raises(ExerciseError, match="has 9 values, expected one per epoch"):
        lesson04.exercise_3(record_lrs(read_after_step=False)[:9])


@pytest.fixture(scope="module")
def blobs():
    """Three well separated Gaussian blobs in 20 dimensions: an easy, fast problem."""
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 20, generator=generator) * 3
    labels = torch.randint(0, 3, (600,), generator=generator)
    return centres[labels] + torch.randn(600, 20, generator=generator), labels


def test_exercise_4_accepts_the_best_rate(blobs, capsys):
    features, labels = blobs
    scores = {
        lr: sum(widgets.lr_loss_curve(features, labels, lr, "SGD", 100)[-50:])
        for lr in (0.001, 0.01, 0.1, 1.0)
    }
    best = min(scores, key=scores.get)
    lesson04.exercise_4(best, features, labels, 100)
    assert f"best learning rate is {best}" in capsys.readouterr().out


def test_exercise_4_rejects_the_smallest_rate(blobs):
    features, labels = blobs
    with pytest.raises(ExerciseError, match="best_lr is 0.001, but lr="):
        lesson04.exercise_4(0.001, features, labels, 100)


def test_exercise_4_rejects_a_rate_not_offered(blobs):
    features, labels = blobs
    with pytest.raises(ExerciseError, match="should be one of"):
        lesson04.exercise_4(0.05, features, labels, 100)


def test_lr_loss_curve_learns_and_is_reproducible(blobs):
    features, labels = blobs
    first = widgets.lr_loss_curve(features, labels, 0.1, "SGD", steps=60)
    again = widgets.lr_loss_curve(features, labels, 0.1, "SGD", steps=60)
    assert len(first) == 60 and first == again
    assert sum(first[-10:]) / 10 < 0.5 * sum(first[:10]) / 10


@pytest.mark.parametrize("name", widgets.OPTIMIZERS)
def test_every_optimizer_trains(blobs, name):
    features, labels = blobs
    losses = widgets.lr_loss_curve(
        features, labels, 0.01 if name == "Adam" else 0.05, name, steps=60
    )
    assert sum(losses[-10:]) < sum(losses[:10])


def test_lr_loss_curve_stops_when_the_loss_blows_up(blobs):
    features, labels = blobs
    losses = widgets.lr_loss_curve(features * 1000, labels, 1e4, "SGD", steps=200)
    assert losses[-1] == math.inf and len(losses) < 200


def test_lr_loss_curve_restores_the_thread_count(blobs):
    features, labels = blobs
    threads = torch.get_num_threads()
    widgets.lr_loss_curve(features, labels, 0.1, "SGD", steps=5)
    assert torch.get_num_threads() == threads


def test_lr_loss_curve_explains_bad_input(blobs):
    features, labels = blobs
    with pytest.raises(ValueError, match=r"float N x D tensor.*flatten"):
        widgets.lr_loss_curve(torch.zeros(10, 1, 28, 28), labels[:10], 0.1)
    with pytest.raises(ValueError, match="unknown optimizer 'RMSprop'"):
        widgets.lr_loss_curve(features, labels, 0.1, "RMSprop", steps=1)
    with pytest.raises(ValueError, match="need lr > 0"):
        widgets.lr_loss_curve(features, labels, 0.0)


def test_callback_sees_the_curve_grow(blobs):
    features, labels = blobs
    seen = []
    widgets.lr_loss_curve(
        features, labels, 0.1, steps=50, callback=lambda losses: seen.append(len(losses)), every=20
    )
    assert seen == [20, 40, 50]


def test_draw_and_explorer_build_without_a_browser(blobs):
    features, labels = blobs
    fig = widgets.draw_lr_curves({"ok": [2.0, 1.0, 0.5], "bad": [2.0, 5.0, math.inf]})
    assert "diverged at step 3" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()][1]
    box = widgets.lr_explorer(features, labels, steps=20)
    slider, menu = box.children[0].children
    menu.value = "Adam"  # triggers a new run, as a click in the browser would
    slider.value = 0.01
    assert menu.options == widgets.OPTIMIZERS
