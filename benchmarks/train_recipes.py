#!/usr/bin/env python3
"""Train the source tutorials' recipes and the course's recipes side by side and print a table.

    python benchmarks/train_recipes.py --task all --out benchmarks/results-cpu.md
    python benchmarks/train_recipes.py --smoke          # tiny, for CI: runs in seconds

MNIST: the pytorch-handbook example's recipe (HandbookConvNet, Adam, batch 512, DataLoader, fp32) against the
course's (the same net, TensorLoader, AdamW + one-cycle schedule). Target: 99.0%.
CIFAR-10: the Tudui tutorial's recipe (TuduiNet, SGD lr 1e-2, batch 64, DataLoader, ToTensor only)
against the course's (CifarResNet, TensorLoader with flip and pad-and-crop, SGD + Nesterov with a
one-cycle schedule, label smoothing). Target: the accuracy the course's recipe reaches within
the time the Tudui recipe takes for its epochs. The course's recipes run in the precision and
memory layout that `cu.pick_precision` chooses on the machine that runs them (printed, and in
each recipe's name): bf16 only where the hardware computes it natively.
Every epoch's time includes the evaluation on the test set. Lessons 05 and 06 quote the results.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms

import course_utils as cu
from course_utils import data

MNIST_TARGET = 0.99
CIFAR_AIM = 0.85
# Default epochs per recipe (the handbook trains for 20; it reaches 99% long before that).
DEFAULT_EPOCHS = {"handbook": 8, "course_mnist": 1, "tudui": 10, "course_cifar": 15}
SMOKE_TRAIN, SMOKE_TEST = 512, 256
CPU_NOTE = (
    "s/epoch: wall-clock seconds per epoch, test included. CPU s/epoch: processor seconds that "
    "the benchmark's process used per epoch, all threads together (on an idle machine with n "
    "busy threads, wall time is about CPU time / n). On a machine shared with other jobs the "
    "CPU time is the steadier measure of the work a recipe does."
)


def machine_report(device: torch.device) -> dict[str, str]:
    """The course's environment report, plus the CPU model, its cores and the load at start."""
    report = {"cpu": platform.processor() or "unknown", "cpu cores": str(os.cpu_count())}
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                  if line.startswith("model name")]  # fmt: skip
        report["cpu"] = models[0] if models else report["cpu"]
    report.update(cu.environment_report(device))
    if hasattr(os, "getloadavg"):
        report["load average at start"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    if os.environ.get("OMP_WAIT_POLICY"):
        report["OMP_WAIT_POLICY"] = os.environ["OMP_WAIT_POLICY"]
    return report


def _subset(dataset, size: int | None):
    """`cu.data.subset` (seed 0), or the whole data set for `size=None`."""
    return dataset if size is None else data.subset(dataset, size, seed=0)


def run_recipe(
    name: str,
    model: nn.Module,
    train_loader,
    test_loader,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    **fit_args,
) -> dict:
    """Train with `cu.fit` and return the recipe's name, accuracies and seconds per epoch."""
    start, cpu_start = time.perf_counter(), time.process_time()
    history = cu.fit(
        model, train_loader, test_loader, optimizer, epochs, progress=False, **fit_args
    )
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    result = {
        "name": name,
        "accuracy": [round(a, 4) for a in history["test_accuracy"]],
        "seconds": [round(s, 2) for s in history["seconds"]],
        "total_seconds": round(total, 1),
        "cpu_seconds": round(cpu, 1),  # processor time of all this process's threads
    }
    print(f"  {name}: {epochs} epochs, {total:.0f} s, final accuracy {100 * result['accuracy'][-1]:.2f}%",
          flush=True)  # fmt: skip
    return result


def handbook_mnist(args, device: torch.device) -> dict:
    """The pytorch-handbook MNIST example's recipe: HandbookConvNet, Adam (default lr), batch 512, DataLoader, fp32."""
    train = _subset(data.load_mnist(True, transform=data.mnist_transform()), args.train_size)
    test = _subset(data.load_mnist(False, transform=data.mnist_transform()), args.test_size)
    train_loader = DataLoader(train, batch_size=512, shuffle=True)
    test_loader = DataLoader(test, batch_size=512)
    model = cu.HandbookConvNet().to(device)
    optimizer = torch.optim.Adam(model.parameters())
    return run_recipe("pytorch-handbook (DataLoader, Adam, fp32)", model, train_loader, test_loader,
                      optimizer, args.epochs_for("handbook"))  # fmt: skip


def course_mnist(args, device: torch.device) -> dict:
    """The course's MNIST recipe: SmallBNNet (BatchNorm, 29 k parameters), TensorLoader, SGD + Nesterov
    with a one-cycle schedule over one epoch, and the precision `cu.pick_precision` chooses here."""
    x, y = data.as_uint8_tensors(_subset(data.load_mnist(True), args.train_size))
    xt, yt = data.as_uint8_tensors(_subset(data.load_mnist(False), args.test_size))
    epochs = args.epochs_for("course_mnist")
    model = cu.SmallBNNet().to(device)
    choice = cu.pick_precision(device, model, x[:128].float() / 255)
    train_loader = cu.TensorLoader(x, y, 128, data.MNIST_MEAN, data.MNIST_STD, shuffle=True,
                                   drop_last=True, device=device, channels_last=choice.channels_last)  # fmt: skip
    test_loader = cu.TensorLoader(xt, yt, 1000, data.MNIST_MEAN, data.MNIST_STD, device=device,
                                  channels_last=choice.channels_last)  # fmt: skip
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)  # fmt: skip
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(train_loader)
    )
    return run_recipe(f"course (SmallBNNet, TensorLoader, one-cycle, {describe(choice)})", model,
                      train_loader, test_loader, optimizer, epochs, scheduler=scheduler,
                      scheduler_step="batch", precision=choice.precision,
                      channels_last=choice.channels_last, flops_batch=x[:128])  # fmt: skip


def tudui_cifar(args, device: torch.device) -> dict:
    """The Tudui tutorial's CIFAR-10 recipe: TuduiNet, SGD lr 1e-2, batch 64, DataLoader, ToTensor only."""
    to_tensor = transforms.ToTensor()
    train = _subset(data.load_cifar10(True, transform=to_tensor), args.train_size)
    test = _subset(data.load_cifar10(False, transform=to_tensor), args.test_size)
    train_loader = DataLoader(train, batch_size=64)  # the tutorial does not shuffle
    test_loader = DataLoader(test, batch_size=64)
    model = cu.TuduiNet().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    return run_recipe("Tudui tutorial (TuduiNet, SGD, DataLoader, fp32)", model, train_loader,
                      test_loader, optimizer, args.epochs_for("tudui"))  # fmt: skip


def course_cifar(args, device: torch.device) -> dict:
    """The course's CIFAR-10 recipe: CifarResNet, TensorLoader + augmentation, one-cycle SGD,
    label smoothing, and the precision and layout `cu.pick_precision` chooses for this machine."""
    x, y = data.as_uint8_tensors(_subset(data.load_cifar10(True), args.train_size))
    xt, yt = data.as_uint8_tensors(_subset(data.load_cifar10(False), args.test_size))
    epochs = args.epochs_for("course_cifar")
    mean, std = data.CIFAR10_MEAN, data.CIFAR10_STD
    model = cu.CifarResNet(width=args.width).to(device)
    choice = cu.pick_precision(device, model, x[:256].float() / 255)
    train_loader = cu.TensorLoader(x, y, 256, mean, std, shuffle=True, augment=True, drop_last=True,
                                   device=device, channels_last=choice.channels_last)  # fmt: skip
    test_loader = cu.TensorLoader(xt, yt, 1000, mean, std, device=device,
                                  channels_last=choice.channels_last)  # fmt: skip
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)  # fmt: skip
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(train_loader)
    )
    return run_recipe(f"course (CifarResNet width {args.width}, TensorLoader, one-cycle, {describe(choice)})",
                      model, train_loader, test_loader, optimizer, epochs,
                      loss_fn=nn.CrossEntropyLoss(label_smoothing=0.1), scheduler=scheduler,
                      scheduler_step="batch", precision=choice.precision,
                      channels_last=choice.channels_last)  # fmt: skip


def describe(choice: cu.PrecisionChoice) -> str:
    """'bf16, channels_last' or 'fp32': what `pick_precision` chose, for a recipe's name."""
    return choice.precision + (", channels_last" if choice.channels_last else "")


def time_to(result: dict, target: float) -> float | None:
    """Seconds (cumulative, evaluation included) until the test accuracy first reaches `target`."""
    elapsed = 0.0
    for accuracy, seconds in zip(result["accuracy"], result["seconds"], strict=True):
        elapsed += seconds
        if accuracy >= target - 1e-9:
            return elapsed
    return None


def best_within(result: dict, budget: float) -> float | None:
    """The best test accuracy reached at an epoch that ended within `budget` seconds."""
    elapsed, best = 0.0, None
    for accuracy, seconds in zip(result["accuracy"], result["seconds"], strict=True):
        elapsed += seconds
        if elapsed <= budget:
            best = accuracy if best is None else max(best, accuracy)
    return best


def _seconds(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.1f} s"


def _percent(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.2f}%"


def task_tables(task: str, results: list[dict], target: float, target_text: str) -> str:
    """Markdown: accuracy and time per epoch of each recipe, then a summary with time to target."""
    names = [r["name"] for r in results]
    lines = [
        f"### {task}",
        "",
        "Test accuracy after each epoch (cumulative seconds in brackets):",
        "",
    ]
    lines.append("| epoch | " + " | ".join(names) + " |")
    lines.append("|---:|" + "---:|" * len(names))
    for epoch in range(max(len(r["accuracy"]) for r in results)):
        cells = []
        for r in results:
            if epoch < len(r["accuracy"]):
                cumulative = sum(r["seconds"][: epoch + 1])
                cells.append(f"{_percent(r['accuracy'][epoch])} ({cumulative:.0f} s)")
            else:
                cells.append("")
        lines.append(f"| {epoch + 1} | " + " | ".join(cells) + " |")
    lines += ["", f"Target: {target_text}", ""]
    lines.append("| recipe | epochs | s/epoch | CPU s/epoch | final | best | time to target |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        per_epoch = sum(r["seconds"]) / len(r["seconds"])
        lines.append(
            f"| {r['name']} | {len(r['accuracy'])} | {per_epoch:.1f} "
            f"| {r['cpu_seconds'] / len(r['accuracy']):.1f} | {_percent(r['accuracy'][-1])} "
            f"| {_percent(max(r['accuracy']))} | {_seconds(time_to(r, target))} |"
        )
    lines += ["", CPU_NOTE]
    return "\n".join(lines)


def run_mnist(args, device: torch.device) -> tuple[str, dict]:
    """Both MNIST recipes, and their tables."""
    print("MNIST", flush=True)
    note, course = handbook_mnist(args, device), course_mnist(args, device)
    note_t, course_t = time_to(note, MNIST_TARGET), time_to(course, MNIST_TARGET)
    text = task_tables("MNIST", [note, course], MNIST_TARGET, "99.0% test accuracy.")
    if note_t and course_t:
        text += f"\n\nThe course's recipe reaches 99.0% {note_t / course_t:.1f}x sooner (aim: 10x)."
    return text, {"target": MNIST_TARGET, "results": [note, course]}


def run_cifar(args, device: torch.device) -> tuple[str, dict]:
    """Both CIFAR-10 recipes, and their tables (target: the course's accuracy within the note's time)."""
    print("CIFAR-10", flush=True)
    note, course = tudui_cifar(args, device), course_cifar(args, device)
    budget = sum(note["seconds"])
    reached = best_within(course, budget)
    target = reached if reached is not None else max(course["accuracy"])
    target_text = (
        f"{_percent(target)}, the best accuracy the course's recipe reached within the "
        f"{budget:.0f} s that the Tudui recipe took for {len(note['accuracy'])} epochs."
        if reached is not None
        else f"{_percent(target)} (the course's recipe had not finished an epoch within "
        f"the Tudui recipe's {budget:.0f} s, so its final accuracy is used)."
    )
    text = task_tables("CIFAR-10", [note, course], target, target_text)
    aim_t = time_to(course, CIFAR_AIM)
    reached_text = "did not reach 85%" if aim_t is None else f"reached 85% after {aim_t:.0f} s"
    met = "met" if aim_t is not None and aim_t <= budget else "not met"
    text += (
        f"\n\nAim: 85% within the Tudui recipe's {budget:.0f} s. The course's recipe {reached_text}: {met}."
    )
    return text, {"target": target, "budget_seconds": budget, "results": [note, course]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=["mnist", "cifar10", "all"], default="all")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"epochs for every recipe (default per recipe: {DEFAULT_EPOCHS})")  # fmt: skip
    parser.add_argument("--width", type=int, default=None,
                        help="CifarResNet width (default 64 on a GPU, 16 on a CPU)")  # fmt: skip
    parser.add_argument("--smoke", action="store_true",
                        help=f"tiny run for CI: {SMOKE_TRAIN} training and {SMOKE_TEST} test images, 1 epoch")  # fmt: skip
    parser.add_argument("--out", type=Path, action="append", default=[],
                        help="also write the results to this .md or .json file (repeatable)")  # fmt: skip
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, ... (default: the best there is)"
    )
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    for out in args.out:
        if out.suffix not in (".md", ".json"):
            parser.error(f"--out must end in .md or .json, got {out}")
    epochs = 1 if args.smoke else args.epochs
    args.epochs_for = lambda recipe: epochs if epochs is not None else DEFAULT_EPOCHS[recipe]
    args.train_size, args.test_size = (SMOKE_TRAIN, SMOKE_TEST) if args.smoke else (None, None)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen tasks, print the machine and the tables, and write `--out` if given."""
    args = parse_args(argv)
    settings = cu.setup(seed=0, device=args.device, smoke=args.smoke, verbose=False)
    device = settings.device
    if args.width is None:
        args.width = 64 if device.type == "cuda" else 16
    machine = machine_report(device)
    print(cu.format_report(machine), flush=True)
    tasks: dict[str, Callable] = {"mnist": run_mnist, "cifar10": run_cifar}
    chosen = list(tasks) if args.task == "all" else [args.task]
    sections, results = [], {}
    for task in chosen:
        cu.seed_everything(0)
        text, results[task] = tasks[task](args, device)
        sections.append(text)
    mode = " (SMOKE: tiny subsets, 1 epoch; timings mean nothing)" if args.smoke else ""
    report = "\n".join(
        [f"## Training recipes benchmark{mode}", "", "Machine:", "", "```", cu.format_report(machine),
         "```", "", "\n\n".join(sections), ""]
    )  # fmt: skip
    print("\n" + report)
    for out in args.out:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".json":
            payload = {"machine": machine, "smoke": args.smoke, "width": args.width, **results}
            out.write_text(json.dumps(payload, indent=2) + "\n")
        else:
            out.write_text(report)
        print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
