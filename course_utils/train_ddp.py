"""Train the lesson-05 ConvNet on MNIST with DistributedDataParallel (lesson 08).

Part of the package, so it runs wherever course_utils is installed (Colab included), no clone:

    python -m course_utils.train_ddp                                      # one process
    torchrun --standalone --nproc_per_node=4 -m course_utils.train_ddp    # 4 GPUs (or 4 CPU processes)
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_id=mnist --rdzv_backend=c10d \\
        --rdzv_endpoint=HOST:29500 -m course_utils.train_ddp              # the same on both machines
    torchrun --nnodes=2 --nproc_per_node=8 --node_rank=0 --master_addr=HOST \\
        --master_port=29500 -m course_utils.train_ddp      # static: --node_rank=1 on the other one

The backend is chosen automatically: NCCL when there are CUDA GPUs (one process per GPU), gloo on
the CPU. `--batch-size` is per process, so the effective batch size is batch size x processes.
Only rank 0 prints, shows progress bars, writes TensorBoard logs and the checkpoint; `--resume`
continues from that checkpoint. The data must already be in the data directory (no download).
If one rank fails, it leaves the process group at once and torchrun stops the others.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
from torch import nn

import course_utils as cu
from course_utils import distributed as cud
from course_utils.data import (
    MNIST_MEAN,
    MNIST_STD,
    DatasetError,
    as_uint8_tensors,
    load_mnist,
    subset,
)


def build_parser() -> argparse.ArgumentParser:
    """The script's command-line options (lesson 08's exercise 3 parses answers with it too)."""
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.train_ddp",
        description="Train HandbookConvNet on MNIST with DistributedDataParallel (lesson 08).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--epochs", type=int, default=3, help="epochs in all (with --resume: up to this many)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=64, help="samples per batch in EACH process"
    )
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    parser.add_argument(
        "--train-size", type=int, default=60_000, help="training images (a fixed random subset)"
    )
    parser.add_argument(
        "--test-size", type=int, default=10_000, help="test images (a fixed random subset)"
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=Path("checkpoints/ddp_mnist.pt"),
        help="checkpoint written by rank 0 after every epoch",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from --checkpoint if it exists"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder with MNIST/raw/ (default: $COURSE_DATA_DIR or ~/course_data)",
    )
    parser.add_argument(
        "--log-dir", type=Path, default=None, help="TensorBoard log folder (rank 0 writes)"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="use the CPU and gloo even if there are GPUs"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the shuffling")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--save-rank-state",
        type=Path,
        default=None,
        help="(for tests) each rank writes its final weights to DIR/rank<R>.pt",
    )
    parser.add_argument(
        "--snapshot-steps",
        type=int,
        nargs="+",
        default=[],
        help="with --save-rank-state: also write DIR/rank<R>_step<S>.pt after these optimizer steps",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; sizes and counts are checked here, with a message saying what is wrong."""
    parser = build_parser()
    args = parser.parse_args(argv)
    limits = {
        "epochs": (1, None),
        "batch_size": (1, None),
        "train_size": (1, 60_000),
        "test_size": (1, 10_000),
    }
    for name, (low, high) in limits.items():
        value = getattr(args, name)
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high:,}" if high else f"at least {low}"
            parser.error(f"--{name.replace('_', '-')} must be {bound}, got {value}")
    if not args.lr > 0:
        parser.error(f"--lr must be positive, got {args.lr}")
    if args.snapshot_steps and args.save_rank_state is None:
        parser.error("--snapshot-steps needs --save-rank-state DIR (where to write them)")
    return args


def fail(message: str) -> None:
    """Print `message` once (from rank 0) and exit with status 2, on every rank."""
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"train_ddp: error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def load_data(
    args: argparse.Namespace,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fixed train and test subsets as uint8 image tensors and labels, on the CPU."""
    try:
        train = load_mnist(train=True, data_dir=args.data_dir, download=False)
        test = load_mnist(train=False, data_dir=args.data_dir, download=False)
    except DatasetError as error:
        fail(
            f"{error}\nThis script does not download (several processes would race). Download "
            f'once with: python -c "import course_utils as cu; cu.data.load_mnist(True); '
            f'cu.data.load_mnist(False)", or pass --data-dir.'
        )
    x_train, y_train = as_uint8_tensors(subset(train, args.train_size, seed=args.seed))
    x_test, y_test = as_uint8_tensors(subset(test, args.test_size, seed=args.seed))
    return x_train, y_train, x_test, y_test


def check_resume(args: argparse.Namespace, context: cud.DistributedContext) -> None:
    """With --resume, make sure every rank sees the same checkpoint and say what will happen."""
    exists = args.checkpoint.is_file()
    if not cud.all_ranks_agree(exists, context.device):
        fail(
            f"{args.checkpoint} exists on some machines but not on others. Put the checkpoint "
            f"on a file system that every machine shares, or copy it to each one."
        )
    if not exists:
        cud.print0(f"No checkpoint at {args.checkpoint} yet: starting from scratch.")
        return
    try:
        saved = cu.load_checkpoint(args.checkpoint, map_location="cpu")
    except cu.CheckpointError as error:
        fail(f"{error}\nDelete it, or pass another --checkpoint, to start from scratch.")
    if saved["epoch"] >= args.epochs:
        cud.print0(
            f"{args.checkpoint} already holds {saved['epoch']} epochs; raise --epochs to train more."
        )
    old = saved.get("config", {})
    now = {**vars(args), "world_size": context.world_size}
    for key in ("batch_size", "world_size", "train_size", "lr"):
        if key in old and old[key] != now[key]:
            cud.print0(f"Note: the checkpoint was trained with {key}={old[key]}; this run differs.")


def save_at_steps(
    optimizer: torch.optim.Optimizer, model: nn.Module, steps: list[int], folder: Path, rank: int
) -> None:
    """After optimizer step s (for s in `steps`), write the weights to folder/rank<R>_step<s>.pt."""
    wanted, done = set(steps), [0]
    folder.mkdir(parents=True, exist_ok=True)

    def hook(*_: object) -> None:
        done[0] += 1
        if done[0] in wanted:
            torch.save(cu.unwrap(model).state_dict(), folder / f"rank{rank}_step{done[0]}.pt")

    optimizer.register_step_post_hook(hook)


def main(argv: list[str] | None = None) -> dict[str, list]:
    """Train under torchrun (or alone) and return the history."""
    args = parse_args(argv)
    # Read the data before joining the process group, so that an error exits every rank cleanly.
    x_train, y_train, x_test, y_test = load_data(args)
    # On success every rank waits for the others before leaving the group; on an error this rank
    # leaves at once, and torchrun ends the others (no waiting for the group's timeout).
    with cud.process_group("cpu" if args.cpu else None) as context:
        backend = context.backend or "none, a single process"
        cud.print0(
            f"world size {context.world_size} (backend: {backend}) on {context.device.type}; "
            f"effective batch size {args.batch_size * context.world_size} = "
            f"{context.world_size} x {args.batch_size}; lr {args.lr}"
        )
        # Every rank shuffles with the same seed and keeps its own share of each epoch.
        train_loader = cu.TensorLoader(
            x_train, y_train, args.batch_size, MNIST_MEAN, MNIST_STD, shuffle=True,
            device=context.device, seed=args.seed, rank=context.rank, world_size=context.world_size,
        )  # fmt: skip
        # Every rank evaluates the whole (small) test set, so each sees the same test accuracy.
        test_loader = cu.TensorLoader(
            x_test, y_test, 1000, MNIST_MEAN, MNIST_STD, device=context.device
        )
        cu.seed_everything(args.seed)  # the same initial weights on every rank
        model = cud.wrap_ddp(cu.HandbookConvNet(), context)  # DDP also broadcasts rank 0's weights
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        if args.snapshot_steps:
            save_at_steps(optimizer, model, args.snapshot_steps, args.save_rank_state, context.rank)
        if args.resume:
            check_resume(args, context)
        config = {**{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                  "world_size": context.world_size, "backend": context.backend}  # fmt: skip
        history = cu.fit(
            model, train_loader, test_loader, optimizer, args.epochs, loss_fn=nn.NLLLoss(),
            checkpoint_path=args.checkpoint, resume=args.resume, log_dir=args.log_dir,
            config=config, progress=not args.no_progress,
        )  # fmt: skip
        if args.save_rank_state is not None:
            args.save_rank_state.mkdir(parents=True, exist_ok=True)
            torch.save(
                cu.unwrap(model).state_dict(), args.save_rank_state / f"rank{context.rank}.pt"
            )
        cud.print0("epoch  train loss  train acc  test loss  test acc  seconds")
        for i in range(len(history["epoch"])):
            cud.print0(
                f"{history['epoch'][i]:5d}  {history['train_loss'][i]:10.4f}  "
                f"{history['train_accuracy'][i]:9.4f}  {history['test_loss'][i]:9.4f}  "
                f"{history['test_accuracy'][i]:8.4f}  {history['seconds'][i]:7.1f}"
            )
        cud.print0(f"checkpoint (written by rank 0): {args.checkpoint}")
        return history


if __name__ == "__main__":
    main()
