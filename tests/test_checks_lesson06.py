"""The checks of lesson 06 accept the reference answers and explain typical mistakes."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import course_utils as cu
from course_utils.checks import ExerciseError, lesson06


class ReLUNet(cu.TuduiNet):
    """The reference answer of exercise 1."""

    def forward(self, x):
        x = self.maxpool1(F.relu(self.conv1(x)))
        x = self.maxpool2(F.relu(self.conv2(x)))
        x = self.maxpool3(F.relu(self.conv3(x)))
        x = F.relu(self.linear1(self.flatten(x)))
        return self.linear2(x)


class ConvReLUOnly(cu.TuduiNet):
    """A typical slip: no ReLU after linear1."""

    def forward(self, x):
        x = self.maxpool1(F.relu(self.conv1(x)))
        x = self.maxpool2(F.relu(self.conv2(x)))
        x = self.maxpool3(F.relu(self.conv3(x)))
        return self.linear2(self.linear1(self.flatten(x)))


def test_exercise_1_accepts_reference(capsys):
    model = ReLUNet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    lesson06.exercise_1(model)
    assert "correct" in capsys.readouterr().out
    assert all(
        torch.equal(before[k], v) for k, v in model.state_dict().items()
    )  # weights untouched


def test_exercise_1_accepts_relu_after_pooling(capsys):
    class PoolThenReLU(cu.TuduiNet):
        def forward(self, x):
            x = F.relu(self.maxpool1(self.conv1(x)))
            x = F.relu(self.maxpool2(self.conv2(x)))
            x = F.relu(self.maxpool3(self.conv3(x)))
            return self.linear2(F.relu(self.linear1(self.flatten(x))))

    lesson06.exercise_1(PoolThenReLU())  # max-pool and ReLU commute
    assert "correct" in capsys.readouterr().out


def test_exercise_1_rejects_the_linear_net():
    with pytest.raises(ExerciseError, match="still linear"):
        lesson06.exercise_1(cu.TuduiNet())


def test_exercise_1_rejects_missing_linear_relu():
    with pytest.raises(ExerciseError, match="none after linear1"):
        lesson06.exercise_1(ConvReLUOnly())


def test_exercise_1_rejects_an_extra_layer():
    model = ReLUNet()
    model.extra = nn.Linear(10, 10)
    with pytest.raises(ExerciseError, match="ReLU adds none"):
        lesson06.exercise_1(model)


def test_exercise_1_rejects_a_non_module():
    with pytest.raises(ExerciseError, match="should be an nn.Module"):
        lesson06.exercise_1("ReLUNet")


@pytest.fixture()
def matrix():
    torch.manual_seed(0)
    predictions = torch.randint(0, 10, (500,))
    targets = torch.where(torch.rand(500) < 0.6, predictions, torch.randint(0, 10, (500,)))
    return cu.confusion_matrix(predictions, targets, 10)


def test_exercise_2_accepts_reference(capsys, matrix):
    lesson06.exercise_2(matrix.diagonal() / matrix.sum(1), matrix)
    assert "hardest class:" in capsys.readouterr().out


def test_exercise_2_rejects_column_sums(matrix):
    with pytest.raises(ExerciseError, match="precision"):
        lesson06.exercise_2(matrix.diagonal() / matrix.sum(0), matrix)


def test_exercise_2_rejects_integer_division(matrix):
    with pytest.raises(ExerciseError, match="integer division"):
        lesson06.exercise_2(matrix.diagonal() // matrix.sum(1), matrix)


def test_exercise_2_rejects_percent(matrix):
    with pytest.raises(ExerciseError, match="in percent"):
        lesson06.exercise_2(100 * matrix.diagonal() / matrix.sum(1), matrix)


def test_exercise_2_rejects_wrong_shape(matrix):
    with pytest.raises(ExerciseError, match=r"shape \(\), expected \(10,\)"):
        lesson06.exercise_2(matrix.diagonal().sum() / matrix.sum(), matrix)


def reference_flip(images):
    flip = torch.rand(len(images)) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(3), images)


def test_exercise_3_accepts_reference(capsys):
    state = torch.get_rng_state()
    lesson06.exercise_3(reference_flip)
    assert "mirrored" in capsys.readouterr().out
    assert torch.equal(state, torch.get_rng_state())  # the notebook's random state is kept


def test_exercise_3_rejects_vertical_flip():
    def upside_down(images):
        flip = torch.rand(len(images)) < 0.5
        return torch.where(flip[:, None, None, None], images.flip(2), images)

    with pytest.raises(ExerciseError, match="upside down"):
        lesson06.exercise_3(upside_down)


def test_exercise_3_rejects_flipping_every_image():
    with pytest.raises(ExerciseError, match="every one of the images was mirrored"):
        lesson06.exercise_3(lambda images: images.flip(3))


def test_exercise_3_rejects_one_coin_for_the_whole_batch():
    def whole_batch(images):
        return images.flip(3) if torch.rand(1).item() < 0.5 else images

    with pytest.raises(ExerciseError, match="(none|every one) of the images"):
        lesson06.exercise_3(whole_batch)


def test_exercise_3_rejects_a_fixed_pattern():
    def fixed(images):
        images = images.clone()
        images[::2] = images[::2].flip(3)
        return images

    with pytest.raises(ExerciseError, match="exactly the same images"):
        lesson06.exercise_3(fixed)


def test_exercise_3_rejects_flipping_the_batch_order():
    with pytest.raises(ExerciseError, match="neither the original nor its left-right mirror"):
        lesson06.exercise_3(lambda images: images.flip(0))
