"""The checks of lesson 03 accept the reference answers and explain typical mistakes."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks import ExerciseError, lesson03

X = torch.tensor([[0.1, 0.2, 0.3]])
Y = torch.tensor([1])


def test_exercise_1_accepts_reference(capsys):
    lesson03.exercise_1(-X[0, 1] + torch.logsumexp(X[0], 0), X, Y)
    assert "correct" in capsys.readouterr().out


def test_exercise_1_accepts_a_python_float(capsys):
    lesson03.exercise_1(F.cross_entropy(X, Y).item(), X, Y)
    assert "1.1019" in capsys.readouterr().out


def test_exercise_1_rejects_a_negative_loss():
    with pytest.raises(ExerciseError, match="negative"):
        lesson03.exercise_1(X[0, 1] - torch.logsumexp(X[0], 0), X, Y)


def test_exercise_1_rejects_a_probability():
    with pytest.raises(ExerciseError, match="a probability, not a loss"):
        lesson03.exercise_1(torch.softmax(X, 1)[0, 1], X, Y)


def test_exercise_1_rejects_a_vector():
    with pytest.raises(ExerciseError, match=r"shape \(1, 3\); expected a single number"):
        lesson03.exercise_1(-torch.log_softmax(X, 1), X, Y)


def _x():
    return torch.linspace(-2, 2, 5, requires_grad=True)


def test_exercise_2_accepts_reference(capsys):
    x = _x()
    (x**3 - 2 * x).sum().backward()
    lesson03.exercise_2(x.grad, x)
    assert "correct" in capsys.readouterr().out


def test_exercise_2_rejects_none():
    x = _x()
    with pytest.raises(ExerciseError, match="grad is None"):
        lesson03.exercise_2(x.grad, x)


def test_exercise_2_rejects_accumulated_gradients():
    x = _x()
    (x**3 - 2 * x).sum().backward()
    (x**3 - 2 * x).sum().backward()
    with pytest.raises(ExerciseError, match="exactly 2 times the right gradient"):
        lesson03.exercise_2(x.grad, x)


def test_exercise_2_rejects_a_wrong_derivative():
    x = _x()
    (x**2 - 2 * x).sum().backward()
    with pytest.raises(ExerciseError, match="not the expected value"):
        lesson03.exercise_2(x.grad, x)


def _logits_targets():
    g = torch.Generator().manual_seed(0)
    return torch.randn(6, generator=g) * 3, torch.tensor([1.0, 0, 1, 1, 0, 0])


def test_exercise_3_accepts_reference(capsys):
    logits, targets = _logits_targets()
    lesson03.exercise_3(nn.BCEWithLogitsLoss()(logits, targets), logits, targets)
    assert "correct" in capsys.readouterr().out


def test_exercise_3_rejects_a_double_sigmoid():
    logits, targets = _logits_targets()
    with pytest.raises(ExerciseError, match="sigmoid was applied twice"):
        lesson03.exercise_3(nn.BCEWithLogitsLoss()(torch.sigmoid(logits), targets), logits, targets)


def test_exercise_3_rejects_mse():
    logits, targets = _logits_targets()
    with pytest.raises(ExerciseError, match="expected"):
        lesson03.exercise_3(nn.MSELoss()(torch.sigmoid(logits), targets), logits, targets)


def _p_q():
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 5, generator=g).softmax(1), torch.randn(4, 5, generator=g).softmax(1)


def test_exercise_4_accepts_reference(capsys):
    p, q = _p_q()
    lesson03.exercise_4(nn.KLDivLoss(reduction="batchmean")(q.log(), p), p, q)
    assert "correct" in capsys.readouterr().out


def test_exercise_4_rejects_probabilities_as_input():
    p, q = _p_q()
    with pytest.raises(ExerciseError, match="expects log-probabilities"):
        lesson03.exercise_4(nn.KLDivLoss(reduction="batchmean")(q, p), p, q)


def test_exercise_4_rejects_swapped_arguments():
    p, q = _p_q()
    with pytest.raises(ExerciseError, match="arguments are swapped"):
        lesson03.exercise_4(nn.KLDivLoss(reduction="batchmean")(p.log(), q), p, q)


@pytest.mark.filterwarnings("ignore:reduction. .mean. divides")
def test_exercise_4_rejects_mean_reduction():
    p, q = _p_q()
    with pytest.raises(ExerciseError, match="batchmean"):
        lesson03.exercise_4(nn.KLDivLoss(reduction="mean")(q.log(), p), p, q)
