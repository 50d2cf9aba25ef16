"""course_utils.convolution (lesson 02): named kernels, the output-size formula, apply_kernel."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from course_utils import convolution


def test_importing_it_loads_neither_ipywidgets_nor_matplotlib():
    code = (
        "import sys, course_utils.convolution; "
        "print(','.join(m for m in ('ipywidgets', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_course_utils_exposes_it_and_widgets_uses_the_same_functions():
    import course_utils as cu
    from course_utils import widgets

    assert cu.convolution is convolution
    assert widgets.apply_kernel is convolution.apply_kernel
    assert widgets.conv_output_size is convolution.conv_output_size


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "expected"),
    [(32, 3, 1, 0, 30), (32, 5, 1, 2, 32), (32, 3, 2, 1, 16), (64, 5, 2, 1, 31), (5, 3, 3, 0, 1)],
)
def test_conv_output_size_is_the_formula(size, kernel, stride, padding, expected):
    assert convolution.conv_output_size(size, kernel, stride, padding) == expected


def test_get_kernel_by_name_and_unknown_name():
    assert convolution.get_kernel("identity")[1, 1] == 1
    with pytest.raises(ValueError, match="unknown kernel 'nope'; choose one of"):
        convolution.get_kernel("nope")


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding"),
    [(32, 3, 1, 0), (32, 3, 2, 1), (28, 5, 1, 2), (31, 3, 3, 0), (7, 7, 1, 0), (10, 3, 4, 4)],
)
def test_apply_kernel_matches_conv2d_and_the_size_formula(size, kernel, stride, padding):
    image = torch.rand(3, size, size, generator=torch.Generator().manual_seed(size))
    weight = torch.randn(kernel, kernel, generator=torch.Generator().manual_seed(kernel))
    out = convolution.apply_kernel(image, weight, stride, padding)
    expected_size = convolution.conv_output_size(size, kernel, stride, padding)
    assert out.shape == (3, expected_size, expected_size)
    conv = nn.Conv2d(3, 3, kernel, stride, padding, groups=3, bias=False)
    with torch.no_grad():
        conv.weight.copy_(weight.expand(3, 1, kernel, kernel))
        torch.testing.assert_close(out, conv(image.unsqueeze(0))[0])


def test_apply_kernel_identity_keeps_the_image_and_blur_keeps_a_flat_one():
    image = torch.rand(1, 9, 9)
    torch.testing.assert_close(convolution.apply_kernel(image, "identity", padding=1), image)
    flat = torch.full((1, 6, 6), 0.5)
    torch.testing.assert_close(
        convolution.apply_kernel(flat, "blur (box)"), torch.full((1, 4, 4), 0.5)
    )


def test_apply_kernel_scales_uint8_and_accepts_h_x_w():
    out = convolution.apply_kernel(torch.full((5, 5), 255, dtype=torch.uint8), "identity")
    torch.testing.assert_close(out, torch.ones(1, 3, 3))


def test_apply_kernel_clear_errors():
    with pytest.raises(ValueError, match="does not fit in the 2 x 2 image with padding 0"):
        convolution.apply_kernel(torch.rand(1, 2, 2), "sharpen")
    with pytest.raises(ValueError, match="stride must be >= 1"):
        convolution.apply_kernel(torch.rand(1, 8, 8), "sharpen", stride=0)
    with pytest.raises(ValueError, match=r"C x H x W or H x W, got shape \(1, 1, 8, 8\)"):
        convolution.apply_kernel(torch.rand(1, 1, 8, 8), "sharpen")
