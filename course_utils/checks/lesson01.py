"""Exercise checks for notebooks/01_datasets_and_dataloader.ipynb."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, RandomSampler

from course_utils.checks.base import (  # noqa: F401
    ExerciseError,
    expect_close,
    expect_shape,
    expect_tensor,
    fail,
    passed,
)


def exercise_1(mean: torch.Tensor, std: torch.Tensor, images: torch.Tensor) -> None:
    """Exercise 1 of lesson 01: per-channel mean and std of uint8 N x H x W x 3 images, on 0-1."""
    hint = (
        "scale to 0-1 first (images.float() / 255), then reduce over every dimension except the "
        "channel one: x.mean(dim=(0, 1, 2)) and x.std(dim=(0, 1, 2)) for N x H x W x C images."
    )
    x = images.float() / 255
    channels = x.shape[-1]
    expected_mean, expected_std = x.mean(dim=(0, 1, 2)), x.std(dim=(0, 1, 2))
    for name, value in (("mean", mean), ("std", std)):
        value = expect_tensor(value, name, hint)
        if value.numel() == 1:
            fail(
                f"{name} is a single number; expected one value per colour channel, shape "
                f"({channels},).",
                hint,
            )
        expect_shape(value, (channels,), name, hint)
        if value.max() > 1.5:
            fail(
                f"{name} has values up to {value.max():.1f}: that is on the 0-255 scale; "
                f"Normalize works on the 0-1 scale that ToTensor produces.",
                hint,
            )
    expect_close(mean, expected_mean, "mean", hint, atol=1e-3)
    expect_close(std, expected_std, "std", hint, atol=1e-3)
    values = ", ".join(f"{m:.4f}" for m in expected_mean.tolist())
    passed(f"Exercise 1 (normalisation statistics, mean {values})")


def exercise_2(dataset: object) -> None:
    """Exercise 2 of lesson 01: a Dataset's __getitem__ returns (1 x 28 x 28 float tensor, int label)."""
    hint = (
        "in __getitem__: path, label = self.samples[index]; image = Image.open(path); "
        "apply self.transform (ToTensor) to it; return image, label."
    )
    samples = getattr(dataset, "samples", None)
    if not samples:
        fail("the dataset has no .samples list of (path, label) pairs.", "keep the given __init__.")
    if len(dataset) != len(samples):  # type: ignore[arg-type]
        fail(f"len(dataset) is {len(dataset)}, but there are {len(samples)} samples.", hint)  # type: ignore[arg-type]
    for index in sorted({0, len(samples) // 2, len(samples) - 1}):
        item = dataset[index]  # type: ignore[index]
        if not isinstance(item, tuple) or len(item) != 2:
            fail(
                f"dataset[{index}] is a {type(item).__name__}, expected a tuple (image, label).",
                hint,
            )
        image, label = item
        path, expected_label = samples[index]
        from PIL import Image  # here, not at the top: `import course_utils` stays light
        from torchvision.transforms.functional import pil_to_tensor

        if isinstance(image, Image.Image):
            fail(f"dataset[{index}] returns a PIL image; apply self.transform to it.", hint)
        image = expect_tensor(image, f"the image of dataset[{index}]", hint)
        with Image.open(path) as raw:
            expected = pil_to_tensor(raw).float() / 255
        if image.ndim == 2:
            fail(
                f"the image of dataset[{index}] has shape {tuple(image.shape)}: the channel "
                f"dimension is missing, expected {tuple(expected.shape)}.",
                hint,
            )
        expect_shape(image, expected.shape, f"the image of dataset[{index}]", hint)
        if image.dtype == torch.uint8 or image.max() > 1.5:
            fail(f"the image of dataset[{index}] has values above 1; ToTensor scales to 0-1.", hint)
        expect_close(image, expected, f"the image of dataset[{index}]", f"read {path}. {hint}")
        if isinstance(label, str):
            fail(
                f"the label of dataset[{index}] is the string {label!r}; expected the int "
                f"{expected_label}.",
                "samples already holds int labels: return the label from self.samples[index].",
            )
        if int(label) != expected_label:
            fail(f"the label of dataset[{index}] is {label}, expected {expected_label}.", hint)
    passed(f"Exercise 2 (a Dataset's __getitem__, all {len(samples)} samples)")


def exercise_3(loader: DataLoader, batches_per_epoch: int) -> None:
    """Exercise 3 of lesson 01: a shuffling DataLoader of 128 that drops the last batch."""
    hint = (
        "DataLoader(dataset, batch_size=128, shuffle=True, drop_last=True); with drop_last the "
        "number of batches is len(dataset) // 128."
    )
    if not isinstance(loader, DataLoader):
        fail(f"loader should be a torch.utils.data.DataLoader, got {type(loader).__name__}.", hint)
    if loader.batch_size != 128:
        fail(f"loader.batch_size is {loader.batch_size}, expected 128.", hint)
    if not isinstance(loader.sampler, RandomSampler):
        fail("the loader does not shuffle: the samples come in the same order every epoch.", hint)
    if not loader.drop_last:
        fail("the loader keeps the last, incomplete batch (drop_last is False).", hint)
    n = len(loader.dataset)  # type: ignore[arg-type]
    expected = n // 128
    if batches_per_epoch == -(-n // 128) and expected != batches_per_epoch:
        fail(
            f"batches_per_epoch is {batches_per_epoch}: that counts the last, incomplete batch, "
            f"which drop_last=True throws away; expected {expected}.",
            hint,
        )
    if batches_per_epoch != expected:
        fail(f"batches_per_epoch is {batches_per_epoch}, expected {expected}.", hint)
    passed(f"Exercise 3 (a DataLoader, {expected} batches of 128 per epoch)")
