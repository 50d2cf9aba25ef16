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
    lesson02.exercise_2(nn.Sequential(nn.Flatten(), nn.Linear(16 * 16 * 16, 10)))
    assert "correct" in capsys.readouterr().out


class FlattenEverything(nn.Module):
    """The Tudui tutorial's mistake on this shape: torch.flatten(x) and Linear(64 * 4096, 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear1 = nn.Linear(64 * 16 * 16 * 16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear1(torch.flatten(x))


def test_exercise_2_rejects_flattening_the_whole_batch():
    with pytest.raises(
        ExerciseError, match=r"shape \(10,\): one row of scores for the whole batch"
    ):
        lesson02.exercise_2(FlattenEverything())


def test_exercise_2_explains_a_shape_error():
    """in_features for CIFAR images (3072) instead of the 16 x 16 x 16 maps."""
    with pytest.raises(
        ExerciseError, match=r"fails on a batch of shape \(64, 16, 16, 16\): mat1 and mat2"
    ):
        lesson02.exercise_2(nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10)))


def test_exercise_2_rejects_wrong_number_of_classes():
    with pytest.raises(ExerciseError, match=r"shape \(64, 5\), expected \(64, 10\)"):
        lesson02.exercise_2(nn.Sequential(nn.Flatten(), nn.Linear(4096, 5)))


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


def test_exercise_3_rejects_the_previously_accepted_net_without_relu():
    """In_features matched, so this net passed before although it has no activation."""
    no_relu = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10),
    )  # fmt: skip
    with pytest.raises(ExerciseError, match="0 ReLU layer"):
        lesson02.exercise_3(no_relu)


def test_exercise_3_rejects_a_net_without_pooling_whose_in_features_matches():
    no_pool = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(16 * 28 * 28, 10),
    )  # fmt: skip
    with pytest.raises(ExerciseError, match="0 MaxPool2d layer"):
        lesson02.exercise_3(no_pool)


def test_exercise_3_rejects_layers_in_another_order_or_with_other_settings():
    swapped = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10),
    )  # fmt: skip
    with pytest.raises(ExerciseError, match="first difference is at position 1"):
        lesson02.exercise_3(swapped)
    wider = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )  # fmt: skip
    with pytest.raises(ExerciseError, match=r"should be Conv2d\(8, 16, 3, padding=1\)"):
        lesson02.exercise_3(wider)


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


# Exercise 5: MyConvNet from the blog post, and fixed versions with one bug left each.
ORIGINAL = """
import torch
import torch.nn as nn

class MyConvNet(nn.Module):
    def __init__(self):
        super(MyConvNet, self).__init__()
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=1, kernel_size=(3, 3), padding=0)
        self.conv2 = nn.Conv2d(in_channels=1, out_channels=1, kernel_size=(3, 3), padding=0)
        self.fc1 = nn.Linear(21, 1024)
        self.dropout = nn.Dropout(0.2)
        self.fc2 = nn.Linear(1024, 256)
        self.fc3 = nn.Sequential(nn.Linear(256, 2), nn.Sigmoid())

    def forward(self, x, DCGR_feature):
        shape = x.shape
        out = self.conv1(x)
        out = F.relu(out)
        out = self.conv2(out)
        out = F.relu(out)
        out = torch.reshape(out, (shape[0], 1, 21))
        out = self.fc1(out)
        out = F.relu(out)
        out = self.dropout(out)
        out = self.fc2(out)
        out = F.relu(out)
        out = self.fc3(out)
        return out
"""

FIXED = """
import torch
import torch.nn as nn
import torch.nn.functional as F

class MyConvNet(nn.Module):
    def __init__(self, outputs=2):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 1, 3)
        self.conv2 = nn.Conv2d(1, 1, 3)
        self.fc1 = nn.Linear(21, 1024)
        self.dropout = nn.Dropout(0.2)
        self.fc2 = nn.Linear(1024, 256)
        self.fc3 = nn.Linear(256, outputs)

    def forward(self, x):
        out = F.relu(self.conv2(F.relu(self.conv1(x))))
        out = out.flatten(1)
        out = self.dropout(F.relu(self.fc1(out)))
        return self.fc3(F.relu(self.fc2(out)))
"""


def build(source: str, **kwargs) -> nn.Module:
    namespace: dict = {}
    exec(source, namespace)  # a fresh namespace: only what the source imports is there
    return namespace["MyConvNet"](**kwargs)


def test_exercise_5_accepts_reference_and_one_logit_for_bce(capsys):
    lesson02.exercise_5(build(FIXED))
    lesson02.exercise_5(build(FIXED, outputs=1))
    assert capsys.readouterr().out.count("correct") == 2


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (ORIGINAL, r"forward takes \('x', 'DCGR_feature'\): DCGR_feature is never used"),
        (
            FIXED.replace("import torch.nn.functional as F\n", ""),
            "forward uses F, which is never imported",
        ),
        (
            FIXED.replace("out.flatten(1)", "torch.reshape(out, (out.shape[0], 1, 21))"),
            r"output has shape \(4, 1, 2\): the reshape to \(N, 1, 21\) left a dimension of size 1",
        ),
        (
            FIXED.replace(
                "nn.Linear(256, outputs)", "nn.Sequential(nn.Linear(256, outputs), nn.Sigmoid())"
            ),
            "still ends in Sigmoid",
        ),
        (
            FIXED.replace("return self.fc3(", "return torch.sigmoid(self.fc3(").replace(
                "fc2(out)))", "fc2(out))))"
            ),
            "forward applies Sigmoid to the output",
        ),
        (
            FIXED.replace("out.flatten(1)", "out.reshape(4, 21)"),
            r"fails on a batch of shape \(1, 1, 5, 25\)",
        ),
        (
            FIXED.replace("nn.Conv2d(1, 1, 3)\n", "nn.Conv2d(1, 1, 3, padding=1)\n", 1),
            "keep the original's two Conv2d",
        ),
    ],
)
def test_exercise_5_flags_each_leftover_bug(source, message):
    with pytest.raises(ExerciseError, match=message):
        lesson02.exercise_5(build(source))


def test_exercise_5_wants_an_instance_and_restores_training_mode():
    with pytest.raises(ExerciseError, match="fixed_net is a class"):
        lesson02.exercise_5(nn.Module)
    net = build(FIXED)
    lesson02.exercise_5(net)
    assert net.training


def test_exercise_2_speaks_chinese_when_asked(chinese, capsys):
    """With lang="zh" the same mistake (flattening the whole batch) is explained in Chinese."""
    with pytest.raises(ExerciseError) as caught:
        lesson02.exercise_2(FlattenEverything())
    lesson02.exercise_2(nn.Sequential(nn.Flatten(), nn.Linear(16 * 16 * 16, 10)))
    message = str(caught.value)
    assert "整个批次只有一行得分，因为展平把所有图像合在了一起" in message
    assert "提示：保留批次维度" in message
    assert "练习 2（每张图像一行 10 个得分）：正确" in capsys.readouterr().out
