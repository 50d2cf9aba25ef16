import pytest
import torch

from course_utils import TensorLoader
from course_utils.tensor_loader import random_crop, random_flip


def indexed_images(n=103, channels=1, size=8):
    """Images whose pixels all equal their own index (mod 256), with label = index."""
    images = (torch.arange(n) % 256).to(torch.uint8).view(n, 1, 1, 1).expand(n, channels, size, size)
    return images.contiguous(), torch.arange(n)


def test_every_sample_once_per_epoch_in_a_new_order():
    images, labels = indexed_images()
    loader = TensorLoader(images, labels, batch_size=10, mean=(0,), std=(1,), shuffle=True)
    orders = []
    for _ in range(2):
        seen = torch.cat([y for _, y in loader])
        assert sorted(seen.tolist()) == list(range(103))
        orders.append(seen)
    assert not torch.equal(orders[0], orders[1])
    assert len(loader) == 11


def test_set_epoch_replays_the_same_order():
    images, labels = indexed_images()
    loader = TensorLoader(images, labels, 16, (0,), (1,), shuffle=True, seed=3)
    loader.set_epoch(5)
    first = torch.cat([y for _, y in loader])
    loader.set_epoch(5)
    assert torch.equal(first, torch.cat([y for _, y in loader]))


def test_drop_last_drops_the_short_batch():
    images, labels = indexed_images()
    loader = TensorLoader(images, labels, 10, (0,), (1,), drop_last=True)
    sizes = [len(y) for _, y in loader]
    assert sizes == [10] * 10 and len(loader) == 10


def test_images_match_their_labels_and_are_normalised():
    images, labels = indexed_images(n=50, channels=3)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 0.125)
    loader = TensorLoader(images, labels, 7, mean, std, shuffle=True)
    for x, y in loader:
        assert x.dtype == torch.float32 and x.shape[1:] == (3, 8, 8)
        expected = (y.float() / 255).view(-1, 1, 1, 1)
        expected = (expected - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
        assert torch.allclose(x, expected.expand_as(x), atol=1e-6)


def test_augmentation_keeps_shape_and_value_range(mnist_train):
    images = mnist_train.data[:256].unsqueeze(1)
    loader = TensorLoader(images, mnist_train.targets[:256], 64, (0.0,), (1.0,), augment=True, shuffle=True)
    for x, _ in loader:
        assert x.shape == (64, 1, 28, 28)
        assert x.min() >= 0.0 and x.max() <= 1.0
    plain = TensorLoader(images, mnist_train.targets[:256], 256, (0.0,), (1.0,))
    augmented = TensorLoader(images, mnist_train.targets[:256], 256, (0.0,), (1.0,), augment=True)
    assert not torch.equal(next(iter(plain))[0], next(iter(augmented))[0])


def test_random_flip_mirrors_some_images_exactly():
    images = torch.arange(2 * 1 * 2 * 3, dtype=torch.float32).view(2, 1, 2, 3).repeat(32, 1, 1, 1)
    flipped = random_flip(images, torch.Generator().manual_seed(0))
    mirrored = (flipped == images.flip(3)).flatten(1).all(1)
    same = (flipped == images).flatten(1).all(1)
    assert (mirrored | same).all() and mirrored.any() and same.any()


def test_random_crop_is_a_shifted_window_of_the_padded_image():
    images = torch.arange(1, 1 + 4 * 4, dtype=torch.float32).view(1, 1, 4, 4).repeat(16, 1, 1, 1)
    cropped = random_crop(images, 1, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(images[:1], (1, 1, 1, 1))[0, 0]
    windows = {tuple(padded[dy : dy + 4, dx : dx + 4].flatten().tolist()) for dy in range(3) for dx in range(3)}
    assert all(tuple(c[0].flatten().tolist()) in windows for c in cropped)
    assert torch.equal(random_crop(images, 0, torch.Generator()), images)


def test_channels_last_output():
    images, labels = indexed_images(n=8, channels=3)
    x, _ = next(iter(TensorLoader(images, labels, 8, (0,) * 3, (1,) * 3, channels_last=True)))
    assert x.is_contiguous(memory_format=torch.channels_last)


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="uint8 N x C x H x W"):
        TensorLoader(torch.zeros(4, 1, 8, 8), torch.zeros(4), 2, (0,), (1,))
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        TensorLoader(torch.zeros(4, 1, 8, 8, dtype=torch.uint8), torch.zeros(3), 2, (0,), (1,))
    with pytest.raises(ValueError, match="one value per channel"):
        TensorLoader(torch.zeros(4, 3, 8, 8, dtype=torch.uint8), torch.zeros(4), 2, (0,), (1,))
