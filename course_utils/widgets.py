"""Interactive widgets for the lessons (ipywidgets, imported only when this module is used).

Each widget names the lesson that uses it. Every widget also has a plain function behind it
that draws one state, so it can be tested and used without a browser.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image

from course_utils.convolution import KERNELS, apply_kernel, conv_output_size, get_kernel
from course_utils.lr_sweep import OPTIMIZERS, draw_lr_curves, lr_loss_curve
from course_utils.plots import show_images

# ---------------------------------------------------------------------------------------------
# Lesson 01: a browser that pages through a data set
# ---------------------------------------------------------------------------------------------


def _as_image_tensor(image: object) -> torch.Tensor:
    """One sample's image as a C x H x W tensor (uint8 stays uint8, float stays float)."""
    if isinstance(image, Image.Image):
        array = np.array(image)
        tensor = torch.from_numpy(array.copy())
        return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    if isinstance(image, np.ndarray):
        image = torch.from_numpy(image.copy())
    if isinstance(image, torch.Tensor):
        if image.ndim == 2:
            return image.unsqueeze(0)
        if image.ndim == 3:
            return image
    raise TypeError(
        f"a sample's image should be a PIL image or a C x H x W tensor, got {type(image).__name__}"
        f"{' of shape ' + str(tuple(image.shape)) if hasattr(image, 'shape') else ''}."
    )


def page_count(dataset: Sequence, per_page: int) -> int:
    """How many pages of `per_page` samples `dataset` fills. Lesson 01."""
    if per_page < 1:
        raise ValueError(f"per_page must be at least 1, got {per_page}")
    return max(1, -(-len(dataset) // per_page))


def dataset_page(
    dataset: Sequence, page: int, per_page: int = 16
) -> tuple[torch.Tensor, list[int]]:
    """The images (N x C x H x W) and labels of page `page` (counted from 0) of a data set. Lesson 01."""
    pages = page_count(dataset, per_page)
    if not 0 <= page < pages:
        raise ValueError(
            f"page {page} does not exist: {len(dataset)} samples make {pages} pages of "
            f"{per_page}, numbered 0 to {pages - 1}."
        )
    images, labels = [], []
    for index in range(page * per_page, min(len(dataset), (page + 1) * per_page)):
        image, label = dataset[index]
        images.append(_as_image_tensor(image))
        labels.append(int(label))
    return torch.stack(images), labels


def draw_dataset_page(
    dataset: Sequence,
    page: int = 0,
    class_names: Sequence[str] | None = None,
    per_page: int = 16,
    ncols: int = 8,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> Figure:
    """Draw one page of a data set as an image grid titled with labels. Lesson 01."""
    images, labels = dataset_page(dataset, page, per_page)
    first = page * per_page
    title = (
        f"samples {first} to {first + len(labels) - 1} of {len(dataset)} "
        f"(page {page} of 0 to {page_count(dataset, per_page) - 1})"
    )
    return show_images(images, labels, class_names=class_names, mean=mean, std=std,
                       ncols=ncols, title=title)  # fmt: skip


def figure_png(fig: Figure) -> bytes:
    """Render a figure to PNG bytes for an ipywidgets Image, and close it. Lessons 01, 02 and 04.

    An Image widget is updated in place; unlike an Output widget it needs no display() or
    clear_output() calls, which can stall notebook runners such as nbclient.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def dataset_browser(
    dataset: Sequence,
    class_names: Sequence[str] | None = None,
    per_page: int = 16,
    ncols: int = 8,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> widgets.VBox:
    """A page slider with previous/next buttons that shows a data set, `per_page` at a time. Lesson 01."""
    last = page_count(dataset, per_page) - 1
    slider = widgets.IntSlider(value=0, min=0, max=last, description="page",
                               continuous_update=False)  # fmt: skip
    previous = widgets.Button(description="\u25c0 previous")
    following = widgets.Button(description="next \u25b6")
    picture = widgets.Image(format="png")

    def redraw(_: object = None) -> None:
        fig = draw_dataset_page(dataset, slider.value, class_names, per_page, ncols, mean, std)
        picture.value = figure_png(fig)

    def step(delta: int) -> None:
        slider.value = min(last, max(0, slider.value + delta))

    previous.on_click(lambda _: step(-1))
    following.on_click(lambda _: step(1))
    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([previous, slider, following]), picture])


# ---------------------------------------------------------------------------------------------
# Lesson 02: what a convolution kernel, its stride and its padding do to an image
# ---------------------------------------------------------------------------------------------

# The computation (KERNELS, get_kernel, conv_output_size, apply_kernel) lives in
# course_utils.convolution; the drawing and the widget stay here.


def _displayable(image: torch.Tensor, signed: bool) -> np.ndarray:
    """H x W or H x W x 3 array in 0-1: clamped, or |values| scaled by their maximum if signed."""
    image = image.detach().float()
    if signed:
        image = image.abs() / image.abs().max().clamp_min(1e-8)
    image = image.clamp(0, 1)
    return image[0].numpy() if image.shape[0] == 1 else image.permute(1, 2, 0).numpy()


def draw_convolution(
    image: torch.Tensor,
    kernel: str | torch.Tensor = "edge (Laplacian)",
    stride: int = 1,
    padding: int = 0,
) -> Figure:
    """Draw an image, a kernel and the convolved output, with the output-size formula. Lesson 02.

    Kernels whose values sum to 0 (edge detectors) give negative values: the output panel then
    shows their size |value|, scaled so that the strongest edge is white.
    """
    image = torch.as_tensor(image)
    if image.ndim == 2:
        image = image.unsqueeze(0)
    output = apply_kernel(image, kernel, stride, padding)
    weight = get_kernel(kernel)
    if image.dtype == torch.uint8:
        image = image.float() / 255
    _, height, width = image.shape
    k = weight.shape[0]
    fig, (ax_in, ax_k, ax_out) = plt.subplots(1, 3, figsize=(10, 3.6),
                                              gridspec_kw={"width_ratios": [3, 2, 3]})  # fmt: skip
    gray = {"cmap": "gray"} if image.shape[0] == 1 else {}
    ax_in.imshow(_displayable(image, signed=False), **gray, vmin=0, vmax=1)
    ax_in.set_title(f"input {' x '.join(map(str, image.shape))}", fontsize=9)
    limit = float(weight.abs().max())
    ax_k.imshow(weight.numpy(), cmap="coolwarm", vmin=-limit, vmax=limit)
    for (i, j), value in np.ndenumerate(weight.numpy()):
        ax_k.text(j, i, f"{value:.2g}", ha="center", va="center", fontsize=8)
    name = kernel if isinstance(kernel, str) else "custom"
    ax_k.set_title(f"kernel: {name}\n{k} x {weight.shape[1]}, stride {stride}, padding {padding}",
                   fontsize=9)  # fmt: skip
    signed = abs(float(weight.sum())) < 1e-6
    ax_out.imshow(_displayable(output, signed=signed), **gray, vmin=0, vmax=1)
    out_h = conv_output_size(height, k, stride, padding)
    ax_out.set_title(
        f"output {' x '.join(map(str, output.shape))}\n"
        f"floor(({height} + 2*{padding} - {k}) / {stride}) + 1 = {out_h}"
        + ("  (|value|)" if signed else ""),
        fontsize=9,
    )
    for ax in (ax_in, ax_k, ax_out):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def conv_explorer(image: torch.Tensor) -> widgets.VBox:
    """Pick a kernel, stride and padding and see what the convolution does to `image`. Lesson 02."""
    kernel = widgets.Dropdown(options=list(KERNELS), value="edge (Laplacian)", description="kernel")
    stride = widgets.IntSlider(value=1, min=1, max=4, description="stride", continuous_update=False)
    padding = widgets.IntSlider(value=0, min=0, max=4, description="padding",
                                continuous_update=False)  # fmt: skip
    picture = widgets.Image(format="png")

    def redraw(_: object = None) -> None:
        fig = draw_convolution(image, kernel.value, stride.value, padding.value)
        picture.value = figure_png(fig)

    for control in (kernel, stride, padding):
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([kernel, stride, padding]), picture])


# ---------------------------------------------------------------------------------------------
# Lesson 04: how the learning rate and the optimizer shape the loss curve
# ---------------------------------------------------------------------------------------------

# The plain functions behind the explorer (lr_loss_curve, draw_lr_curves, ...) are in
# course_utils.lr_sweep, which needs no ipywidgets.


def lr_explorer(
    features: torch.Tensor,
    labels: torch.Tensor,
    steps: int = 300,
    lr: float = 0.1,
    optimizer: str = "SGD",
    keep: int = 3,
) -> widgets.VBox:
    """A learning-rate slider and an optimizer menu; each change trains `tiny_mlp` afresh and
    plots its loss live, beside the last `keep` runs. Lesson 04."""
    lr_slider = widgets.FloatLogSlider(value=lr, base=10, min=-4, max=1, step=0.25,
                                       description="learning rate", readout_format=".4f",
                                       continuous_update=False, style={"description_width": "initial"})  # fmt: skip
    menu = widgets.Dropdown(options=list(OPTIMIZERS), value=optimizer, description="optimizer")
    picture = widgets.Image(format="png")  # redrawn in place: see figure_png
    earlier: dict[str, list[float]] = {}

    def train(_: object = None) -> None:
        label = f"{menu.value}, lr={lr_slider.value:.4g}"

        def redraw(losses: list[float]) -> None:
            others = {k: v for k, v in earlier.items() if k != label}
            fig = draw_lr_curves({label: losses, **others}, title=f"{steps} steps of {label}")
            picture.value = figure_png(fig)

        losses = lr_loss_curve(
            features, labels, lr_slider.value, menu.value, steps, callback=redraw
        )
        earlier.pop(label, None)
        earlier[label] = losses
        while len(earlier) > keep:  # forget the oldest run
            earlier.pop(next(iter(earlier)))

    lr_slider.observe(train, names="value")
    menu.observe(train, names="value")
    train()
    return widgets.VBox([widgets.HBox([lr_slider, menu]), picture])
