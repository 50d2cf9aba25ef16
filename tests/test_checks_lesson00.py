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


def _raw():
    return torch.randint(
        0, 256, (8, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )


def test_exercise_2_accepts_reference(capsys):
    raw = _raw()
    lesson00.exercise_2(raw.flatten(1).float() / 255, raw)
    assert "correct" in capsys.readouterr().out


def test_exercise_2_rejects_flattening_the_batch():
    raw = _raw()
    with pytest.raises(ExerciseError, match=r"merged into one long vector, expected \(8, 784\)"):
        lesson00.exercise_2(torch.flatten(raw).float() / 255, raw)


def test_exercise_2_rejects_a_transposed_view():
    raw = _raw()
    with pytest.raises(ExerciseError, match=r"shape \(784, 8\), expected \(8, 784\)"):
        lesson00.exercise_2(raw.flatten(1).T.float() / 255, raw)


def test_exercise_2_rejects_uint8():
    raw = _raw()
    with pytest.raises(ExerciseError, match="dtype torch.uint8: still whole numbers"):
        lesson00.exercise_2(raw.flatten(1), raw)


def test_exercise_2_rejects_unscaled_floats():
    raw = _raw()
    with pytest.raises(ExerciseError, match="not scaled to 0-1"):
        lesson00.exercise_2(raw.flatten(1).float(), raw)


def test_exercise_2_rejects_float64():
    raw = _raw()
    with pytest.raises(ExerciseError, match="float64, expected torch.float32"):
        lesson00.exercise_2(raw.flatten(1).double() / 255, raw)


def test_exercise_3_accepts_reference(capsys):
    raw = _raw()
    lesson00.exercise_3(torch.ge(raw, 128).float().mean(dim=(1, 2)), raw)
    assert "correct" in capsys.readouterr().out


def test_exercise_3_rejects_a_mean_over_the_whole_batch():
    raw = _raw()
    with pytest.raises(ExerciseError, match="averaged over the whole batch, expected 8 numbers"):
        lesson00.exercise_3(torch.ge(raw, 128).float().mean(), raw)


def test_exercise_3_rejects_a_mean_over_one_dimension():
    raw = _raw()
    with pytest.raises(ExerciseError, match="over one dimension only"):
        lesson00.exercise_3(torch.ge(raw, 128).float().mean(dim=1), raw)


def test_exercise_3_rejects_counts():
    raw = _raw()
    with pytest.raises(ExerciseError, match="number of bright pixels"):
        lesson00.exercise_3(torch.ge(raw, 128).float().sum(dim=(1, 2)), raw)


def test_exercise_3_rejects_a_strict_comparison():
    raw = _raw()
    with pytest.raises(ExerciseError, match="128 itself should count"):
        lesson00.exercise_3(torch.gt(raw, 128).float().mean(dim=(1, 2)), raw)


def test_exercise_3_rejects_an_integer_mask():
    raw = _raw()
    with pytest.raises(ExerciseError, match="float dtype"):
        lesson00.exercise_3(torch.ge(raw, 128).sum(dim=(1, 2)) // 784, raw)


def _scores():
    g = torch.Generator().manual_seed(1)
    return torch.randn(8, 10, generator=g), torch.randint(0, 10, (8,), generator=g)


def _top3(logits, labels):
    return (logits.topk(3, dim=1).indices == labels.unsqueeze(1)).any(dim=1).float().mean()


def test_exercise_4_fixture_tells_the_usual_slips_apart():
    logits, labels = _scores()
    top1 = (logits.argmax(1) == labels).float().mean()
    assert _top3(logits, labels) != top1 and 0 < _top3(logits, labels) < 1


def test_exercise_4_accepts_reference(capsys):
    logits, labels = _scores()
    lesson00.exercise_4(_top3(logits, labels).item(), logits, labels)
    assert "correct" in capsys.readouterr().out


def test_exercise_4_accepts_a_one_element_tensor(capsys):
    logits, labels = _scores()
    lesson00.exercise_4(_top3(logits, labels), logits, labels)
    assert "correct" in capsys.readouterr().out


def test_exercise_4_rejects_top1_accuracy():
    logits, labels = _scores()
    top1 = (logits.argmax(1) == labels).float().mean().item()
    with pytest.raises(ExerciseError, match="top-1"):
        lesson00.exercise_4(top1, logits, labels)


def test_exercise_4_rejects_a_count():
    logits, labels = _scores()
    count = (logits.topk(3, dim=1).indices == labels.unsqueeze(1)).any(dim=1).sum().item()
    with pytest.raises(ExerciseError, match="number of hits"):
        lesson00.exercise_4(count, logits, labels)


def test_exercise_4_rejects_a_percentage():
    logits, labels = _scores()
    with pytest.raises(ExerciseError, match="percentage"):
        lesson00.exercise_4(100 * _top3(logits, labels).item(), logits, labels)


def test_exercise_4_rejects_per_sample_hits():
    logits, labels = _scores()
    hits = (logits.topk(3, dim=1).indices == labels.unsqueeze(1)).any(dim=1).float()
    with pytest.raises(ExerciseError, match=r"shape \(8,\); expected a single number"):
        lesson00.exercise_4(hits, logits, labels)


def test_a_wrong_answer_is_explained_in_chinese(chinese):
    with pytest.raises(ExerciseError, match="应为 torch.float32") as error:
        lesson00.exercise_1(torch.arange(12, dtype=torch.float64).reshape(3, 4))
    assert "提示：" in str(error.value) and "排成 3 行" in str(error.value)
