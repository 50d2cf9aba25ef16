"""The checks of lesson 05 accept the reference answers and explain typical mistakes."""

import pytest
import torch

from course_utils.checks import ExerciseError, lesson05


@pytest.fixture
def matrix():
    """A confusion matrix whose most common mistake is a true 4 read as 9 (row 4, column 9)."""
    m = torch.diag(torch.arange(90, 100))
    m[4, 9] = 7
    m[9, 4] = 3
    m[3, 5] = 2
    return m


def test_exercise_1_accepts_reference(capsys):
    n = (10 * 1 * 5 * 5 + 10) + (20 * 10 * 3 * 3 + 20) + (500 * 2000 + 500) + (10 * 500 + 10)
    lesson05.exercise_1(n)
    assert "1,007,590 parameters" in capsys.readouterr().out


def test_exercise_1_rejects_forgotten_biases():
    weights = 10 * 25 + 20 * 10 * 9 + 500 * 2000 + 10 * 500
    with pytest.raises(ExerciseError, match="counts the weights but not the biases"):
        lesson05.exercise_1(weights)


def test_exercise_1_rejects_a_missing_layer():
    with pytest.raises(ExerciseError, match="leaves out the 5,010 parameters of fc2"):
        lesson05.exercise_1(1_007_590 - 5_010)


def test_exercise_1_rejects_a_float_and_a_wrong_number():
    with pytest.raises(ExerciseError, match="should be a whole number"):
        lesson05.exercise_1(1.0e6)
    with pytest.raises(ExerciseError, match=r"off by \+10"):
        lesson05.exercise_1(1_007_600)


def test_exercise_2_accepts_reference(matrix, capsys):
    lesson05.exercise_2(matrix.diagonal().float() / matrix.sum(1).float(), matrix)
    assert "hardest digit is 4" in capsys.readouterr().out


def test_exercise_2_rejects_column_totals(matrix):
    with pytest.raises(ExerciseError, match="divided by the column totals"):
        lesson05.exercise_2(matrix.diagonal().float() / matrix.sum(0).float(), matrix)


def test_exercise_2_rejects_percentages_and_wrong_shapes(matrix):
    with pytest.raises(ExerciseError, match="percentages"):
        lesson05.exercise_2(100 * matrix.diagonal().float() / matrix.sum(1).float(), matrix)
    with pytest.raises(ExerciseError, match=r"shape \(\), expected \(10,\)"):
        lesson05.exercise_2(matrix.diagonal().sum() / matrix.sum(), matrix)


def test_exercise_3_accepts_reference(matrix, capsys):
    errors = matrix.clone()
    errors.fill_diagonal_(0)
    lesson05.exercise_3(divmod(int(errors.argmax()), 10), matrix)
    assert "4 read as 9, 7 times" in capsys.readouterr().out


def test_exercise_3_rejects_the_diagonal(matrix):
    with pytest.raises(ExerciseError, match=r"\(9, 9\) is on the diagonal"):
        lesson05.exercise_3(divmod(int(matrix.argmax()), 10), matrix)


def test_exercise_3_rejects_the_pair_reversed(matrix):
    with pytest.raises(ExerciseError, match="wrong way round"):
        lesson05.exercise_3((9, 4), matrix)


def test_exercise_3_rejects_a_rarer_mistake(matrix):
    with pytest.raises(ExerciseError, match="happens 2 times, but another mistake happens 7 times"):
        lesson05.exercise_3((3, 5), matrix)


def test_exercise_4_accepts_reference(capsys):
    lesson05.exercise_4(20 * 12 * 12)
    assert "2,880 inputs: 20 x 12 x 12" in capsys.readouterr().out


def test_exercise_4_rejects_the_28_pixel_answer():
    with pytest.raises(ExerciseError, match="2,000 is right for 28 x 28 images"):
        lesson05.exercise_4(2000)


def test_exercise_4_rejects_a_shape_trace_without_pooling():
    with pytest.raises(ExerciseError, match="not the size of conv2's output"):
        lesson05.exercise_4(20 * 26 * 26)



def test_exercise_3_speaks_chinese_when_asked(matrix, chinese, capsys):
    with pytest.raises(ExerciseError) as error:
        lesson05.exercise_3((9, 4), matrix)
    message = str(error.value)
    assert "(9, 4) 顺序反了：行是真实数字，列是预测数字，所以这个错误应写成 (4, 9)。" in message
    assert "提示：不要算对角线（那些是正确答案）" in message
    lesson05.exercise_3((4, 9), matrix)
    assert "练习 3（最常见的错误：4 被认成 9，共 7 次）：正确" in capsys.readouterr().out
