"""course_utils: the library that the PyTorch course's notebooks build, lesson by lesson.

Light at import time: torchvision, matplotlib and ipywidgets load only when `data`, `plots`
or `widgets` is first used (``cu.data.load_mnist(...)`` works without a separate import).
"""

from __future__ import annotations

import importlib
from typing import Any

from course_utils import checks, convolution, distributed, fast_cifar, lr_sweep, metrics, models
from course_utils.checkpoints import (
    CheckpointError,
    atomic_save,
    load_checkpoint,
    save_checkpoint,
    unwrap,
)
from course_utils.distributed import is_main_process
from course_utils.metrics import accuracy, confusion_matrix, per_class_accuracy
from course_utils.models import (
    CifarResNet,
    HandbookConvNet,
    SmallBNNet,
    TuduiNet,
    TuduiSequentialNet,
    count_parameters,
)
from course_utils.precision import PrecisionChoice, pick_precision
from course_utils.runtime import (
    Settings,
    environment_report,
    format_report,
    pick_device,
    resolve_data_dir,
    resolve_smoke,
    seed_everything,
    setup,
)
from course_utils.tensor_loader import TensorLoader
from course_utils.training import autocast, evaluate, fit, predict, train_one_epoch

__version__ = "0.1.0"

_LAZY_MODULES = {"assets", "data", "plots", "pretrained", "widgets"}


def __getattr__(name: str) -> Any:
    """Import `data`, `plots`, `pretrained` and `widgets` on first use (they pull in heavy libraries)."""
    if name in _LAZY_MODULES:
        return importlib.import_module(f"course_utils.{name}")
    raise AttributeError(f"module 'course_utils' has no attribute {name!r}")


__all__ = [
    "CheckpointError", "CifarResNet", "HandbookConvNet", "SmallBNNet", "TuduiNet", "TuduiSequentialNet",
    "Settings", "TensorLoader", "accuracy", "atomic_save", "autocast", "checks", "convolution",
    "confusion_matrix", "count_parameters", "distributed", "fast_cifar", "environment_report", "evaluate", "fit",
    "format_report", "is_main_process", "load_checkpoint", "lr_sweep", "metrics", "models",
    "per_class_accuracy", "pick_device", "pick_precision", "PrecisionChoice", "predict", "resolve_data_dir", "resolve_smoke",
    "save_checkpoint", "seed_everything", "setup", "train_one_epoch", "unwrap",
]  # fmt: skip
