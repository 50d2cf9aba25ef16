"""The checks of lesson 00 accept the reference answers and explain typical mistakes."""

import pytest
import torch

from course_utils.checks import ExerciseError, lesson00


def test_exercise_1_accepts_reference(capsys):
    lesson00.exercise_1(torch.arange(12, dtype=torch.float32).reshape(3, 4))
    assert "correct" in capsys.readouterr().out


def test_exercise_1_rejects_wrong_shape():
    with pytest.raises(ExerciseError, match=r"shape \(4, 3\), expected \(3, 4\)"):
        lesson00.exercise_1(torch.arange(12, dtype=torch.float32).reshape(4, 3))


def test_exercise_1_rejects_int64():
    with pytest.raises(ExerciseError, match="dtype torch.int64, expected torch.float32"):
        lesson00.exercise_1(torch.arange(12).reshape(3, 4))


def test_exercise_1_rejects_a_list():
    with pytest.raises(ExerciseError, match="should be a torch.Tensor, but it is a list"):
        lesson00.exercise_1([[0, 1, 2, 3]])


def test_exercise_2_accepts_reference(capsys):
    images = torch.rand(8, 1, 28, 28)
    lesson00.exercise_2(images.flatten(1), images)
    assert "correct" in capsys.readouterr().out


def test_exercise_2_rejects_flattening_the_batch():
    images = torch.rand(8, 1, 28, 28)
    with pytest.raises(ExerciseError, match=r"merged into one long vector, expected \(8, 784\)"):
        lesson00.exercise_2(torch.flatten(images), images)


def test_exercise_2_rejects_a_transposed_view():
    images = torch.rand(8, 1, 28, 28)
    with pytest.raises(ExerciseError, match=r"shape \(784, 8\), expected \(8, 784\)"):
        lesson00.exercise_2(images.flatten(1).T, images)


def test_exercise_3_accepts_reference(capsys):
    a, b, c = torch.zeros(4), torch.ones(4), torch.arange(4.0)
    lesson00.exercise_3(torch.stack([a, b, c]), a, b, c)
    assert "correct" in capsys.readouterr().out


def test_exercise_3_rejects_cat():
    a, b, c = torch.zeros(4), torch.ones(4), torch.arange(4.0)
    with pytest.raises(ExerciseError, match=r"that is torch.cat .* expected \(3, 4\)"):
        lesson00.exercise_3(torch.cat([a, b, c]), a, b, c)


def test_exercise_3_rejects_wrong_order():
    a, b, c = torch.zeros(4), torch.ones(4), torch.arange(4.0)
    with pytest.raises(ExerciseError, match="not the expected value"):
        lesson00.exercise_3(torch.stack([c, b, a]), a, b, c)


def test_exercise_4_accepts_reference(capsys):
    outputs = torch.randn(6, 10, generator=torch.Generator().manual_seed(0))
    targets = outputs.argmax(1)
    lesson00.exercise_4(outputs.argmax(1), outputs, targets)
    assert "6 of 6 predictions match the labels" in capsys.readouterr().out


def test_exercise_4_rejects_argmax_over_the_batch():
    outputs = torch.randn(6, 10, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ExerciseError, match="Did you use argmax\\(0\\)"):
        lesson00.exercise_4(outputs.argmax(0), outputs, outputs.argmax(1))


def test_exercise_4_rejects_argmin():
    outputs = torch.randn(6, 10, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ExerciseError, match="6 of 6 predictions are not the highest-scoring class"):
        lesson00.exercise_4(outputs.argmin(1), outputs, outputs.argmax(1))


def test_exercise_4_rejects_probabilities():
    outputs = torch.randn(6, 10, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ExerciseError, match=r"shape \(6, 10\), expected \(6,\)"):
        lesson00.exercise_4(outputs.softmax(1), outputs, outputs.argmax(1))
