"""What a convolution computes: named kernels, the output-size formula, one kernel applied to an
image. Lesson 02 (notebooks/02_layers.ipynb); the convolution widget in `widgets` draws with these.

Only torch is imported here, so checks and lessons can use it without ipywidgets or matplotlib.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

KERNELS: dict[str, list[list[float]]] = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "blur (box)": [[1 / 9] * 3] * 3,
    "blur (Gaussian)": [
        [1 / 16, 2 / 16, 1 / 16],
        [2 / 16, 4 / 16, 2 / 16],
        [1 / 16, 2 / 16, 1 / 16],
    ],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "edge (Laplacian)": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "vertical edges (Sobel x)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "horizontal edges (Sobel y)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}


def get_kernel(kernel: str | torch.Tensor) -> torch.Tensor:
    """A 2-D kernel: a name from KERNELS, or a k x k tensor passed through. Lesson 02."""
    if isinstance(kernel, str):
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; choose one of {sorted(KERNELS)}")
        return torch.tensor(KERNELS[kernel], dtype=torch.float32)
    kernel = torch.as_tensor(kernel, dtype=torch.float32)
    if kernel.ndim != 2:
        raise ValueError(f"a kernel should be 2-D (k x k), got shape {tuple(kernel.shape)}")
    return kernel


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Output height (or width) of Conv2d/MaxPool2d: floor((size + 2*padding - kernel_size) / stride) + 1. Lesson 02."""
    return (size + 2 * padding - kernel_size) // stride + 1


def apply_kernel(
    image: torch.Tensor, kernel: str | torch.Tensor, stride: int = 1, padding: int = 0
) -> torch.Tensor:
    """Convolve each channel of a C x H x W (or H x W) image with one kernel, as Conv2d does. Lesson 02."""
    image = torch.as_tensor(image)
    if image.ndim == 2:
        image = image.unsqueeze(0)
    if image.ndim != 3:
        raise ValueError(f"image should be C x H x W or H x W, got shape {tuple(image.shape)}")
    if image.dtype == torch.uint8:
        image = image.float() / 255
    weight = get_kernel(kernel)
    if stride < 1 or padding < 0:
        raise ValueError(
            f"stride must be >= 1 and padding >= 0, got stride={stride}, padding={padding}"
        )
    channels, height, width = image.shape
    k_h, k_w = weight.shape
    if height + 2 * padding < k_h or width + 2 * padding < k_w:
        raise ValueError(
            f"the {k_h} x {k_w} kernel does not fit in the {height} x {width} image with padding "
            f"{padding}; use a smaller kernel or more padding."
        )
    weight = weight.to(image.dtype).expand(channels, 1, k_h, k_w)  # one kernel per channel
    return F.conv2d(image.float().unsqueeze(0), weight.float(), stride=stride, padding=padding,
                    groups=channels)[0]  # fmt: skip
