"""The checks of lesson 08 accept the reference answers and explain typical mistakes."""

import pytest

from course_utils.checks import ExerciseError, lesson08


def test_exercise_1_accepts_reference(capsys):
    lesson08.exercise_1(1024, 0.05 * 1024 / 128)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "batch, lr, message",
    [
        (512, 0.2, "counts the GPUs of one machine only"),
        (128, 0.05, "effective_batch_size is 128, expected 1024"),
        (1024, 0.05, "lr is still 0.05"),
        (1024, 0.05 * 8**0.5, "square-root rule"),
        (1024, 0.05 * 1024, "lr is 51.2"),
    ],
)
def test_exercise_1_rejects_typical_mistakes(batch, lr, message):
    with pytest.raises(ExerciseError, match=message):
        lesson08.exercise_1(batch, lr)


def reference_indices(n, world_size, rank):
    total = -(-n // world_size) * world_size
    padded = (list(range(n)) * world_size)[:total]
    return padded[rank::world_size]


def test_exercise_2_accepts_reference(capsys):
    lesson08.exercise_2(reference_indices)
    assert "correct" in capsys.readouterr().out


def test_exercise_2_rejects_no_padding():
    with pytest.raises(ExerciseError, match="must get the same number"):
        lesson08.exercise_2(lambda n, w, r: list(range(n))[r::w])


def test_exercise_2_rejects_contiguous_blocks():
    def blocks(n, world_size, rank):
        per_rank = -(-n // world_size)
        padded = (list(range(n)) * world_size)[: per_rank * world_size]
        return padded[rank * per_rank : (rank + 1) * per_rank]

    with pytest.raises(ExerciseError, match="Ranks interleave"):
        lesson08.exercise_2(blocks)


def test_exercise_2_rejects_a_wrong_type():
    with pytest.raises(ExerciseError, match="returned a NoneType"):
        lesson08.exercise_2(lambda n, w, r: None)


@pytest.mark.parametrize(
    "command",
    [
        "torchrun --standalone --nproc_per_node=8 scripts/train_ddp.py --epochs 5",
        "torchrun --standalone --nproc-per-node 8 scripts/train_ddp.py --epochs=5",
        "python -m torch.distributed.run --standalone --nproc_per_node=8 scripts/train_ddp.py --epochs 5",
        "torchrun --nnodes=1 --nproc_per_node=8 --rdzv_backend=c10d --rdzv_endpoint=localhost:0 "
        "scripts/train_ddp.py --epochs 5",
    ],
)
def test_exercise_3_accepts_reference_forms(command, capsys):
    lesson08.exercise_3(command)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "command, message",
    [
        ("python scripts/train_ddp.py --epochs 5", "should start with torchrun"),
        ("torchrun --standalone --nnodes=8 scripts/train_ddp.py --epochs 5", "needs --nproc_per_node"),
        ("torchrun --standalone --nnodes=8 --nproc_per_node=1 scripts/train_ddp.py --epochs 5",
         "--nnodes counts machines"),
        ("torchrun --standalone scripts/train_ddp.py --nproc_per_node=8 --epochs 5", "after the script"),
        ("torchrun --standalone --nproc_per_node=4 scripts/train_ddp.py --epochs 5", "is 4"),
        ("torchrun --nproc_per_node=8 scripts/train_ddp.py --epochs 5", "add --standalone"),
        ("torchrun --standalone --nproc_per_node=8 --epochs 5", "does not name the script"),
        ("torchrun --standalone --nproc_per_node=8 scripts/train_ddp.py", "--epochs 5"),
    ],
)  # fmt: skip
def test_exercise_3_rejects_typical_mistakes(command, message):
    with pytest.raises(ExerciseError, match=message):
        lesson08.exercise_3(command)


def test_exercise_3_other_gpu_counts(capsys):
    lesson08.exercise_3(
        "torchrun --standalone --nproc_per_node=2 scripts/train_ddp.py --epochs 5", gpus=2
    )
    assert "2 processes" in capsys.readouterr().out


def test_exercise_4_accepts_reference(capsys):
    lesson08.exercise_4(lambda sd: {k.removeprefix("module."): v for k, v in sd.items()})
    assert "correct" in capsys.readouterr().out


def test_exercise_4_rejects_replace():
    with pytest.raises(ExerciseError, match="the keys are"):
        lesson08.exercise_4(lambda sd: {k.replace("module.", ""): v for k, v in sd.items()})


def test_exercise_4_rejects_cutting_every_key():
    with pytest.raises(ExerciseError, match="without the prefix should come back unchanged"):
        lesson08.exercise_4(lambda sd: {k[len("module.") :]: v for k, v in sd.items()})
