"""The checks of lesson 03 accept the reference answers and explain typical mistakes."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks import ExerciseError, lesson03

X = torch.tensor([[0.1, 0.2, 0.3]])
Y = torch.tensor([1])


def reference_cross_entropy(logits, targets):
    correct = logits.gather(1, targets.unsqueeze(1)).squeeze(1)
    return (torch.logsumexp(logits, dim=1) - correct).mean()


def test_exercise_1_accepts_reference(capsys):
    lesson03.exercise_1(reference_cross_entropy)
    assert "correct" in capsys.readouterr().out


def test_exercise_1_accepts_indexing_with_arange(capsys):
    def by_indexing(logits, targets):
        return (logits.logsumexp(1) - logits[torch.arange(len(targets)), targets]).mean()

    lesson03.exercise_1(by_indexing)
    assert "correct" in capsys.readouterr().out


def test_exercise_1_rejects_the_naive_exp_that_overflows():
    def naive(logits, targets):
        p = torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True)
        return -torch.log(p[torch.arange(len(targets)), targets]).mean()

    with pytest.raises(ExerciseError, match="logits around 1000.*overflowed"):
        lesson03.exercise_1(naive)


def test_exercise_1_rejects_calling_f_cross_entropy():
    with pytest.raises(ExerciseError, match="calls F.cross_entropy"):
        lesson03.exercise_1(lambda logits, targets: F.cross_entropy(logits, targets))


def test_exercise_1_rejects_calling_cross_entropy_loss():
    with pytest.raises(ExerciseError, match="calls F.cross_entropy"):
        lesson03.exercise_1(lambda logits, targets: nn.CrossEntropyLoss()(logits, targets))


@pytest.mark.parametrize(
    "log_softmax",
    [
        lambda z: F.log_softmax(z, dim=1),
        lambda z: torch.log_softmax(z, dim=1),
        lambda z: z.log_softmax(1),
    ],
    ids=["F.log_softmax", "torch.log_softmax", "Tensor.log_softmax"],
)
def test_exercise_1_rejects_log_softmax(log_softmax):
    def with_log_softmax(logits, targets):
        return -log_softmax(logits)[torch.arange(len(targets)), targets].mean()

    with pytest.raises(ExerciseError, match="log_softmax"):
        lesson03.exercise_1(with_log_softmax)
    # the patched functions are restored afterwards
    assert torch.allclose(F.log_softmax(X, dim=1), X - torch.logsumexp(X, 1, keepdim=True))


def test_exercise_1_rejects_the_sum_over_the_batch():
    def summed(logits, targets):
        return (logits.logsumexp(1) - logits[torch.arange(len(targets)), targets]).sum()

    with pytest.raises(ExerciseError, match="the SUM over the batch"):
        lesson03.exercise_1(summed)


def test_exercise_1_rejects_one_loss_per_sample():
    def per_sample(logits, targets):
        return logits.logsumexp(1) - logits[torch.arange(len(targets)), targets]

    with pytest.raises(ExerciseError, match="one loss per sample"):
        lesson03.exercise_1(per_sample)


def test_exercise_1_rejects_a_negative_loss():
    def negative(logits, targets):
        return -reference_cross_entropy(logits, targets)

    with pytest.raises(ExerciseError, match="negative"):
        lesson03.exercise_1(negative)


def test_exercise_1_rejects_the_wrong_class():
    def first_class(logits, targets):
        return (logits.logsumexp(1) - logits[:, 0]).mean()

    with pytest.raises(ExerciseError, match="but F.cross_entropy gives"):
        lesson03.exercise_1(first_class)


def test_exercise_1_rejects_a_number_instead_of_a_function():
    with pytest.raises(ExerciseError, match="should be a function"):
        lesson03.exercise_1(F.cross_entropy(X, Y))


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


def test_exercise_3_rejects_bceloss_on_a_sigmoid_when_a_logit_saturates():
    logits = torch.tensor([2.2, -1.3, 0.4, 5.0, -3.1, -150.0])
    targets = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    lesson03.exercise_3(nn.BCEWithLogitsLoss()(logits, targets), logits, targets)
    with pytest.raises(ExerciseError, match="BCELoss clamps log\\(0\\) at -100"):
        lesson03.exercise_3(nn.BCELoss()(torch.sigmoid(logits), targets), logits, targets)


def test_exercise_3_rejects_mse():
    logits, targets = _logits_targets()
    with pytest.raises(ExerciseError, match="expected"):
        lesson03.exercise_3(nn.MSELoss()(torch.sigmoid(logits), targets), logits, targets)


def _p_q_logits():
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 5, generator=g).softmax(1), torch.randn(4, 5, generator=g)


def test_exercise_4_accepts_reference(capsys):
    p, q_logits = _p_q_logits()
    lesson03.exercise_4(
        nn.KLDivLoss(reduction="batchmean")(F.log_softmax(q_logits, 1), p), p, q_logits
    )
    assert "correct" in capsys.readouterr().out


def test_exercise_4_accepts_log_of_softmax(capsys):
    p, q_logits = _p_q_logits()
    lesson03.exercise_4(
        nn.KLDivLoss(reduction="batchmean")(q_logits.softmax(1).log(), p), p, q_logits
    )
    assert "correct" in capsys.readouterr().out


def test_exercise_4_rejects_raw_logits_as_input():
    p, q_logits = _p_q_logits()
    with pytest.raises(ExerciseError, match="raw logits"):
        lesson03.exercise_4(nn.KLDivLoss(reduction="batchmean")(q_logits, p), p, q_logits)


def test_exercise_4_rejects_probabilities_as_input():
    p, q_logits = _p_q_logits()
    with pytest.raises(ExerciseError, match="expects log-probabilities"):
        lesson03.exercise_4(
            nn.KLDivLoss(reduction="batchmean")(q_logits.softmax(1), p), p, q_logits
        )


def test_exercise_4_rejects_swapped_arguments():
    p, q_logits = _p_q_logits()
    with pytest.raises(ExerciseError, match="arguments are swapped"):
        lesson03.exercise_4(
            nn.KLDivLoss(reduction="batchmean")(p.log(), q_logits.softmax(1)), p, q_logits
        )


@pytest.mark.filterwarnings("ignore:reduction. .mean. divides")
def test_exercise_4_rejects_mean_reduction():
    p, q_logits = _p_q_logits()
    with pytest.raises(ExerciseError, match="batchmean"):
        lesson03.exercise_4(
            nn.KLDivLoss(reduction="mean")(F.log_softmax(q_logits, 1), p), p, q_logits
        )


def test_a_wrong_answer_is_explained_in_chinese(chinese):
    logits = torch.tensor([[2.0, -1.0], [0.5, -150.0]])
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    twice = torch.nn.BCEWithLogitsLoss()(torch.sigmoid(logits), targets)
    with pytest.raises(ExerciseError, match="sigmoid 被应用了两次") as error:
        lesson03.exercise_3(twice, logits, targets)
    assert "提示：" in str(error.value) and "不要先做 torch.sigmoid" in str(error.value)
