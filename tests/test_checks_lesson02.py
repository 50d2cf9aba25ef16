"""The checks of lesson 02 accept the reference answers and explain typical mistakes."""

import pytest
import torch
from torch import nn

from course_utils.checks import ExerciseError, lesson02


def test_exercise_1_accepts_reference_and_agrees_with_conv2d(capsys):
    out = nn.Conv2d(3, 16, kernel_size=5, stride=2, padding=1)(torch.rand(1, 3, 64, 64))
    lesson02.exercise_1(tuple(out.shape[1:]))
    lesson02.exercise_1(out.shape[1:])  # a torch.Size works too
    assert capsys.readouterr().out.count("correct") == 2


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((16, 30, 30), "30 is not right, that forgets the padding"),
        ((16, 62, 62), "62 is not right, that forgets the stride"),
        ((16, 32, 32), "32 is not right, that rounds up"),
        ((3, 31, 31), "3 channels: a Conv2d outputs out_channels"),
        ((1, 16, 31, 31), r"has 4 numbers; give the shape of one image: \(C, H, W\)"),
        ((31, 31), "should have three numbers"),
        (31, "should be three numbers"),
    ],
)
def test_exercise_1_rejects_typical_mistakes(answer, message):
    with pytest.raises(ExerciseError, match=message):
        lesson02.exercise_1(answer)


def test_exercise_2_accepts_reference(capsys):
    lesson02.exercise_2(nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10)))
    assert "correct" in capsys.readouterr().out


class FlattenEverything(nn.Module):
    """The Tudui tutorial's mistake: torch.flatten(imgs) and Linear(196608, 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear1 = nn.Linear(196608, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear1(torch.flatten(x))


def test_exercise_2_rejects_flattening_the_whole_batch():
    with pytest.raises(
        ExerciseError, match=r"shape \(10,\): one row of scores for the whole batch"
    ):
        lesson02.exercise_2(FlattenEverything())


def test_exercise_2_explains_a_shape_error():
    with pytest.raises(
        ExerciseError, match=r"fails on a batch of shape \(64, 3, 32, 32\): mat1 and mat2"
    ):
        lesson02.exercise_2(nn.Sequential(nn.Flatten(), nn.Linear(1024, 10)))


def test_exercise_2_rejects_wrong_number_of_classes():
    with pytest.raises(ExerciseError, match=r"shape \(64, 5\), expected \(64, 10\)"):
        lesson02.exercise_2(nn.Sequential(nn.Flatten(), nn.Linear(3072, 5)))


def small_net(in_features: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(in_features, 10),
    )  # fmt: skip


def test_exercise_3_accepts_reference(capsys):
    lesson02.exercise_3(small_net(16 * 7 * 7))
    assert "784 features into the Linear layer): correct" in capsys.readouterr().out


def test_exercise_3_says_which_in_features_is_needed():
    with pytest.raises(
        ExerciseError, match="in_features=3136, but the layers before it produce 784"
    ):
        lesson02.exercise_3(small_net(16 * 14 * 14))


def test_exercise_3_rejects_a_plain_module():
    with pytest.raises(ExerciseError, match="should be an nn.Sequential, got Linear"):
        lesson02.exercise_3(nn.Linear(784, 10))


def test_exercise_3_rejects_a_net_without_convolutions():
    with pytest.raises(ExerciseError, match="no Conv2d layer"):
        lesson02.exercise_3(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)))


def test_exercise_4_accepts_reference_and_matches_pytorch(capsys):
    lesson02.exercise_4(sum(p.numel() for p in nn.Conv2d(3, 32, 5).parameters()))
    assert "2432 parameters" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "message"),
    [(2400, "counts only the weights"), (75, "size of one kernel"), (1000, "not the number")],
)
def test_exercise_4_rejects_typical_mistakes(answer, message):
    with pytest.raises(ExerciseError, match=message):
        lesson02.exercise_4(answer)
