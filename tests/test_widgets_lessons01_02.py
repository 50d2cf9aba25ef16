"""The plain functions behind the widgets of lessons 01 and 02 (no browser needed).

The convolution arithmetic the lesson-02 widget draws is tested in tests/test_convolution.py."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torch.utils.data import TensorDataset  # noqa: E402

from course_utils import widgets  # noqa: E402


class PILDataset:
    """Like torchvision's MNIST without a transform: (PIL image, int label) samples."""

    def __init__(self, n: int) -> None:
        self.images = [np.full((28, 28), i, dtype=np.uint8) for i in range(n)]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return Image.fromarray(self.images[index], mode="L"), index % 10


def test_page_count_rounds_up():
    assert widgets.page_count(range(33), 16) == 3
    assert widgets.page_count(range(32), 16) == 2
    with pytest.raises(ValueError, match="per_page must be at least 1"):
        widgets.page_count(range(5), 0)


def test_dataset_page_reads_pil_images_as_uint8_tensors():
    images, labels = widgets.dataset_page(PILDataset(20), page=1, per_page=8)
    assert images.shape == (8, 1, 28, 28) and images.dtype == torch.uint8
    assert labels == [8, 9, 0, 1, 2, 3, 4, 5]
    assert int(images[0, 0, 0, 0]) == 8  # sample 8 is filled with the value 8


def test_dataset_page_last_page_is_short():
    images, labels = widgets.dataset_page(PILDataset(20), page=2, per_page=8)
    assert images.shape == (4, 1, 28, 28) and labels == [6, 7, 8, 9]


def test_dataset_page_rejects_a_missing_page():
    with pytest.raises(ValueError, match="page 3 does not exist: 20 samples make 3 pages of 8"):
        widgets.dataset_page(PILDataset(20), page=3, per_page=8)


def test_dataset_page_rejects_non_images():
    dataset = TensorDataset(torch.zeros(4), torch.zeros(4))
    with pytest.raises(TypeError, match="PIL image or a C x H x W tensor"):
        widgets.dataset_page(dataset, 0)


def test_draw_dataset_page_titles_with_class_names():
    dataset = TensorDataset(torch.rand(10, 3, 8, 8), torch.arange(10) % 2)
    fig = widgets.draw_dataset_page(dataset, page=1, class_names=["cat", "dog"], per_page=4)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["cat", "dog", "cat", "dog"]
    assert "samples 4 to 7 of 10" in fig._suptitle.get_text()
    plt.close(fig)


PNG_MAGIC = b"\x89PNG"


def test_figure_png_renders_and_closes():
    fig = plt.figure()
    data = widgets.figure_png(fig)
    assert data.startswith(PNG_MAGIC)
    assert not plt.fignum_exists(fig.number)


def test_dataset_browser_builds_and_pages():
    browser = widgets.dataset_browser(PILDataset(20), per_page=8)
    previous, slider, following = browser.children[0].children
    picture = browser.children[1]
    first_page = bytes(picture.value)
    assert first_page.startswith(PNG_MAGIC)
    assert (slider.min, slider.max, slider.value) == (0, 2, 0)
    following.click()
    assert bytes(picture.value) != first_page  # redrawn for page 1
    following.click()
    following.click()  # stops at the last page
    assert slider.value == 2
    previous.click()
    assert slider.value == 1
    assert plt.get_fignums() == []  # every drawn page was closed


def test_draw_convolution_titles_show_the_output_size():
    fig = widgets.draw_convolution(torch.rand(3, 32, 32), "sharpen", stride=2, padding=1)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "input 3 x 32 x 32"
    assert titles[2].startswith("output 3 x 16 x 16\nfloor((32 + 2*1 - 3) / 2) + 1 = 16")
    plt.close(fig)


def test_conv_explorer_redraws_on_change(monkeypatch):
    calls = []
    real = widgets.draw_convolution

    def spy(image, kernel, stride, padding):
        calls.append((kernel, stride, padding))
        return real(image, kernel, stride, padding)

    monkeypatch.setattr(widgets, "draw_convolution", spy)
    explorer = widgets.conv_explorer(torch.rand(1, 16, 16))
    kernel, stride, padding = explorer.children[0].children
    kernel.value = "blur (box)"
    stride.value = 2
    padding.value = 1
    assert calls == [
        ("edge (Laplacian)", 1, 0),
        ("blur (box)", 1, 0),
        ("blur (box)", 2, 0),
        ("blur (box)", 2, 1),
    ]
    assert bytes(explorer.children[1].value).startswith(PNG_MAGIC)
    assert plt.get_fignums() == []
