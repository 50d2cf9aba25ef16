"""The checks of lesson 04 accept the reference answers and explain typical mistakes."""

import pytest
import torch
from torch import nn

from course_utils import lr_sweep
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


def warmup_factor(epoch: int) -> float:
    return (epoch + 1) / 4 if epoch < 4 else 0.1 ** ((epoch - 4) // 3)


def record_lrs(factor=warmup_factor, read_after_step: bool = False) -> list[float]:
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
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
    lesson04.exercise_3(record_lrs())
    assert "correct" in capsys.readouterr().out


def test_exercise_3_accepts_linear_lr_then_step_lr():
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    warm = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.25, total_iters=3)
    decay = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.1)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warm, decay], milestones=[4])
    lrs = []
    for _ in range(10):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    lesson04.exercise_3(lrs)


def test_exercise_3_rejects_one_epoch_ahead():
    with pytest.raises(ExerciseError, match="one epoch ahead"):
        lesson04.exercise_3(record_lrs(read_after_step=True))


def test_exercise_3_rejects_a_warm_up_that_starts_at_zero():
    with pytest.raises(ExerciseError, match=r"(?s)first epoch's rate is 0.*\(e \+ 1\) / 4"):
        lesson04.exercise_3(record_lrs(lambda e: e / 4 if e < 4 else 0.1 ** ((e - 4) // 3)))


def test_exercise_3_rejects_a_decay_that_starts_from_epoch_0():
    with pytest.raises(ExerciseError, match="epoch 6 uses 0.01, expected 0.1: look at the decay"):
        lesson04.exercise_3(record_lrs(lambda e: (e + 1) / 4 if e < 4 else 0.1 ** (e // 3 - 1)))


def test_exercise_3_rejects_wrong_length():
    with pytest.raises(ExerciseError, match="has 9 values, expected one per epoch"):
        lesson04.exercise_3(record_lrs()[:9])


def test_exercise_4_accepts_the_best_rate(blobs, capsys):
    features, labels = blobs
    scores = {
        lr: sum(lr_sweep.lr_loss_curve(features, labels, lr, "SGD", 100)[-50:])
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


def should_stop(val_losses, patience, min_delta=0.0):
    best, since_best = float("inf"), 0
    for loss in val_losses:
        if loss < best - min_delta:
            best, since_best = loss, 0
        else:
            since_best += 1
    return len(val_losses) > 0 and since_best >= patience


def worse_than_previous(val_losses, patience, min_delta=0.0):
    """The typical mistake: counts epochs worse than the one before, not than the best."""
    worse = 0
    for before, loss in zip(val_losses, val_losses[1:], strict=False):
        worse = 0 if loss < before - min_delta else worse + 1
    return worse >= patience


def ignores_min_delta(val_losses, patience, min_delta=0.0):
    return should_stop(val_losses, patience, 0.0)


def one_too_late(val_losses, patience, min_delta=0.0):
    return should_stop(val_losses, patience + 1, min_delta)


def test_exercise_5_accepts_reference(capsys):
    lesson04.exercise_5(should_stop)
    assert "correct" in capsys.readouterr().out


def test_exercise_5_reference_agrees_with_the_checks_own():
    for losses, patience, min_delta, _ in lesson04.STOPPING_CASES:
        assert should_stop(losses, patience, min_delta) == lesson04.reference_should_stop(
            losses, patience, min_delta
        )


def test_exercise_5_rejects_comparing_with_the_previous_epoch():
    with pytest.raises(ExerciseError, match="none beats the best"):
        lesson04.exercise_5(worse_than_previous)


def test_exercise_5_rejects_ignoring_min_delta():
    with pytest.raises(ExerciseError, match="smaller than min_delta do not count"):
        lesson04.exercise_5(ignores_min_delta)


def test_exercise_5_rejects_stopping_one_epoch_late():
    with pytest.raises(ExerciseError, match="returned False, expected True"):
        lesson04.exercise_5(one_too_late)


def test_exercise_5_explains_a_crash_on_an_empty_history():
    def crashes(val_losses, patience, min_delta=0.0):
        return len(val_losses) - 1 - val_losses.index(min(val_losses)) >= patience

    with pytest.raises(ExerciseError, match="(?s)raised ValueError.*empty list"):
        lesson04.exercise_5(crashes)


def test_a_wrong_answer_is_explained_in_chinese(chinese):
    with pytest.raises(ExerciseError) as caught:
        lesson04.exercise_5(worse_than_previous)
    message = str(caught.value)
    assert "每一轮都比前一轮好，但没有一轮好过最好的 0.5" in message
    assert "提示：遍历这些损失" in message
    with pytest.raises(ExerciseError, match="lrs 超前了一轮"):
        lesson04.exercise_3(record_lrs(read_after_step=True))
