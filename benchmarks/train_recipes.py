#!/usr/bin/env python3
"""Train the source tutorials' recipes and the course's recipes side by side and print a table.

    python benchmarks/train_recipes.py --task all --out benchmarks/results-cpu.md
    python benchmarks/train_recipes.py --smoke          # tiny, for CI: runs in seconds

MNIST: the pytorch-handbook example's recipe (HandbookConvNet, Adam, batch 512, DataLoader, fp32) against the
course's (SmallBNNet, TensorLoader, SGD + one-cycle over one epoch). Target: 99.0%.
CIFAR-10: the Tudui tutorial's recipe (TuduiNet, SGD lr 1e-2, batch 64, DataLoader, ToTensor only)
against the course's (CifarResNet, TensorLoader with flip and pad-and-crop, SGD + Nesterov with a
one-cycle schedule, label smoothing) and the course's airbench-style recipe (`course_utils.fast_cifar`)
twice: a small net with as many epochs as fit in the Tudui recipe's time, and airbench94's net
with as many as fit in `--max-minutes` (the attempt at 94%). Targets: 85% within the Tudui
recipe's time; 94%, and its time against the floor that airbench's 0.36 PFLOP imply here.
The run measures this machine's dense-matmul rate (fp32 and bf16) and counts each recipe's
FLOPs (torch.utils.flop_counter on one batch, forward + backward, times the samples seen),
so each recipe's achieved GFLOP/s can be read against the machine's own limit. The course's recipes run in the precision and
memory layout that `cu.pick_precision` chooses on the machine that runs them (printed, and in
each recipe's name): bf16 only where the hardware computes it natively.
Every epoch's time includes the evaluation on the test set. Lessons 05 and 06 quote the results.
"""

from __future__ import annotations

import argparse
import copy
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
from course_utils import data, fast_cifar

MNIST_TARGET = 0.99
CIFAR_AIM = 0.85
CIFAR_94 = 0.94
AIRBENCH94_FLOPS = 0.36e15  # airbench94's training FLOPs, as its paper counts them
# Default epochs per recipe (the handbook trains for 20; it reaches 99% long before that).
# The airbench-style recipes fit their epochs to a time budget instead (at most these many).
DEFAULT_EPOCHS = {"handbook": 8, "course_mnist": 1, "tudui": 10, "course_cifar": 15,
                  "airbench_small": 16, "airbench94": 16}  # fmt: skip
AIRBENCH_SMALL_WIDTHS, AIRBENCH94_WIDTHS = (32, 64, 64), (64, 256, 256)
SMOKE_TRAIN, SMOKE_TEST = 512, 256
CPU_NOTE = (
    "s/epoch: wall-clock seconds per epoch, test included. CPU s/epoch: processor seconds that "
    "the benchmark's process used per epoch, all threads together (on an idle machine with n "
    "busy threads, wall time is about CPU time / n). On a machine shared with other jobs the "
    "CPU time is the steadier measure of the work a recipe does."
)

FLOP_NOTE = (
    "TFLOP: the recipe's FLOPs (convolutions and matrix products, forward and backward for each "
    "training sample, forward for each test sample, test-time flips counted), counted with "
    "torch.utils.flop_counter. GFLOP/s: those FLOPs over the recipe's wall-clock time, against "
    "the dense-matmul rate this run measured in the recipe's precision."
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


def matmul_gflops(device: torch.device, precision: str, n: int = 2048, seconds: float = 2.0) -> float:
    """This machine's dense matmul rate (n x n times n x n, GFLOP/s) in `precision`: the best of
    repeated timings over about `seconds`, after a warm-up. The limit a training run can approach."""
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    a @ b
    sync()
    best, deadline = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        a @ b
        sync()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def flops_per_sample(model: nn.Module, example: torch.Tensor) -> tuple[float, float]:
    """FLOPs per sample of one training step (forward + backward) and of one evaluation (forward,
    eval mode: test-time flips count), counted by torch.utils.flop_counter on a copy of `model`
    in fp32 on the CPU. Matrix products and convolutions only, as FLOP counts usually are."""
    from torch.utils.flop_counter import FlopCounterMode

    probe = copy.deepcopy(model).float().cpu().train()
    x = example[:8].float().cpu()
    with torch.random.fork_rng(devices=[]):
        with FlopCounterMode(display=False) as counter:
            probe(x).float().sum().backward()
        train = counter.get_total_flops() / len(x)
        probe.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            probe(x)
        test = counter.get_total_flops() / len(x)
    return train, test


def run_recipe(
    name: str,
    model: nn.Module,
    train_loader,
    test_loader,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    example: torch.Tensor,
    samples: tuple[int, int],
    precision: str = "fp32",
    **fit_args,
) -> dict:
    """Train with `cu.fit` and return the recipe's name, accuracies, seconds per epoch and FLOPs.

    `example`: a few input samples (normalised floats) for the FLOP count; `samples`: the training
    and test samples each epoch sees (FLOPs = per-sample FLOPs x samples x epochs).
    """
    train_flops, test_flops = flops_per_sample(model, example)
    start, cpu_start = time.perf_counter(), time.process_time()
    history = cu.fit(
        model, train_loader, test_loader, optimizer, epochs, progress=False, precision=precision, **fit_args
    )
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    flops = epochs * (samples[0] * train_flops + samples[1] * test_flops)
    result = {
        "name": name,
        "precision": precision,
        "accuracy": [round(a, 4) for a in history["test_accuracy"]],
        "seconds": [round(s, 2) for s in history["seconds"]],
        "total_seconds": round(total, 1),
        "cpu_seconds": round(cpu, 1),  # processor time of all this process's threads
        "train_flops_per_sample": train_flops,
        "test_flops_per_sample": test_flops,
        "flops": flops,
        "gflops_per_second": round(flops / sum(history["seconds"]) / 1e9, 1),
    }
    print(f"  {name}: {epochs} epochs, {total:.0f} s, final accuracy {100 * result['accuracy'][-1]:.2f}%, "
          f"{result['gflops_per_second']:.0f} GFLOP/s", flush=True)  # fmt: skip
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
                      optimizer, args.epochs_for("handbook"), example=train[0][0][None],
                      samples=(len(train), len(test)))  # fmt: skip


def course_mnist(args, device: torch.device, fp32: bool = False) -> dict:
    """The course's MNIST recipe: SmallBNNet (BatchNorm, 29 k parameters), TensorLoader, SGD + Nesterov
    with a one-cycle schedule over one epoch, and the precision `cu.pick_precision` chooses here.
    With `fp32=True`, in fp32 whatever the CPU: what a CPU without native bf16 (AVX2) would run."""
    x, y = data.as_uint8_tensors(_subset(data.load_mnist(True), args.train_size))
    xt, yt = data.as_uint8_tensors(_subset(data.load_mnist(False), args.test_size))
    epochs = args.epochs_for("course_mnist")
    model = cu.SmallBNNet().to(device)
    choice = fp32_choice(model, x[:128].float() / 255) if fp32 else cu.pick_precision(device, model, x[:128].float() / 255)
    train_loader = cu.TensorLoader(x, y, 128, data.MNIST_MEAN, data.MNIST_STD, shuffle=True,
                                   drop_last=True, device=device, channels_last=choice.channels_last)  # fmt: skip
    test_loader = cu.TensorLoader(xt, yt, 1000, data.MNIST_MEAN, data.MNIST_STD, device=device,
                                  channels_last=choice.channels_last)  # fmt: skip
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)  # fmt: skip
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.1, epochs=epochs, steps_per_epoch=len(train_loader)
    )
    result = run_recipe(f"course (SmallBNNet, TensorLoader, one-cycle, {describe(choice)})", model,
                      train_loader, test_loader, optimizer, epochs, scheduler=scheduler,
                      scheduler_step="batch", precision=choice.precision,
                      channels_last=choice.channels_last, example=_normalised(x[:8], data.MNIST_MEAN, data.MNIST_STD),
                      samples=(len(train_loader) * 128, len(yt)))  # fmt: skip
    if fp32:
        result["note"] = "fp32 asked for (what a CPU without native bf16 runs)"
    return result


def fp32_choice(model: nn.Module, batch: torch.Tensor) -> cu.PrecisionChoice:
    """fp32, in the faster layout for `model` (timed): what `pick_precision` picks on a CPU without native bf16."""
    timings = {cl: cu.precision.time_training_step(model, batch, "fp32", cl) for cl in (False, True)}
    channels_last = timings[True] < timings[False]
    return cu.PrecisionChoice("fp32", channels_last, "fp32 asked for, layout timed")


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
                      test_loader, optimizer, args.epochs_for("tudui"), example=train[0][0][None],
                      samples=(len(train), len(test)))  # fmt: skip


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
                      channels_last=choice.channels_last, example=_normalised(x[:8], mean, std),
                      samples=(len(train_loader) * 256, len(yt)))  # fmt: skip


def _normalised(images: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 images as the normalised floats a net sees (for the FLOP count and the whitening)."""
    return (images.float() / 255 - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)


def plan_epochs(budget_seconds: float, seconds_per_epoch: float, most: int) -> int:
    """As many whole epochs as fit in `budget_seconds` (at least 1, at most `most`)."""
    return max(1, min(most, int(budget_seconds // seconds_per_epoch)))


def airbench_cifar(args, device: torch.device, widths: tuple[int, ...], budget_seconds: float,
                   recipe: str) -> dict:  # fmt: skip
    """The course's airbench-style recipe (`course_utils.fast_cifar`): FastCifarNet with a whitened,
    frozen first layer, frozen BatchNorm scales, alternating flips and translation, label smoothing
    0.2, airbench's decoupled SGD with its triangular schedule, lookahead, and test-time flips.
    Its epochs are fitted to `budget_seconds` from a timed training step (the schedule must know
    its length in advance)."""
    hyp = fast_cifar.AIRBENCH_HYPERPARAMETERS
    x, y = data.as_uint8_tensors(_subset(data.load_cifar10(True), args.train_size))
    xt, yt = data.as_uint8_tensors(_subset(data.load_cifar10(False), args.test_size))
    mean, std = data.CIFAR10_MEAN, data.CIFAR10_STD
    batch_size = hyp["batch_size"] if not args.smoke else 128
    widths = widths if not args.smoke else tuple(w // 8 for w in widths)  # smoke: the code path only
    net = fast_cifar.FastCifarNet(widths).to(device)
    fast_cifar.init_whitening(net.whiten, _normalised(x[:5000], mean, std))
    choice = cu.pick_precision(device, net, _normalised(x[:256], mean, std))
    if choice.channels_last:
        net = net.to(memory_format=torch.channels_last)
    train_loader = fast_cifar.AlternatingFlipLoader(x, y, batch_size, mean, std, translate=hyp["translate"],
                                                    device=device, channels_last=choice.channels_last)  # fmt: skip
    test_loader = cu.TensorLoader(xt, yt, 1000, mean, std, device=device, channels_last=choice.channels_last)
    # one epoch's time, estimated: training steps, plus the test set's two forward passes (flips),
    # plus 15% for the optimiser, the loader and the lookahead
    step = cu.precision.time_training_step(net, _normalised(x[:batch_size], mean, std).to(device),
                                           choice.precision, choice.channels_last, repeats=3)  # fmt: skip
    estimate = 1.15 * step * (len(train_loader) + 2 * len(yt) / batch_size / 3)
    epochs = args.epochs_for(recipe) if args.smoke else plan_epochs(budget_seconds, estimate, DEFAULT_EPOCHS[recipe])
    if args.epochs is not None:
        epochs = args.epochs
    print(f"  {recipe}: about {estimate:.0f} s per epoch, so {epochs} epochs fit in {budget_seconds:.0f} s",
          flush=True)  # fmt: skip
    total_steps = epochs * len(train_loader)
    optimizer = fast_cifar.airbench_sgd(net, batch_size, lr=hyp["lr"], momentum=hyp["momentum"],
                                        weight_decay=hyp["weight_decay"], bias_scaler=hyp["bias_scaler"])  # fmt: skip
    hooks = fast_cifar.StepHooks(
        fast_cifar.triangle_lr(optimizer, total_steps),
        fast_cifar.Lookahead(net, total_steps),
        fast_cifar.FreezeAfter(net.whiten.bias, round(hyp["whiten_bias_fraction"] * total_steps)),
    )
    widths_text = "-".join(str(w) for w in widths)
    result = run_recipe(
        f"course airbench-style (widths {widths_text}, {describe(choice)})", fast_cifar.FlipTTA(net),
        train_loader, test_loader, optimizer, epochs,
        loss_fn=nn.CrossEntropyLoss(label_smoothing=hyp["label_smoothing"]), scheduler=hooks,
        scheduler_step="batch", precision=choice.precision, channels_last=choice.channels_last,
        example=_normalised(x[:8], mean, std), samples=(len(train_loader) * batch_size, len(yt)),
    )  # fmt: skip
    result.update(budget_seconds=round(budget_seconds, 1), estimated_epoch_seconds=round(estimate, 1))
    return result


def pick_default_precision(device: torch.device) -> str:
    """The precision `pick_precision` chooses on `device` without a model to time (bf16 on a CPU
    that computes it natively)."""
    if device.type == "cpu":
        return "bf16" if cu.precision.cpu_bf16_native() else "fp32"
    return cu.pick_precision(device, verbose=False).precision


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


def task_tables(task: str, results: list[dict], target: float, target_text: str,
                rates: dict[str, float]) -> str:  # fmt: skip
    """Markdown: accuracy and time per epoch of each recipe, then a summary with time to target,
    FLOPs, and achieved GFLOP/s against the measured matmul rate of the recipe's precision."""
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
    lines.append("| recipe | epochs | s/epoch | CPU s/epoch | final | best | time to target "
                 "| TFLOP | GFLOP/s | of matmul rate |")  # fmt: skip
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        per_epoch = sum(r["seconds"]) / len(r["seconds"])
        lines.append(
            f"| {r['name']} | {len(r['accuracy'])} | {per_epoch:.1f} "
            f"| {r['cpu_seconds'] / len(r['accuracy']):.1f} | {_percent(r['accuracy'][-1])} "
            f"| {_percent(max(r['accuracy']))} | {_seconds(time_to(r, target))} "
            f"| {r['flops'] / 1e12:.1f} | {r['gflops_per_second']:.0f} "
            f"| {100 * r['gflops_per_second'] / rates[r['precision']]:.0f}% of {r['precision']} |"
        )
    lines += ["", CPU_NOTE, "", FLOP_NOTE]
    return "\n".join(lines)


def run_mnist(args, device: torch.device) -> tuple[str, dict]:
    """Both MNIST recipes, and their tables."""
    print("MNIST", flush=True)
    note, course = handbook_mnist(args, device), course_mnist(args, device)
    results = [note, course]
    if course["precision"] != "fp32":  # what a CPU without native bf16 would run
        results.append(course_mnist(args, device, fp32=True))
    text = task_tables("MNIST", results, MNIST_TARGET, "99.0% test accuracy.", args.rates)
    note_t = time_to(note, MNIST_TARGET)
    for r in results[1:]:
        course_t = time_to(r, MNIST_TARGET)
        if note_t and course_t:
            text += (f"\n\nThe course's recipe in {r['precision']} reaches 99.0% {note_t / course_t:.1f}x sooner "
                     f"than the handbook's ({course_t:.1f} s against {note_t:.1f} s; aim: 10x).")
        else:
            text += f"\n\nThe course's recipe in {r['precision']}: no ratio (a recipe missed 99.0%; aim: 10x sooner)."
    return text, {"target": MNIST_TARGET, "results": results}


def run_cifar(args, device: torch.device) -> tuple[str, dict]:
    """The CIFAR-10 recipes and their tables: the Tudui recipe first (its time is the budget of the
    small airbench-style run), then the course's ResNet, and the two airbench-style runs."""
    print("CIFAR-10", flush=True)
    note = tudui_cifar(args, device)
    budget = sum(note["seconds"])
    course = course_cifar(args, device)
    small = airbench_cifar(args, device, AIRBENCH_SMALL_WIDTHS, budget, "airbench_small")
    big = airbench_cifar(args, device, AIRBENCH94_WIDTHS, 60 * args.max_minutes, "airbench94")
    results = [note, course, small, big]
    within = {r["name"]: best_within(r, budget) for r in results}
    target = max((a for a in within.values() if a is not None), default=CIFAR_AIM)
    target_text = (
        f"{_percent(target)}, the best accuracy any recipe reached within the {budget:.0f} s that "
        f"the Tudui recipe took for {len(note['accuracy'])} epochs."
    )
    text = task_tables("CIFAR-10", results, target, target_text, args.rates)
    lines = ["", "", f"Within the Tudui recipe's {budget:.0f} s ({len(note['accuracy'])} epochs):", ""]
    lines += ["| recipe | best accuracy within that time | time to the Tudui recipe's final "
              f"{_percent(note['accuracy'][-1])} | time to 85% | time to 94% |", "|---|---:|---:|---:|---:|"]  # fmt: skip
    note_final = time_to(note, note["accuracy"][-1])
    for r in results:
        t_note = time_to(r, note["accuracy"][-1])
        ratio = f" ({note_final / t_note:.1f}x sooner)" if t_note and note_final and r is not note else ""
        lines.append(f"| {r['name']} | {_percent(within[r['name']])} | {_seconds(t_note)}{ratio} "
                     f"| {_seconds(time_to(r, CIFAR_AIM))} | {_seconds(time_to(r, CIFAR_94))} |")  # fmt: skip
    small_85 = time_to(small, CIFAR_AIM)
    met = "met" if small_85 is not None and small_85 <= budget else "not met"
    best85 = max(within.values(), key=lambda a: -1 if a is None else a)
    lines += ["", f"Aim 1: 85% within the Tudui recipe's {budget:.0f} s: {met} (best within that time: "
              f"{_percent(best85)})."]  # fmt: skip
    t94 = time_to(big, CIFAR_94)
    best = max(big["accuracy"])
    best_t = time_to(big, best)
    if t94 is None:
        lines.append(f"Aim 2: 94%: not reached. The airbench94-width run's best was {_percent(best)} after "
                     f"{best_t:.0f} s ({len(big['accuracy'])} epochs, fitted to a {args.max_minutes:g}-minute budget).")  # fmt: skip
    else:
        lines.append(f"Aim 2: 94%: reached after {t94:.0f} s.")
    ratio_to_floor = (t94 or sum(big["seconds"])) / args.floor
    lines.append(f"The airbench94-width run took {sum(big['seconds']):.0f} s for {big['flops'] / 1e15:.2f} PFLOP "
                 f"({big['gflops_per_second']:.0f} GFLOP/s); the floor that airbench's 0.36 PFLOP imply at this "
                 f"machine's matmul rate is {args.floor:.0f} s; "
                 + (f"time to 94% is {ratio_to_floor:.1f}x the floor (aim: within 2x)." if t94 else
                    f"its whole run is {ratio_to_floor:.1f}x the floor (aim: 94% within 2x of it)."))  # fmt: skip
    text += "\n".join(lines)
    return text, {"target": target, "budget_seconds": budget, "results": results}


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
    parser.add_argument("--max-minutes", type=float, default=20.0,
                        help="time budget of the airbench94-width run, the attempt at 94%% (default 20)")  # fmt: skip
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
    precisions = ["fp32"] + [p for p in ("bf16", "fp16") if p == pick_default_precision(device)]
    args.rates = {p: matmul_gflops(device, p, n=512 if args.smoke else 2048, seconds=0.2 if args.smoke else 2.0)
                  for p in precisions}  # fmt: skip
    for p, rate in args.rates.items():
        machine[f"matmul GFLOP/s, {p}"] = f"{rate:.0f} (dense 2048 x 2048, measured at start)"
    chosen_rate = args.rates[precisions[-1]]
    args.floor = AIRBENCH94_FLOPS / (chosen_rate * 1e9)
    machine["airbench94 floor"] = (f"{args.floor:.0f} s ({args.floor / 60:.1f} min): 0.36 PFLOP at this "
                                   f"machine's {precisions[-1]} matmul rate")  # fmt: skip
    print(cu.format_report(machine), flush=True)
    tasks: dict[str, Callable] = {"mnist": run_mnist, "cifar10": run_cifar}
    chosen = list(tasks) if args.task == "all" else [args.task]
    sections, results = [], {}
    for task in chosen:
        cu.seed_everything(0)
        text, results[task] = tasks[task](args, device)
        sections.append(text)
    chosen_by_helper = sorted({r["precision"] for task in results.values() for r in task["results"]
                               if r["name"].startswith("course") and "fp32 asked" not in r.get("note", "")})  # fmt: skip
    machine["precision chosen"] = (f"{', '.join(chosen_by_helper)} for the course's recipes (cu.pick_precision, "
                                   "per recipe, named in each); fp32 for the sources' recipes, as written")  # fmt: skip
    mode = " (SMOKE: tiny subsets, 1 epoch; timings mean nothing)" if args.smoke else ""
    report = "\n".join(
        [f"## Training recipes benchmark{mode}", "", "Machine:", "", "```", cu.format_report(machine),
         "```", "", "\n\n".join(sections), ""]
    )  # fmt: skip
    print("\n" + report)
    for out in args.out:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".json":
            payload = {"machine": machine, "smoke": args.smoke, "width": args.width,
                       "matmul_gflops": args.rates, "max_minutes": args.max_minutes, **results}
            out.write_text(json.dumps(payload, indent=2) + "\n")
        else:
            out.write_text(report)
        print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
