"""DistributedDataParallel on the CPU (gloo): the helpers, the sharded TensorLoader, and
course_utils.train_ddp launched with torchrun as 2 processes on a real MNIST subset (lesson 08)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

import course_utils as cu
from course_utils import distributed as cud
from course_utils import train_ddp
from course_utils.data import MNIST_MEAN, MNIST_STD, as_uint8_tensors, subset

ROOT = Path(__file__).resolve().parents[1]
TRAIN_SIZE, TEST_SIZE, EPOCHS, PER_RANK_BATCH = 2000, 1000, 2, 32


def indexed(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n one-pixel images whose label is their index."""
    return torch.zeros(n, 1, 1, 1, dtype=torch.uint8), torch.arange(n)


def labels_seen(loader) -> list[int]:
    return torch.cat([y for _, y in loader]).tolist()


# --- the sharded TensorLoader -------------------------------------------------------------


@pytest.mark.parametrize("n, world_size", [(103, 4), (100, 4), (3, 4), (10, 3)])
def test_ranks_split_the_single_process_order_like_distributed_sampler(n, world_size):
    images, labels = indexed(n)
    whole = cu.TensorLoader(images, labels, 7, (0,), (1,), shuffle=True, seed=5)
    whole.set_epoch(2)
    order = torch.tensor(labels_seen(whole))
    shard = -(-n // world_size)
    padded = order.repeat(world_size)[: shard * world_size]
    lengths = set()
    for rank in range(world_size):
        loader = cu.TensorLoader(images, labels, 7, (0,), (1,), shuffle=True, seed=5,
                                 rank=rank, world_size=world_size)  # fmt: skip
        loader.set_epoch(2)
        assert labels_seen(loader) == padded[rank::world_size].tolist()
        assert loader.shard_size == shard
        lengths.add(len(loader))
    assert lengths == {-(-shard // 7)}  # every rank runs the same number of batches


def test_ranks_together_see_every_sample_and_a_new_order_each_epoch():
    images, labels = indexed(100)
    loaders = [cu.TensorLoader(images, labels, 8, (0,), (1,), shuffle=True, rank=r, world_size=2)
               for r in range(2)]  # fmt: skip
    epochs = []
    for _ in range(2):
        seen = [labels_seen(loader) for loader in loaders]
        assert not set(seen[0]) & set(seen[1])
        assert sorted(seen[0] + seen[1]) == list(range(100))
        epochs.append(seen[0])
    assert epochs[0] != epochs[1]


def test_ranks_draw_different_augmentations():
    images = torch.zeros(64, 1, 4, 4, dtype=torch.uint8)
    images[:, :, :, 0] = 255  # a bright left column: a flip moves it to the right
    labels = torch.arange(64)
    flips = []
    for rank in range(2):
        loader = cu.TensorLoader(images, labels, 32, (0,), (1,), augment=True, crop_padding=0,
                                 rank=rank, world_size=2)  # fmt: skip
        x, _ = next(iter(loader))
        flips.append(x[:, 0, 0, -1] > 0.5)
    assert not torch.equal(flips[0], flips[1])


def test_bad_rank_is_refused():
    images, labels = indexed(10)
    with pytest.raises(ValueError, match="0 <= rank < world_size"):
        cu.TensorLoader(images, labels, 4, (0,), (1,), rank=2, world_size=2)
    with pytest.raises(ValueError, match="0 <= rank < world_size"):
        cud.shard_tensor_loader(
            cu.TensorLoader(images, labels, 4, (0,), (1,)), rank=0, world_size=0
        )


def test_shard_tensor_loader_sets_rank_and_world_size():
    images, labels = indexed(10)
    loader = cud.shard_tensor_loader(cu.TensorLoader(images, labels, 4, (0,), (1,)), 1, 2)
    assert labels_seen(loader) == [1, 3, 5, 7, 9]
    alone = cud.shard_tensor_loader(cu.TensorLoader(images, labels, 4, (0,), (1,)))
    assert len(alone) == 3  # no process group: rank 0 of 1


# --- the helpers ----------------------------------------------------------------------------


def test_distributed_dataloader_uses_a_distributed_sampler():
    loader = cud.distributed_dataloader(list(range(10)), 2, shuffle=False, rank=1, world_size=3)
    assert isinstance(loader.sampler, DistributedSampler)
    assert torch.cat(list(loader)).tolist() == [1, 4, 7, 0]  # padded by wrapping around


def test_without_torchrun_a_single_process(monkeypatch):
    for name in cud.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    context = cud.init_distributed("cpu")
    assert (context.rank, context.world_size, context.backend) == (0, 1, None)
    assert context.is_main and not context.distributed
    model = cud.wrap_ddp(torch.nn.Linear(2, 2), context)
    assert isinstance(model, torch.nn.Linear)
    assert cud.all_ranks_agree(True) and cud.get_world_size() == 1
    cud.cleanup_distributed()  # does nothing


def test_default_backend():
    assert cud.default_backend(torch.device("cuda", 0)) == "nccl"
    assert cud.default_backend(torch.device("cpu")) == "gloo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_one_process_gloo_group(monkeypatch, capsys):
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1",
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    context = cud.init_distributed("cpu", timeout_s=60)
    try:
        assert context.backend == "gloo" and context.device.type == "cpu" and context.distributed
        model = cud.wrap_ddp(cu.HandbookConvNet(), context)
        assert isinstance(model, DistributedDataParallel)
        assert not any(k.startswith("module.") for k in cu.unwrap(model).state_dict())
        assert cud.all_ranks_agree(False)
        cud.print0("hello from rank 0")
        assert "hello from rank 0" in capsys.readouterr().out
    finally:
        cud.cleanup_distributed()
    assert not torch.distributed.is_initialized()


# --- course_utils.train_ddp under torchrun --------------------------------------------------


def subprocess_env() -> dict[str, str]:
    """This environment, one thread per process, and this checkout's course_utils importable."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}


def run_script(args: list[str], nproc: int | None, cwd: Path) -> subprocess.CompletedProcess:
    """Run the module alone (nproc None) or under torchrun with `nproc` CPU processes."""
    env = subprocess_env()
    if nproc is None:
        launcher = [sys.executable, "-m", "course_utils.train_ddp"]
    else:
        launcher = cud.torchrun_command(nproc_per_node=nproc)
    command = [*launcher, "--cpu", "--no-progress", *args]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return result


def common_args(mnist_dir: Path, epochs: int = EPOCHS) -> list[str]:
    return ["--data-dir", str(mnist_dir), "--train-size", str(TRAIN_SIZE),
            "--test-size", str(TEST_SIZE), "--epochs", str(epochs)]  # fmt: skip


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def ddp_run(mnist_dir, tmp_path_factory):
    """2 gloo processes, 2 epochs, 32 images per process per step: the run the tests inspect."""
    folder = tmp_path_factory.mktemp("ddp")
    args = common_args(mnist_dir) + ["--batch-size", str(PER_RANK_BATCH), "--checkpoint",
                                     "ddp.pt", "--save-rank-state", "ranks"]  # fmt: skip
    result = ok(run_script(args, nproc=2, cwd=folder))
    return folder, result


def test_two_ranks_end_with_identical_weights(ddp_run):
    folder, result = ddp_run
    assert "world size 2 (backend: gloo)" in result.stdout
    assert result.stdout.count("effective batch size 64") == 1  # printed by rank 0 only
    ranks = [torch.load(folder / "ranks" / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert ranks[0].keys() == ranks[1].keys()
    for key in ranks[0]:  # gradients are all-reduced, so the updates are bit for bit the same
        assert torch.equal(ranks[0][key], ranks[1][key]), key


def test_the_rank0_checkpoint_loads_into_a_plain_model(ddp_run, mnist_test):
    folder, _ = ddp_run
    model = cu.HandbookConvNet()
    checkpoint = cu.load_checkpoint(folder / "ddp.pt", model, map_location="cpu")
    assert not any(key.startswith("module.") for key in checkpoint["model"])
    assert checkpoint["epoch"] == EPOCHS and checkpoint["config"]["world_size"] == 2
    x, y = as_uint8_tensors(subset(mnist_test, TEST_SIZE, seed=0))
    accuracy = cu.evaluate(model, cu.TensorLoader(x, y, 500, MNIST_MEAN, MNIST_STD))["accuracy"]
    assert accuracy == pytest.approx(checkpoint["history"]["test_accuracy"][-1], abs=1e-9)
    assert accuracy > 0.85  # 2 epochs on 2,000 images: about 0.92


def test_two_processes_match_one_process_with_the_same_effective_batch(ddp_run, mnist_dir):
    """2 x 32 under DDP sees the same 64 images per step as 1 x 64 alone, so it trains the same
    model up to rounding (summation order). Adam amplifies rounding in tiny gradients as steps go
    on (after 282 steps, relative difference 2e-3 even within one process), so the run is short.
    Tolerances: relative weight difference 1e-3 (measured after these 63 steps: 3e-7);
    test accuracy 0.5 points, i.e. 5 of 1,000 borderline images (measured: identical)."""
    folder, _ = ddp_run
    args = common_args(mnist_dir) + ["--batch-size", str(2 * PER_RANK_BATCH), "--checkpoint",
                                     "single.pt", "--save-rank-state", "single"]  # fmt: skip
    result = ok(run_script(args, nproc=None, cwd=folder))
    assert "world size 1" in result.stdout
    single = torch.load(folder / "single" / "rank0.pt", weights_only=True)
    ddp = torch.load(folder / "ranks" / "rank0.pt", weights_only=True)
    one = torch.cat([single[k].flatten() for k in single])
    two = torch.cat([ddp[k].flatten() for k in single])
    assert ((one - two).norm() / two.norm()).item() < 1e-3
    acc_single = torch.load(folder / "single.pt", weights_only=True)["history"]["test_accuracy"][-1]
    acc_ddp = torch.load(folder / "ddp.pt", weights_only=True)["history"]["test_accuracy"][-1]
    assert abs(acc_single - acc_ddp) <= 0.005


@pytest.mark.slow  # two more torchrun launches (about 15-30 s on a 2-core CPU)
def test_resume_continues_where_the_checkpoint_stopped(ddp_run, mnist_dir):
    """1 epoch, then --resume up to 2: the same weights as 2 epochs in one go."""
    folder, _ = ddp_run
    args = ["--batch-size", str(PER_RANK_BATCH), "--checkpoint", "resumed.pt"]
    ok(run_script(common_args(mnist_dir, epochs=1) + args, nproc=2, cwd=folder))
    result = ok(run_script(common_args(mnist_dir) + args + ["--resume", "--save-rank-state",
                                                           "resumed"], nproc=2, cwd=folder))  # fmt: skip
    assert "Resumed from resumed.pt after epoch 1" in result.stdout
    resumed = torch.load(folder / "resumed" / "rank0.pt", weights_only=True)
    straight = torch.load(folder / "ranks" / "rank0.pt", weights_only=True)
    for key in straight:
        assert torch.allclose(resumed[key], straight[key], rtol=0, atol=1e-6), key
    history = torch.load(folder / "resumed.pt", weights_only=True)["history"]
    assert history["epoch"] == [1, 2]


def test_missing_data_gives_a_clear_message(tmp_path, capsys):
    args = train_ddp.parse_args(["--data-dir", str(tmp_path), "--epochs", "1"])
    with pytest.raises(SystemExit) as exit_info:
        train_ddp.load_data(args)
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    assert "MNIST is not available" in stderr and "does not download" in stderr


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--train-size", "0"], "--train-size must be between 1 and 60,000, got 0"),
        (["--test-size", "10001"], "--test-size must be between 1 and 10,000, got 10001"),
        (["--epochs", "0"], "--epochs must be at least 1, got 0"),
        (["--lr", "-1"], "--lr must be positive, got -1.0"),
    ],
)
def test_bad_arguments_give_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_ddp.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_corrupt_checkpoint_gives_a_clear_message(tmp_path, capsys):
    (tmp_path / "bad.pt").write_text("not a checkpoint")
    args = train_ddp.parse_args(["--checkpoint", str(tmp_path / "bad.pt"), "--resume"])
    context = cud.init_distributed("cpu")  # no torchrun: a single process
    with pytest.raises(SystemExit):
        train_ddp.check_resume(args, context)
    assert "is not a readable checkpoint" in capsys.readouterr().err


def test_snapshot_steps_need_a_folder(capsys):
    with pytest.raises(SystemExit):
        train_ddp.parse_args(["--snapshot-steps", "1", "10"])
    assert "--snapshot-steps needs --save-rank-state" in capsys.readouterr().err


def test_torchrun_command_runs_the_packaged_module():
    command = cud.torchrun_command(["--epochs", 1], nproc_per_node=4)
    assert command == [sys.executable, "-m", "torch.distributed.run", "--standalone",
                       "--nproc_per_node=4", "-m", "course_utils.train_ddp", "--epochs", "1"]  # fmt: skip
    with pytest.raises(ValueError, match="at least 1"):
        cud.torchrun_command(nproc_per_node=0)


FAILING_RANK = """
import torch
import torch.distributed as dist
from course_utils import distributed as cud

with cud.process_group("cpu") as context:  # the default timeout: 300 s
    if context.rank == 1:
        raise RuntimeError("rank 1 fails on purpose")
    dist.all_reduce(torch.ones(1))  # rank 0 waits here for a rank that never comes
"""


def test_a_failing_rank_ends_the_run_promptly(tmp_path):
    """One rank raises: the run must end with an error in seconds, not after the 300 s timeout
    (a barrier on the error path would wait for rank 0, which waits in its all-reduce)."""
    program = tmp_path / "fails.py"
    program.write_text(FAILING_RANK)
    command = cud.torchrun_command(nproc_per_node=2)
    command = [*command[: command.index("-m", 3)], str(program)]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=tmp_path, env=subprocess_env(), capture_output=True,
                            text=True, timeout=240)  # fmt: skip
    seconds = time.perf_counter() - start
    assert result.returncode != 0
    assert "rank 1 fails on purpose" in result.stdout + result.stderr
    assert seconds < 90, f"the run took {seconds:.0f} s to end after a rank failed"


def test_process_group_leaves_without_a_barrier_on_error(monkeypatch):
    calls = []
    monkeypatch.setattr(cud, "init_distributed", lambda *a: "context")
    monkeypatch.setattr(cud, "cleanup_distributed", lambda wait=True: calls.append(wait))
    with pytest.raises(RuntimeError, match="inside"):
        with cud.process_group():
            raise RuntimeError("inside")
    with cud.process_group() as context:
        assert context == "context"
    assert calls == [False, True]


def test_rank_helpers_without_a_process_group():
    assert not cud.is_distributed()
    assert (cud.get_rank(), cud.get_world_size(), cud.is_main_process()) == (0, 1, True)
