"""Where the course runs: device choice, seeds, settings and an environment report.

Taught in lesson 00 (set-up and tensors).
"""

from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

DATA_DIR_ENV = "COURSE_DATA_DIR"
SMOKE_ENV = "COURSE_SMOKE"
DEFAULT_DATA_DIR = Path.home() / "course_data"


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
    CUBLAS_WORKSPACE_CONFIG, which cuBLAS needs for repeatable matrix products.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    else:
        torch.use_deterministic_algorithms(False)


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The course's one data directory: the argument, else $COURSE_DATA_DIR, else ~/course_data."""
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(data_dir).expanduser().resolve()


def resolve_smoke(smoke: bool | None = None) -> bool:
    """Smoke mode (tiny subsets, one short epoch): the argument, else $COURSE_SMOKE == "1"."""
    if smoke is not None:
        return bool(smoke)
    return os.environ.get(SMOKE_ENV, "0").strip().lower() in {"1", "true", "yes"}


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
) -> Settings:
    """Seed everything, choose the device, data directory and mode, and say what was chosen."""
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
