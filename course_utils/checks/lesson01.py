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
from course_utils.i18n import _


def exercise_1(mean: torch.Tensor, std: torch.Tensor, images: torch.Tensor) -> None:
    """Exercise 1 of lesson 01: per-channel mean and std of uint8 N x H x W x 3 images, on 0-1."""
    hint = _(
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
                _(
                    "{name} is a single number; expected one value per colour channel, shape "
                    "({channels},)."
                ).format(name=name, channels=channels),
                hint,
            )
        expect_shape(value, (channels,), name, hint)
        if value.max() > 1.5:
            fail(
                _(
                    "{name} has values up to {largest:.1f}: that is on the 0-255 scale; "
                    "Normalize works on the 0-1 scale that ToTensor produces."
                ).format(name=name, largest=value.max()),
                hint,
            )
    expect_close(mean, expected_mean, "mean", hint, atol=1e-3)
    expect_close(std, expected_std, "std", hint, atol=1e-3)
    values = ", ".join(f"{m:.4f}" for m in expected_mean.tolist())
    passed(_("Exercise 1 (normalisation statistics, mean {values})").format(values=values))


def exercise_2(dataset: object) -> None:
    """Exercise 2 of lesson 01: a Dataset's __getitem__ returns (1 x 28 x 28 float tensor, int label)."""
    hint = _(
        "in __getitem__, take the (path, label) pair at self.samples[idx], open the file with "
        "PIL's Image.open, pass the picture through self.transform and return it with the label."
    )
    samples = getattr(dataset, "samples", None)
    if not samples:
        fail(
            _("the dataset has no .samples list of (path, label) pairs."),
            _("keep the given __init__."),
        )
    if len(dataset) != len(samples):  # type: ignore[arg-type]
        fail(
            _("len(dataset) is {length}, but there are {count} samples.").format(
                length=len(dataset),  # type: ignore[arg-type]
                count=len(samples),
            ),
            hint,
        )
    for index in sorted({0, len(samples) // 2, len(samples) - 1}):
        item = dataset[index]  # type: ignore[index]
        if not isinstance(item, tuple) or len(item) != 2:
            fail(
                _("dataset[{index}] is a {kind}, expected a tuple (image, label).").format(
                    index=index, kind=type(item).__name__
                ),
                hint,
            )
        image, label = item
        path, expected_label = samples[index]
        from PIL import Image  # here, not at the top: `import course_utils` stays light
        from torchvision.transforms.functional import pil_to_tensor

        if isinstance(image, Image.Image):
            fail(
                _("dataset[{index}] returns a PIL image; apply self.transform to it.").format(
                    index=index
                ),
                hint,
            )
        image_name = _("the image of dataset[{index}]").format(index=index)
        image = expect_tensor(image, image_name, hint)
        with Image.open(path) as raw:
            expected = pil_to_tensor(raw).float() / 255
        if image.ndim == 2:
            fail(
                _(
                    "the image of dataset[{index}] has shape {shape}: the channel "
                    "dimension is missing, expected {expected}."
                ).format(index=index, shape=tuple(image.shape), expected=tuple(expected.shape)),
                hint,
            )
        expect_shape(image, expected.shape, image_name, hint)
        if image.dtype == torch.uint8 or image.max() > 1.5:
            fail(
                _(
                    "the image of dataset[{index}] has values above 1; ToTensor scales to 0-1."
                ).format(index=index),
                hint,
            )
        expect_close(
            image, expected, image_name, _("read {path}. {hint}").format(path=path, hint=hint)
        )
        if isinstance(label, str):
            fail(
                _(
                    "the label of dataset[{index}] is the string {label}; expected the int "
                    "{expected}."
                ).format(index=index, label=repr(label), expected=expected_label),
                _("samples already holds int labels: return the label from self.samples[index]."),
            )
        if int(label) != expected_label:
            fail(
                _("the label of dataset[{index}] is {label}, expected {expected}.").format(
                    index=index, label=label, expected=expected_label
                ),
                hint,
            )
    passed(
        _("Exercise 2 (a Dataset's __getitem__, all {count} samples)").format(count=len(samples))
    )


def exercise_3(loader: DataLoader, batches_per_epoch: int) -> None:
    """Exercise 3 of lesson 01: a shuffling DataLoader of 128 that drops the last batch."""
    hint = _(
        "DataLoader(dataset, batch_size=128, shuffle=True, drop_last=True); with drop_last the "
        "number of batches is len(dataset) // 128."
    )
    if not isinstance(loader, DataLoader):
        fail(
            _("loader should be a torch.utils.data.DataLoader, got {kind}.").format(
                kind=type(loader).__name__
            ),
            hint,
        )
    if loader.batch_size != 128:
        fail(_("loader.batch_size is {size}, expected 128.").format(size=loader.batch_size), hint)
    if not isinstance(loader.sampler, RandomSampler):
        fail(
            _("the loader does not shuffle: the samples come in the same order every epoch."),
            hint,
        )
    if not loader.drop_last:
        fail(_("the loader keeps the last, incomplete batch (drop_last is False)."), hint)
    n = len(loader.dataset)  # type: ignore[arg-type]
    expected = n // 128
    if batches_per_epoch == -(-n // 128) and expected != batches_per_epoch:
        fail(
            _(
                "batches_per_epoch is {count}: that counts the last, incomplete batch, "
                "which drop_last=True throws away; expected {expected}."
            ).format(count=batches_per_epoch, expected=expected),
            hint,
        )
    if batches_per_epoch != expected:
        fail(
            _("batches_per_epoch is {count}, expected {expected}.").format(
                count=batches_per_epoch, expected=expected
            ),
            hint,
        )
    passed(_("Exercise 3 (a DataLoader, {count} batches of 128 per epoch)").format(count=expected))


def exercise_4(train_part: object, val_part: object, dataset: Dataset, n_val: int = 5000) -> None:
    """Exercise 4 of lesson 01: a training/validation split by random_split, seeded with 0."""
    hint = _(
        "random_split(dataset, [len(dataset) - 5000, 5000], generator=torch.Generator()"
        ".manual_seed(0)) returns the two parts in that order."
    )
    n = len(dataset)  # type: ignore[arg-type]
    parts = {"train_part": train_part, "val_part": val_part}
    for name, part in parts.items():
        if not isinstance(part, Subset):
            fail(
                _(
                    "{name} is a {kind}; random_split returns torch.utils.data.Subset "
                    "objects, which keep the data set and the indices they take from it."
                ).format(name=name, kind=type(part).__name__),
                hint,
            )
        if part.dataset is not dataset:
            fail(
                _("{name} takes its samples from another data set; split mnist_train_t.").format(
                    name=name
                ),
                hint,
            )
    assert isinstance(train_part, Subset) and isinstance(val_part, Subset)
    if n_val != n - n_val and (len(train_part), len(val_part)) == (n_val, n - n_val):
        fail(
            _(
                "the parts are swapped: train_part has {train} samples and val_part {val}; "
                "the validation set is the small one."
            ).format(train=n_val, val=n - n_val),
            hint,
        )
    if (len(train_part), len(val_part)) != (n - n_val, n_val):
        fail(
            _(
                "the parts have {train} and {val} samples; expected "
                "{expected_train} and {expected_val}, together the whole data set."
            ).format(
                train=len(train_part),
                val=len(val_part),
                expected_train=n - n_val,
                expected_val=n_val,
            ),
            hint,
        )
    train_idx, val_idx = list(train_part.indices), list(val_part.indices)
    shared = set(train_idx) & set(val_idx)
    if shared:
        fail(
            _(
                "{count} samples are in both parts: the network would be validated on data it "
                "trained on."
            ).format(count=len(shared)),
            hint,
        )
    if val_idx == list(range(n - n_val, n)) or val_idx == list(range(n_val)):
        fail(
            _(
                "the validation set is a block of samples in file order, not a random choice; if "
                "the file is sorted in any way (by writer, by date, by class), that block is not "
                "typical."
            ),
            hint,
        )
    generator = torch.Generator().manual_seed(0)
    expected = random_split(range(n), [n - n_val, n_val], generator=generator)
    if train_idx != list(expected[0].indices) or val_idx != list(expected[1].indices):
        fail(
            _(
                "the split is random, but not the one a generator seeded with 0 gives, so the "
                "next run would get another validation set; pass "
                "generator=torch.Generator().manual_seed(0)."
            ),
            hint,
        )
    passed(
        _("Exercise 4 (a reproducible split: {train} for training, {val} for validation)").format(
            train=n - n_val, val=n_val
        )
    )
