"""Where the course runs: device choice, seeds, settings and an environment report.

Taught in lesson 00 (set-up and tensors).
"""

from __future__ import annotations

import os
import platform
import random
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_utils.i18n import set_language
from course_utils.precision import cpu_bf16_native, cpu_capability

DATA_DIR_ENV = "COURSE_DATA_DIR"
SMOKE_ENV = "COURSE_SMOKE"
DEFAULT_DATA_DIR = Path.home() / "course_data"
TRUE_WORDS = {"1", "true", "yes", "on"}


def env_flag(name: str, default: bool = False) -> bool:
    """True if the environment variable `name` is 1/true/yes/on (any case); `default` if unset."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in TRUE_WORDS


def pick_device(prefer: str | None = None) -> torch.device:
    """Return CUDA if present, else Apple's MPS, else the CPU (or `prefer`, if given)."""
    if prefer is not None:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices); optionally force deterministic kernels.

    Deterministic mode makes GPU runs repeatable at some cost in speed: it sets
    `torch.use_deterministic_algorithms(True)`, turns off cuDNN autotuning and sets
    CUBLAS_WORKSPACE_CONFIG, which cuBLAS reads only when CUDA starts: call this before any
    CUDA work (it warns if CUDA has already started). `deterministic=False` undoes all of it.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        if "CUBLAS_WORKSPACE_CONFIG" not in os.environ:
            if torch.cuda.is_initialized():
                warnings.warn(
                    "CUDA has already started, so setting CUBLAS_WORKSPACE_CONFIG now may not take "
                    "effect and cuBLAS results may not repeat. Call seed_everything(deterministic=True) "
                    "(or cu.setup(deterministic=True)) before any CUDA work, or set "
                    "CUBLAS_WORKSPACE_CONFIG=:4096:8 before starting Python.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    else:
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.benchmark = False  # torch's default
        torch.backends.cudnn.deterministic = False


def _loader_generators(loader: Any) -> dict[str, torch.Generator]:
    """The torch.Generators a DataLoader (its own, its sampler's, its batch sampler's) draws from."""
    found: dict[str, torch.Generator] = {}
    for name in ("generator", "sampler.generator", "batch_sampler.sampler.generator"):
        obj = loader
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if isinstance(obj, torch.Generator) and all(obj is not g for g in found.values()):
            found[name] = obj
    return found


def random_state(loader: Any = None) -> dict[str, Any]:
    """Every random state a training run depends on, as a dict `torch.load(weights_only=True)` reads.

    Python's `random`, NumPy's global generator, torch's CPU generator, every CUDA device's and
    MPS's, and the generators `loader` (a DataLoader) shuffles with. Lesson 07 (resuming).
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (kind, keys.tolist(), int(pos), int(has_gauss), float(cached)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    mps = getattr(torch, "mps", None)
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available() and mps:
        state["mps"] = mps.get_rng_state()
    if loader is not None:
        state["loader"] = {name: g.get_state() for name, g in _loader_generators(loader).items()}
    return state


def set_random_state(state: dict[str, Any] | None, loader: Any = None) -> None:
    """Restore what `random_state` saved; CUDA states for devices this machine lacks are skipped."""
    if not state:
        return
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
    if "numpy" in state:
        kind, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        # A checkpoint from more GPUs than this machine has: restore the devices there are.
        for index, device_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(device_state.cpu(), index)
    if "mps" in state and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        torch.mps.set_rng_state(state["mps"].cpu())
    if loader is not None:
        generators = _loader_generators(loader)
        for name, saved in state.get("loader", {}).items():
            if name in generators:
                generators[name].set_state(saved.cpu())


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The course's one data directory: the argument, else $COURSE_DATA_DIR, else ~/course_data."""
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(data_dir).expanduser().resolve()


def resolve_smoke(smoke: bool | None = None) -> bool:
    """Smoke mode (tiny subsets, one short epoch): the argument, else $COURSE_SMOKE == "1"."""
    if smoke is not None:
        return bool(smoke)
    return env_flag(SMOKE_ENV)


def environment_report(device: torch.device | None = None) -> dict[str, str]:
    """Versions and hardware that matter when a result has to be reproduced."""
    device = device or pick_device()
    try:
        import torchvision

        torchvision_version = torchvision.__version__
    except ImportError:  # pragma: no cover - torchvision is a dependency
        torchvision_version = "not installed"
    report = {
        "python": sys.version.split()[0],
        "platform": platform.platform(terse=True),
        "torch": torch.__version__,
        "torchvision": torchvision_version,
        "device": str(device),
        "cpu threads": str(torch.get_num_threads()),
        "cpu capability": cpu_capability(),  # AVX2, AVX512, ...: what decides CPU speed choices
        "cpu bf16 native": {True: "yes", False: "no", None: "unknown"}[cpu_bf16_native()],
        "cuda available": str(torch.cuda.is_available()),
    }
    if device.type == "cuda":
        report["gpu"] = torch.cuda.get_device_name(device)
        report["cuda"] = str(torch.version.cuda)
        report["gpu count"] = str(torch.cuda.device_count())
    return report


def format_report(report: dict[str, str]) -> str:
    """Lay a report out as aligned `key: value` lines."""
    width = max(len(key) for key in report)
    return "\n".join(f"{key:>{width}}: {value}" for key, value in report.items())


@dataclass(frozen=True)
class Settings:
    """The course's only global choices, made once in each notebook's first cell."""

    device: torch.device
    data_dir: Path
    smoke: bool
    seed: int


def setup(
    smoke: bool | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    device: str | None = None,
    deterministic: bool = False,
    verbose: bool = True,
    lang: str | None = None,
) -> Settings:
    """Seed everything, choose the device, data directory and mode, and say what was chosen.

    `lang="zh"` makes the exercise checks speak Chinese (the Chinese lessons pass it); None
    follows $COURSE_LANG, English by default.
    """
    set_language(lang)
    seed_everything(seed, deterministic=deterministic)
    settings = Settings(
        device=pick_device(device),
        data_dir=resolve_data_dir(data_dir),
        smoke=resolve_smoke(smoke),
        seed=seed,
    )
    if verbose:
        mode = "SMOKE (tiny subsets, one short epoch)" if settings.smoke else "full"
        print(f"device: {settings.device} | mode: {mode} | seed: {seed}")
        print(f"data directory: {settings.data_dir}")
    return settings
