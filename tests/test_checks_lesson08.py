"""The checks of lesson 08 accept the reference answers and explain typical mistakes."""

import re

import pytest
import torch

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


M = "-m course_utils.train_ddp"


@pytest.mark.parametrize(
    "command",
    [
        f"torchrun --standalone --nproc_per_node=8 {M} --epochs 5",
        # previously rejected: no --standalone (torchrun's default static rendezvous on localhost)
        f"torchrun --nproc_per_node=8 {M} --epochs 5",
        # previously rejected: the script's options in another order
        f"torchrun --standalone --nproc_per_node=8 {M} --cpu --epochs 5",
        f"torchrun --standalone --nproc-per-node 8 {M} --epochs=5",
        "torchrun --nproc_per_node 8 --standalone --module course_utils.train_ddp --lr 0.001 "
        "--epochs 5",
        f"python -m torch.distributed.run --standalone --nproc_per_node=8 {M} --epochs 5",
        f"/usr/bin/python3 -m torch.distributed.run --nproc_per_node=8 {M} --epochs 5 --batch-size 64",
        f"torchrun --nnodes=1 --nproc_per_node=8 --rdzv_backend=c10d --rdzv_endpoint=localhost:0 "
        f"{M} --epochs 5",
        f"torchrun --nnodes=1:1 --standalone --nproc_per_node=gpu {M} --epochs 5",
        "torchrun --standalone --nproc_per_node=8 course_utils/train_ddp.py --epochs 5",
    ],
)
def test_exercise_3_accepts_every_working_command(command, capsys):
    lesson08.exercise_3(command)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "command, message",
    [
        ("python -m course_utils.train_ddp --epochs 5", "python alone starts one process"),
        (f"torchrun --standalone {M} --epochs 5", "would start 1 process"),
        (f"torchrun --standalone --nnodes=8 {M} --epochs 5", "--nnodes counts machines"),
        (f"torchrun --standalone --nnodes=8 --nproc_per_node=1 {M} --epochs 5", "counts machines"),
        (f"torchrun --standalone {M} --nproc_per_node=8 --epochs 5", "goes to the script"),
        (f"torchrun --standalone --nproc_per_node=4 {M} --epochs 5", "would start 4 process"),
        (f"torchrun --nnodes=2 --nproc_per_node=8 {M} --epochs 5", "wait for other machines"),
        (f"torchrun --nproc_per_node=8 --node_rank=1 {M} --epochs 5", "the only machine is number 0"),
        (f"torchrun --standalone --nproc_per_node=8 {M}", "train for 3 epochs, not 5"),
        (f"torchrun --standalone --nproc_per_node=8 {M} --epochs 5 --batch-size 512",
         "8 x 512 = 4096, not 512"),
        (f"torchrun --standalone --nproc_per_node=8 {M} --epochs 5 --gpus 8",
         "unrecognized arguments: --gpus 8"),
        ("torchrun --standalone --nproc_per_node=8 scripts/train_ddp.py --epochs 5",
         "in the package now"),
        ("torchrun --standalone --nproc_per_node=8 course_utils.train_ddp --epochs 5",
         "put -m before it"),
        ("torchrun --standalone --nproc_per_node=8 -m train_ddp --epochs 5", "not the course's module"),
        ("torchrun --standalone --nproc_per_node=8", "torchrun would refuse it"),
        ("torchrun --nproc_per_node=8 -m course_utils.train_ddp --epochs 5 '", "check the quotes"),
        ("python -m torch.distributed.launch --nproc_per_node=8 -m course_utils.train_ddp "
         "--epochs 5", "deprecated"),
    ],
)  # fmt: skip
def test_exercise_3_rejects_typical_mistakes(command, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        lesson08.exercise_3(command)


def test_exercise_3_other_process_counts(capsys):
    lesson08.exercise_3(f"torchrun --nproc_per_node=2 {M} --epochs 5", processes=2, effective_batch=128)
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


def global_batch_stats(counts, means, variances):
    n = torch.as_tensor(counts, dtype=means.dtype).unsqueeze(1)
    mean = (n * means).sum(0) / n.sum()
    return mean, (n * (variances + means**2)).sum(0) / n.sum() - mean**2


def test_exercise_5_accepts_reference(capsys):
    lesson08.exercise_5(global_batch_stats)
    assert "correct" in capsys.readouterr().out


def test_exercise_5_accepts_the_other_variance_formula(capsys):
    def via_deviations(counts, means, variances):
        n = torch.tensor(counts, dtype=torch.float32)[:, None]
        mean = (n * means).sum(0) / n.sum()
        return mean, (n * (variances + (means - mean) ** 2)).sum(0) / n.sum()

    lesson08.exercise_5(via_deviations)
    assert "correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda c, m, v: (m.mean(0), v.mean(0)), "misses the spread"),
        # right only when every rank holds as many samples (the first case)
        (lambda c, m, v: (m.mean(0), v.mean(0) + m.var(0, unbiased=False)),
         "plain average of the ranks' means"),
        (lambda c, m, v: (global_batch_stats(c, m, v)[0], v.mean(0)), "misses the spread"),
        (lambda c, m, v: (global_batch_stats(c, m, v)[0],
                          global_batch_stats(c, m, v)[1] * sum(c) / (sum(c) - 1)), "unbiased"),
        (lambda c, m, v: global_batch_stats(c, m, v)[0], "should return two tensors"),
        (lambda c, m, v: (m, v), "a mean and a variance per channel"),
    ],
)  # fmt: skip
def test_exercise_5_rejects_typical_mistakes(answer, message):
    with pytest.raises(ExerciseError, match=re.escape(message)):
        lesson08.exercise_5(answer)


def test_exercise_3_accepts_the_command_the_library_writes(capsys):
    import shlex

    from course_utils import distributed as cud

    lesson08.exercise_3(shlex.join(cud.torchrun_command(["--epochs", 5], nproc_per_node=8)))
    assert "correct" in capsys.readouterr().out



def test_exercise_1_speaks_chinese(chinese, capsys):
    with pytest.raises(ExerciseError) as error:
        lesson08.exercise_1(512, 0.2)
    message = str(error.value)
    assert "512 只算了一台机器上的 GPU；一共有 2 台机器。" in message
    assert "提示：" in message and "线性缩放规则" in message
    lesson08.exercise_1(1024, 0.4)
    assert "练习 1（有效批量 1024，lr 0.4）：正确" in capsys.readouterr().out


def test_exercise_3_hint_speaks_chinese_with_its_placeholder(chinese):
    with pytest.raises(ExerciseError) as error:
        lesson08.exercise_3(f"torchrun --standalone --nproc_per_node=4 {M} --epochs 5")
    message = str(error.value)
    assert "torchrun 会在这台机器上启动 4 个进程，而不是 8 个。" in message
    assert "--nproc_per_node=8" in message
