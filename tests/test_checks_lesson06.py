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
def labels():
    """An unbalanced label set: few cats (3), many trucks (9)."""
    counts = [100, 100, 100, 20, 100, 100, 100, 100, 100, 280]
    return torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])


def test_exercise_2_accepts_reference(capsys, labels):
    weights = len(labels) / (10 * torch.bincount(labels, minlength=10).float())
    lesson06.exercise_2(nn.CrossEntropyLoss(weight=weights.to("cpu")), labels, torch.device("cpu"))
    assert "rarest class weighs 14.0x" in capsys.readouterr().out


def test_exercise_2_accepts_any_scale(capsys, labels):
    weights = 1 / torch.bincount(labels, minlength=10).float()
    lesson06.exercise_2(nn.CrossEntropyLoss(weight=weights), labels, "cpu")
    assert "correct" in capsys.readouterr().out


def test_exercise_2_rejects_weights_growing_with_counts(labels):
    weights = torch.bincount(labels, minlength=10).float()
    with pytest.raises(ExerciseError, match="common classes weigh MORE"):
        lesson06.exercise_2(nn.CrossEntropyLoss(weight=weights), labels, "cpu")


def test_exercise_2_rejects_the_plain_loss(labels):
    with pytest.raises(ExerciseError, match="no class weights"):
        lesson06.exercise_2(nn.CrossEntropyLoss(), labels, "cpu")


def test_exercise_2_rejects_weights_left_on_another_device(labels):
    weights = 1 / torch.bincount(labels, minlength=10).float()
    with pytest.raises(ExerciseError, match="Expected all tensors to be on the same device"):
        lesson06.exercise_2(nn.CrossEntropyLoss(weight=weights), labels, torch.device("meta"))


def test_exercise_2_rejects_integer_weights(labels):
    loss_fn = nn.CrossEntropyLoss()
    loss_fn.weight = torch.bincount(labels, minlength=10)
    with pytest.raises(ExerciseError, match="float weights"):
        lesson06.exercise_2(loss_fn, labels, "cpu")


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


@pytest.fixture()
def factorial():
    return {
        (False, False): [0.20, 0.22, 0.24],
        (True, False): [0.10, 0.10, 0.13],
        (False, True): [0.25, 0.27, 0.26],
        (True, True): [0.30, 0.33, 0.36],
    }


def effects(factorial):
    def mean(values):
        return sum(values) / len(values)

    relu = mean(factorial[(True, False)] + factorial[(True, True)]) - mean(
        factorial[(False, False)] + factorial[(False, True)]
    )
    normalize = mean(factorial[(False, True)] + factorial[(True, True)]) - mean(
        factorial[(False, False)] + factorial[(True, False)]
    )
    return relu, normalize


def test_exercise_4_accepts_reference(capsys, factorial):
    lesson06.exercise_4(*effects(factorial), factorial)
    assert "ReLU -2.0 points, normalisation +13.0 points" in capsys.readouterr().out


def test_exercise_4_accepts_tensors(capsys, factorial):
    relu, normalize = effects(factorial)
    lesson06.exercise_4(torch.tensor(relu), torch.tensor(normalize), factorial)
    assert "correct" in capsys.readouterr().out


def test_exercise_4_rejects_the_cumulative_comparison(factorial):
    # the comparison a cumulative study makes: ReLU added to the raw-input net only
    relu_alone = sum(factorial[(True, False)]) / 3 - sum(factorial[(False, False)]) / 3
    with pytest.raises(ExerciseError, match="effect with normalize=False only"):
        lesson06.exercise_4(relu_alone, effects(factorial)[1], factorial)


def test_exercise_4_rejects_swapped_effects(factorial):
    relu, normalize = effects(factorial)
    with pytest.raises(ExerciseError, match="swapped"):
        lesson06.exercise_4(normalize, relu, factorial)


def test_exercise_4_rejects_percentage_points(factorial):
    relu, normalize = effects(factorial)
    with pytest.raises(ExerciseError, match="percentage points"):
        lesson06.exercise_4(relu, 100 * normalize, factorial)


def test_exercise_4_rejects_the_wrong_sign(factorial):
    relu, normalize = effects(factorial)
    with pytest.raises(ExerciseError, match="wrong sign"):
        lesson06.exercise_4(-relu, normalize, factorial)


def test_exercise_1_speaks_chinese_when_asked(chinese):
    with pytest.raises(ExerciseError, match="linear1 之后没有") as caught:
        lesson06.exercise_1(ConvReLUOnly())
    assert "提示：" in str(caught.value)  # the hint is Chinese too
