"""Choosing numeric precision and memory layout for the hardware a lesson runs on.

bfloat16 is fast only where the hardware computes it natively: NVIDIA GPUs from compute
capability 8.0 (A100, RTX 30xx and newer) and CPUs with AVX512-BF16 or AMX. Elsewhere it is
emulated, and on an AVX2-only CPU a bf16 training step was measured 6-13x SLOWER than fp32.
Older GPUs (Colab's T4, V100) get fp16 with a GradScaler instead. `pick_precision` decides
from the hardware and, on a CPU where the hardware does not settle it, from a short timed
probe of the lesson's own model. Taught in lessons 05 and 06; used by every training lesson
and the benchmark.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

Precision = Literal["fp32", "bf16", "fp16"]
PRECISION_ENV = "COURSE_PRECISION"  # force a choice: fp32, bf16 or fp16 (to compare, or to override)
CHANNELS_LAST_ENV = "COURSE_CHANNELS_LAST"  # force the layout: 1 or 0


@dataclass(frozen=True)
class PrecisionChoice:
    """What `pick_precision` chose, and why (pass `precision` and `channels_last` on to `fit`)."""

    precision: Precision
    channels_last: bool
    reason: str

    def __str__(self) -> str:
        layout = "channels_last" if self.channels_last else "contiguous (NCHW)"
        return f"precision: {self.precision}, layout: {layout} ({self.reason})"


def cpu_bf16_native() -> bool | None:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX); None if it cannot be told."""
    cpu = getattr(torch, "cpu", None)
    if hasattr(cpu, "_is_avx512_bf16_supported"):  # torch's own CPUID check (x86)
        try:
            return bool(cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported())
        except (AttributeError, RuntimeError):  # pragma: no cover - older or unusual builds
            pass
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():  # Linux on x86 or Arm: the kernel lists the instruction-set flags
        flags = cpuinfo.read_text(errors="replace")
        return any(flag in flags for flag in (" avx512_bf16", " amx_bf16", " bf16"))
    return None


def cpu_capability() -> str:
    """The vector instruction set torch's CPU kernels use here, e.g. 'AVX2' or 'AVX512'."""
    try:
        return torch.backends.cpu.get_cpu_capability()
    except AttributeError:  # pragma: no cover - torch < 2.1
        return "unknown"


def _has_conv(model: nn.Module | None) -> bool:
    return model is not None and any(isinstance(m, nn.Conv2d) for m in model.modules())


def time_training_step(
    model: nn.Module, batch: torch.Tensor, precision: Precision, channels_last: bool, repeats: int = 2
) -> float:
    """Seconds per forward+backward of a copy of `model` on `batch` (the best of `repeats`, after a warm-up).

    The copy keeps the real model's weights untouched, and the random state is restored after.
    """
    from course_utils.training import autocast  # training imports this module

    device = next(model.parameters()).device
    probe = copy.deepcopy(model).train()
    x = batch.to(device)
    if channels_last:
        probe = probe.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    best = float("inf")
    with torch.random.fork_rng(devices=[]):
        for step in range(repeats + 1):
            start = time.perf_counter()
            with autocast(device, precision):
                loss = probe(x).float().sum()
            loss.backward()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if step > 0:  # the first step is a warm-up (allocations, kernel choice)
                best = min(best, time.perf_counter() - start)
    return best


def _forced() -> tuple[Precision | None, bool | None]:
    precision = os.environ.get(PRECISION_ENV, "").strip().lower() or None
    if precision not in (None, "fp32", "bf16", "fp16"):
        raise ValueError(f"{PRECISION_ENV}={precision!r}: use fp32, bf16 or fp16 (or unset it).")
    layout = os.environ.get(CHANNELS_LAST_ENV, "").strip()
    if layout not in ("", "0", "1"):
        raise ValueError(f"{CHANNELS_LAST_ENV}={layout!r}: use 1 or 0 (or unset it).")
    return precision, (None if layout == "" else layout == "1")  # type: ignore[return-value]


def channels_last_works(model: nn.Module, example_batch: torch.Tensor) -> bool:
    """Whether a forward pass of (a copy of) `model` accepts a channels_last batch.

    Some nets flatten with `.view()`, which a channels_last tensor cannot do (use `flatten` or
    `reshape` there). The real model is left untouched.
    """
    device = next(model.parameters()).device
    probe = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)
    x = example_batch[:2].to(device).contiguous(memory_format=torch.channels_last)
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            probe(x)
    except RuntimeError:
        return False
    return True


def _pick_cuda(
    device: torch.device, model: nn.Module | None, example_batch: torch.Tensor | None
) -> PrecisionChoice:
    major, minor = torch.cuda.get_device_capability(device)
    # channels_last helps convolutions on tensor cores, if the model accepts it (tried, not assumed).
    conv = _has_conv(model) and major >= 7 and example_batch is not None
    conv = conv and channels_last_works(model, example_batch)  # type: ignore[arg-type]
    if torch.cuda.is_bf16_supported(including_emulation=False):
        return PrecisionChoice("bf16", conv, f"GPU of compute capability {major}.{minor} computes bf16 natively")
    return PrecisionChoice(
        "fp16", conv,
        f"GPU of compute capability {major}.{minor} has no native bf16; fp16 with a GradScaler",
    )  # fmt: skip


def _pick_cpu(model: nn.Module | None, example_batch: torch.Tensor | None) -> PrecisionChoice:
    native = cpu_bf16_native()
    capability = cpu_capability()
    can_probe = model is not None and example_batch is not None
    if native is False or (native is None and not can_probe):
        reason = f"CPU ({capability}) without native bf16, where bf16 is emulated and slow"
        candidates: list[Precision] = ["fp32"]
    else:
        reason = f"CPU ({capability}) with native bf16" if native else f"CPU ({capability})"
        candidates = ["fp32", "bf16"]
    layouts = [False, True] if _has_conv(model) else [False]
    if not can_probe or len(candidates) * len(layouts) == 1:
        return PrecisionChoice(candidates[-1], False, reason)
    assert model is not None and example_batch is not None
    timings: dict[tuple[Precision, bool], float] = {}
    for p in candidates:
        for cl in layouts:
            try:
                timings[(p, cl)] = time_training_step(model, example_batch, p, cl)
            except RuntimeError:  # e.g. a .view() that channels_last breaks: not a candidate
                timings[(p, cl)] = float("inf")
    (precision, channels_last), best = min(timings.items(), key=lambda item: item[1])
    measured = ", ".join(
        f"{p}{' channels_last' if cl else ''} " + (f"{1000 * s:.0f} ms" if s < float("inf") else "fails")
        for (p, cl), s in timings.items()
    )
    return PrecisionChoice(precision, channels_last, f"{reason}; one step measured: {measured}")


def pick_precision(
    device: torch.device | str,
    model: nn.Module | None = None,
    example_batch: torch.Tensor | None = None,
    verbose: bool = True,
) -> PrecisionChoice:
    """Choose precision and memory layout for training `model` on `device`, and say why.

    CUDA: bf16 where the GPU computes it natively, else fp16 (with `fit`'s GradScaler);
    channels_last for convolutional nets on tensor-core GPUs when `example_batch` shows the model
    accepts it. MPS: fp32. CPU: fp32 unless the
    CPU computes bf16 natively; then (given `model` and `example_batch`) a few timed steps of
    each candidate decide, layouts included. `$COURSE_PRECISION` / `$COURSE_CHANNELS_LAST`
    override the choice.
    """
    device = torch.device(device)
    forced_precision, forced_layout = _forced()
    if device.type == "cuda":
        choice = _pick_cuda(device, model, example_batch)
    elif device.type == "cpu":
        choice = _pick_cpu(model, example_batch)
    else:
        choice = PrecisionChoice("fp32", False, f"{device.type}: fp32, the safe choice there")
    if forced_precision is not None or forced_layout is not None:
        choice = PrecisionChoice(
            forced_precision or choice.precision,
            choice.channels_last if forced_layout is None else forced_layout,
            f"forced by ${PRECISION_ENV}/${CHANNELS_LAST_ENV}; the hardware's choice: "
            f"{choice.precision}, {'channels_last' if choice.channels_last else 'contiguous'}",
        )
    if choice.precision == "fp16" and device.type != "cuda":
        raise ValueError(f"{PRECISION_ENV}=fp16 needs a CUDA GPU; on {device.type} use bf16 or fp32.")
    if verbose:
        print(choice)
    return choice
