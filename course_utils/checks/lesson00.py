"""Exercise checks for notebooks/00_setup_and_tensors.ipynb."""

from __future__ import annotations

import torch

from course_utils.checks.base import (
    expect_close,
    expect_number,
    expect_shape,
    expect_tensor,
    fail,
    passed,
)
from course_utils.i18n import _


def exercise_1(grid: torch.Tensor) -> None:
    """Exercise 1 of lesson 00: the numbers 0 to 11 as a 3 x 4 float32 tensor."""
    hint = _("torch.arange(12, dtype=torch.float32) gives 0..11; .reshape(3, 4) makes 3 rows of 4.")
    grid = expect_tensor(grid, "grid", hint)
    expect_shape(grid, (3, 4), "grid", hint)
    if grid.dtype != torch.float32:
        fail(_("grid has dtype {dtype}, expected torch.float32.").format(dtype=grid.dtype), hint)
    expect_close(grid, torch.arange(12, dtype=torch.float32).reshape(3, 4), "grid", hint)
    passed(_("Exercise 1 (a 3 x 4 grid)"))


def exercise_2(flat: torch.Tensor, raw: torch.Tensor) -> None:
    """Exercise 2 of lesson 00: raw uint8 digits to float32 rows of 784 pixels scaled to 0-1."""
    hint = _(
        "keep the batch dimension (raw.flatten(1), not torch.flatten(raw)), convert with .float() "
        "and divide by 255."
    )
    flat = expect_tensor(flat, "flat", hint)
    expected = raw.reshape(raw.shape[0], -1).float() / 255
    if flat.ndim == 1 and flat.numel() == raw.numel():
        fail(
            _(
                "flat has shape {shape}: all {count} images were merged into "
                "one long vector, expected {expected} (one row per image)."
            ).format(shape=tuple(flat.shape), count=raw.shape[0], expected=tuple(expected.shape)),
            hint,
        )
    expect_shape(flat, expected.shape, "flat", hint)
    if not flat.is_floating_point():
        fail(
            _(
                "flat has dtype {dtype}: still whole numbers 0-255. Networks compute in float32."
            ).format(dtype=flat.dtype),
            _("convert with .float() (or .to(torch.float32)), then divide by 255."),
        )
    if flat.dtype != torch.float32:
        fail(
            _("flat has dtype {dtype}, expected torch.float32 (the dtype layers use).").format(
                dtype=flat.dtype
            ),
            _("use .float(), which gives float32, rather than .double()."),
        )
    if flat.detach().max().item() > 1.5:
        fail(
            _("flat goes up to {largest:.0f}: the pixels are not scaled to 0-1.").format(
                largest=flat.detach().max().item()
            ),
            _("divide by 255, the largest value a uint8 pixel can have."),
        )
    expect_close(
        flat,
        expected,
        "flat",
        _("the rows must be the images in their original order, each divided by 255."),
    )
    passed(_("Exercise 2 (raw digits to float rows)"))


def exercise_3(ink: torch.Tensor, raw: torch.Tensor) -> None:
    """Exercise 3 of lesson 00: the fraction of pixels >= 128 in each image, from a torch.ge mask."""
    hint = _(
        "torch.ge(raw, 128) is a True/False mask; .float() makes it 1s and 0s, and a mean over "
        "dims (1, 2) averages each image's pixels, leaving one number per image."
    )
    ink = expect_tensor(ink, "ink", hint)
    mask = torch.ge(raw, 128).float()
    expected = mask.mean(dim=(1, 2))
    n = raw.shape[0]
    if ink.numel() == 1:
        fail(
            _(
                "ink is a single number ({value:.4f}): you averaged over the whole "
                "batch, expected {count} numbers, one per image."
            ).format(value=ink.float().mean().item(), count=n),
            hint,
        )
    if (
        tuple(ink.shape) in {tuple(mask.mean(dim=1).shape), tuple(mask.mean(dim=2).shape)}
        and ink.ndim == 2
    ):
        fail(
            _(
                "ink has shape {shape}: you averaged over one dimension only (rows or columns), "
                "expected ({count},)."
            ).format(shape=tuple(ink.shape), count=n),
            _("pass both pixel dimensions to the mean: dim=(1, 2)."),
        )
    expect_shape(ink, expected.shape, "ink", hint)
    if not ink.is_floating_point():
        fail(
            _("ink has dtype {dtype}; fractions need a float dtype.").format(dtype=ink.dtype), hint
        )
    got = ink.detach().double()
    if torch.allclose(got, mask.sum(dim=(1, 2)).double()):
        fail(
            _("ink holds the number of bright pixels in each image, not the fraction."),
            _("use mean instead of sum (or divide the count by the 784 pixels of an image)."),
        )
    strict = torch.gt(raw, 128).float().mean(dim=(1, 2))
    if torch.allclose(got, strict.double()) and not torch.allclose(got, expected.double()):
        fail(
            _("ink counts pixels above 128, but 128 itself should count too."),
            _("torch.ge means >=."),
        )
    expect_close(ink, expected, "ink", hint)
    passed(
        _("Exercise 3 (ink per image, from {lowest:.3f} to {highest:.3f})").format(
            lowest=got.min().item(), highest=got.max().item()
        )
    )


def top_k_accuracy(logits: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    """The fraction of samples whose label is among their k highest scores (rows of logits)."""
    best = logits.topk(k, dim=1).indices
    return (best == labels.unsqueeze(1)).any(dim=1).float().mean().item()


def exercise_4(top3: object, logits: torch.Tensor, labels: torch.Tensor) -> None:
    """Exercise 4 of lesson 00: top-3 accuracy with topk along the class dimension."""
    hint = _(
        "logits.topk(3, dim=1).indices gives each sample's three best classes (N x 3); compare "
        "with labels.unsqueeze(1) (N x 1), take .any(dim=1) per row, then the mean as a float."
    )
    value = expect_number(top3, "top3", hint)
    n = len(labels)
    expected = top_k_accuracy(logits, labels, 3)
    if abs(value - expected) < 1e-6:
        passed(
            _("Exercise 4 (top-3 accuracy {value:.3f}: {hits} of {count} samples)").format(
                value=value, hits=round(value * n), count=n
            )
        )
        return
    if abs(value - expected * n) < 1e-6:
        fail(
            _("top3 is {value:g}: that is the number of hits, not the fraction.").format(
                value=value
            ),
            _("divide by the number of samples (or take the mean)."),
        )
    if abs(value - 100 * expected) < 1e-4:
        fail(
            _("top3 is {value:g}: a percentage; give a fraction between 0 and 1.").format(
                value=value
            ),
            hint,
        )
    if abs(value - top_k_accuracy(logits, labels, 1)) < 1e-6:
        fail(
            _(
                "top3 is {value:g}: that is the ordinary (top-1) accuracy, from the single best class."
            ).format(value=value),
            _("use topk(3, dim=1) to get each sample's three best classes."),
        )
    if not 0 <= value <= 1:
        fail(_("top3 is {value:g}, but a fraction lies between 0 and 1.").format(value=value), hint)
    fail(
        _("top3 is {value:g}, expected {expected:g}.").format(value=value, expected=expected), hint
    )
