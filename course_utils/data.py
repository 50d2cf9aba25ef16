"""MNIST and CIFAR-10 from one data directory, with clear errors and deterministic subsets.

Taught in lesson 01 (datasets and DataLoader); used by every later lesson.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from torch.utils.data import Dataset, Subset
from torchvision import transforms

from course_utils.runtime import env_flag, resolve_data_dir

MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
ACCEPT_REPACKED_ENV = "COURSE_ACCEPT_REPACKED"

MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR10_FILES = {
    True: tuple(f"data_batch_{i}" for i in range(1, 6)),
    False: ("test_batch",),
}


class DatasetError(RuntimeError):
    """A data set is missing, incomplete or corrupt; the message says where and what to do."""


def mnist_transform() -> transforms.Compose:
    """ToTensor plus MNIST's standard normalisation (mean 0.1307, std 0.3081)."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(MNIST_MEAN, MNIST_STD)])


def cifar10_transform() -> transforms.Compose:
    """ToTensor plus CIFAR-10's standard per-channel normalisation."""
    return transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD)]
    )


def _missing_message(name: str, folder: Path, files: list[str], cause: str) -> str:
    listing = "\n".join(f"  {folder / f}" for f in files)
    return (
        f"{name} is not available: {cause}\n"
        f"Expected these files:\n{listing}\n"
        f"Fix: connect to the internet and call again with download=True, or copy the files there, "
        f"or point the course at a folder that has them with the environment variable "
        f"COURSE_DATA_DIR (or the data_dir argument)."
    )


def _ensure_files(
    name: str, folder: Path, files: list[str], download: bool, dataset_class: type, root: Path, train: bool
) -> None:
    """Download with torchvision's `dataset_class` if any of `files` is missing, then check again."""
    missing = [f for f in files if not (folder / f).is_file()]
    if missing and download:
        try:
            dataset_class(root, train=train, download=True)
        except Exception as error:  # no internet, a proxy, a read-only folder ...
            raise DatasetError(
                _missing_message(name, folder, files, f"the download failed ({error})")
            ) from error
        missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise DatasetError(_missing_message(name, folder, files, f"{missing} not found"))


def check_idx_file(path: Path) -> None:
    """Raise DatasetError unless `path` is a complete IDX file (the format MNIST ships in)."""
    with open(path, "rb") as f:  # the header only: the size of the file says the rest
        raw = f.read(16)
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else -1
    if magic not in (2049, 2051):
        raise DatasetError(
            f"{path} is not an MNIST IDX file (magic number {magic}, expected 2049 or 2051). "
            f"Delete it and download again."
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + int(torch.tensor(dims).prod())
    actual = path.stat().st_size
    if actual != expected:
        raise DatasetError(
            f"{path} is truncated or corrupt: {actual:,} bytes, but its header promises "
            f"{expected:,} ({' x '.join(map(str, dims))}). Delete it and download again."
        )


def load_mnist(
    train: bool = True,
    data_dir: str | os.PathLike | None = None,
    transform: Callable | None = None,
    download: bool = True,
) -> torchvision.datasets.MNIST:
    """MNIST from the course data directory; downloads if missing and `download` is True."""
    root = resolve_data_dir(data_dir)
    folder = root / "MNIST" / "raw"
    files = list(MNIST_FILES[train])
    _ensure_files("MNIST", folder, files, download, torchvision.datasets.MNIST, root, train)
    for f in files:
        check_idx_file(folder / f)
    return torchvision.datasets.MNIST(root, train=train, transform=transform, download=False)


class RepackedCIFAR10(torchvision.datasets.CIFAR10):
    """CIFAR-10 that accepts a re-packed copy: it checks that the files exist, not their md5s.

    Only for a copy you trust whose pixels differ from the canonical release (such as the
    course's JPEG-degraded shared copy); `load_cifar10(accept_repacked=True)` selects it.
    """

    def _check_integrity(self) -> bool:
        folder = Path(self.root) / self.base_folder
        return all((folder / name).is_file() for name, _ in self.train_list + self.test_list)


def _accept_repacked(accept_repacked: bool | None) -> bool:
    if accept_repacked is not None:
        return accept_repacked
    return env_flag(ACCEPT_REPACKED_ENV)


def load_cifar10(
    train: bool = True,
    data_dir: str | os.PathLike | None = None,
    transform: Callable | None = None,
    download: bool = True,
    accept_repacked: bool | None = None,
) -> torchvision.datasets.CIFAR10:
    """CIFAR-10 from the course data directory, md5-checked unless `accept_repacked`.

    `accept_repacked` (default: $COURSE_ACCEPT_REPACKED == "1") skips torchvision's md5 check
    of the data batches, for a trusted re-packed copy. It never applies silently: without it,
    a copy whose md5s differ is refused with an error that says so.
    """
    root = resolve_data_dir(data_dir)
    folder = root / "cifar-10-batches-py"
    files = list(CIFAR10_FILES[train]) + ["batches.meta"]
    _ensure_files("CIFAR-10", folder, files, download, torchvision.datasets.CIFAR10, root, train)
    cls = RepackedCIFAR10 if _accept_repacked(accept_repacked) else torchvision.datasets.CIFAR10
    try:
        return cls(root, train=train, transform=transform, download=False)
    except RuntimeError as error:
        if cls is RepackedCIFAR10:
            raise DatasetError(f"CIFAR-10 in {folder} could not be read: {error}") from error
        raise DatasetError(
            f"CIFAR-10 in {folder} failed torchvision's md5 check: the files are corrupt, or a "
            f"re-packed copy. If it is a copy you trust (such as the course's shared, "
            f"JPEG-degraded one), pass accept_repacked=True or set {ACCEPT_REPACKED_ENV}=1; "
            f"otherwise delete the folder and download again."
        ) from error
    except (pickle.UnpicklingError, EOFError, ValueError) as error:
        raise DatasetError(
            f"CIFAR-10 in {folder} is corrupt ({type(error).__name__}: {error}). "
            f"Delete the folder and download again."
        ) from error


def subset(dataset: Dataset, size: int, seed: int = 0) -> Subset:
    """A deterministic random subset of `size` samples (the same for the same seed)."""
    if not 0 < size <= len(dataset):  # type: ignore[arg-type]
        raise ValueError(f"size must be between 1 and {len(dataset)}, got {size}")  # type: ignore[arg-type]
    generator = torch.Generator().manual_seed(seed)
    indices = torch.randperm(len(dataset), generator=generator)[:size]  # type: ignore[arg-type]
    return Subset(dataset, indices.tolist())


def as_uint8_tensors(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw images of an MNIST or CIFAR-10 data set (or a Subset of one) as uint8 N x C x H x W,
    and their labels as int64; no transform is applied."""
    indices = None
    if isinstance(dataset, Subset):
        indices = torch.as_tensor(dataset.indices, dtype=torch.long)
        dataset = dataset.dataset
    data = getattr(dataset, "data", None)
    targets = getattr(dataset, "targets", None)
    if data is None or targets is None:
        raise TypeError(
            f"{type(dataset).__name__} has no .data/.targets; use an MNIST or CIFAR-10 data set"
        )
    images = torch.as_tensor(data)
    if images.ndim == 3:  # MNIST: N x H x W
        images = images.unsqueeze(1)
    else:  # CIFAR-10: N x H x W x C
        images = images.permute(0, 3, 1, 2)
    labels = torch.as_tensor(targets, dtype=torch.long)
    if indices is not None:
        images, labels = images[indices], labels[indices]
    return images.contiguous(), labels
