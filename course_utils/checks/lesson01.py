"""Exercise checks for notebooks/01_datasets_and_dataloader.ipynb."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, Subset, random_split

from course_utils.checks.base import (
    expect_close,
    expect_shape,
    expect_tensor,
    fail,
    passed,
)


def exercise_1(mean: torch.Tensor, std: torch.Tensor, images: torch.Tensor) -> None:
    """Exercise 1 of lesson 01: per-channel mean and std of uint8 N x H x W x 3 images, on 0-1."""
    hint = (
        "scale to 0-1 first (divide the float pixels by 255), then reduce over every dimension "
        "except the channel one; for N x H x W x C images that is dim=(0, 1, 2)."
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
        "in __getitem__, take the (path, label) pair at self.samples[idx], open the file with "
        "PIL's Image.open, pass the picture through self.transform and return it with the label."
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


def exercise_4(train_part: object, val_part: object, dataset: Dataset, n_val: int = 5000) -> None:
    """Exercise 4 of lesson 01: a training/validation split by random_split, seeded with 0."""
    hint = (
        "random_split(dataset, [len(dataset) - 5000, 5000], generator=torch.Generator()"
        ".manual_seed(0)) returns the two parts in that order."
    )
    n = len(dataset)  # type: ignore[arg-type]
    parts = {"train_part": train_part, "val_part": val_part}
    for name, part in parts.items():
        if not isinstance(part, Subset):
            fail(
                f"{name} is a {type(part).__name__}; random_split returns torch.utils.data.Subset "
                f"objects, which keep the data set and the indices they take from it.",
                hint,
            )
        if part.dataset is not dataset:
            fail(f"{name} takes its samples from another data set; split mnist_train_t.", hint)
    assert isinstance(train_part, Subset) and isinstance(val_part, Subset)
    if n_val != n - n_val and (len(train_part), len(val_part)) == (n_val, n - n_val):
        fail(
            f"the parts are swapped: train_part has {n_val} samples and val_part {n - n_val}; "
            f"the validation set is the small one.",
            hint,
        )
    if (len(train_part), len(val_part)) != (n - n_val, n_val):
        fail(
            f"the parts have {len(train_part)} and {len(val_part)} samples; expected "
            f"{n - n_val} and {n_val}, together the whole data set.",
            hint,
        )
    train_idx, val_idx = list(train_part.indices), list(val_part.indices)
    shared = set(train_idx) & set(val_idx)
    if shared:
        fail(
            f"{len(shared)} samples are in both parts: the network would be validated on data it "
            f"trained on.",
            hint,
        )
    if val_idx == list(range(n - n_val, n)) or val_idx == list(range(n_val)):
        fail(
            "the validation set is a block of samples in file order, not a random choice; if the "
            "file is sorted in any way (by writer, by date, by class), that block is not typical.",
            hint,
        )
    generator = torch.Generator().manual_seed(0)
    expected = random_split(range(n), [n - n_val, n_val], generator=generator)
    if train_idx != list(expected[0].indices) or val_idx != list(expected[1].indices):
        fail(
            "the split is random, but not the one a generator seeded with 0 gives, so the next "
            "run would get another validation set; pass generator=torch.Generator().manual_seed(0).",
            hint,
        )
    passed(f"Exercise 4 (a reproducible split: {n - n_val} for training, {n_val} for validation)")
