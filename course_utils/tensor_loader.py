"""A DataLoader replacement for small data sets: the whole set as one uint8 tensor on the device.

Each epoch it shuffles with its own seeded generator, normalises, and optionally augments each
sample (random horizontal flip, pad-and-crop) on the device, with no worker processes.
On a laptop CPU this is several times faster than a DataLoader; on a GPU it removes the
host-to-device copy per batch. Taught in lesson 06 (CIFAR-10).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F


def random_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2 (images: N x C x H x W)."""
    flip = torch.rand(images.shape[0], generator=generator, device=images.device) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(3), images)


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Zero-pad each image by `padding` pixels, then cut a random crop of the original size."""
    n, c, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))
    device = images.device
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=device)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=device)
    rows = (torch.arange(h, device=device)[None, :] + dy[:, None])[:, None, :, None]
    cols = (torch.arange(w, device=device)[None, :] + dx[:, None])[:, None, None, :]
    batch = torch.arange(n, device=device)[:, None, None, None]
    channel = torch.arange(c, device=device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


class TensorLoader:
    """Batches of (normalised float images, labels) from uint8 tensors held on one device.

    Args:
        images: uint8 N x C x H x W (see `course_utils.data.as_uint8_tensors`).
        labels: int64 N.
        batch_size: samples per batch.
        mean, std: per-channel normalisation on the 0-1 scale.
        shuffle: a new order every epoch (seeded by `seed` and the epoch number). The epoch
            number is the loader's only random state, and `fit` sets it every epoch, so a
            resumed run replays exactly the orders and augmentations of an uninterrupted one.
        augment: random flip and pad-and-crop per sample (training only).
        drop_last: drop the last, smaller batch.
        device: where the data lives and the batches are made.
        channels_last: yield channels-last tensors (faster convolutions on recent hardware).
        seed: base seed of the shuffling and augmentation generator.
        rank, world_size: under DistributedDataParallel, this process's rank and the number of
            processes. Every rank draws the same shuffled order, pads it (by wrapping around)
            to a multiple of world_size and keeps every world_size-th sample from position
            `rank`, as DistributedSampler does; so each epoch the ranks see disjoint shards
            with the same number of batches. Lesson 08 (distributed training).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        mean: Sequence[float],
        std: Sequence[float],
        shuffle: bool = False,
        augment: bool = False,
        drop_last: bool = False,
        device: torch.device | str = "cpu",
        channels_last: bool = False,
        seed: int = 0,
        crop_padding: int = 4,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(
                f"images must be uint8 N x C x H x W, got {images.dtype} {tuple(images.shape)}"
            )
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        if len(mean) != images.shape[1] or len(std) != images.shape[1]:
            raise ValueError(f"mean and std need one value per channel ({images.shape[1]})")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(
                f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}"
            )
        self.device = torch.device(device)
        self.images = images.to(self.device)
        self.labels = labels.to(self.device)
        self.batch_size = batch_size
        self.mean = torch.tensor(mean, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, device=self.device).view(1, -1, 1, 1)
        self.shuffle, self.augment, self.drop_last = shuffle, augment, drop_last
        self.channels_last = channels_last
        self.seed, self.epoch, self.crop_padding = seed, 0, crop_padding
        self.rank, self.world_size = rank, world_size

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order and augmentations the next iteration uses."""
        self.epoch = epoch

    def __len__(self) -> int:
        """Number of batches per epoch (on this rank)."""
        n = self.shard_size
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def shard_size(self) -> int:
        """Number of samples this rank sees per epoch: ceil(num_samples / world_size)."""
        return -(-len(self.labels) // self.world_size)

    @property
    def num_samples(self) -> int:
        """Number of samples in the data set."""
        return len(self.labels)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator(device=self.device)
        epoch_seed = self.seed * 100_003 + self.epoch
        generator.manual_seed(epoch_seed)
        self.epoch += 1  # a plain loop without set_epoch still gets a new order each epoch
        n = len(self.labels)
        if self.shuffle:
            order = torch.randperm(n, generator=generator, device=self.device)
        else:
            order = torch.arange(n, device=self.device)
        if self.world_size > 1:  # pad to a multiple of world_size, then take this rank's share
            total = self.shard_size * self.world_size
            order = order.repeat(-(-total // n))[:total][self.rank :: self.world_size]
            # each rank its own augmentations (the shuffle above had to be the same on all ranks)
            generator.manual_seed(epoch_seed * 1_009 + self.rank + 1)
        for batch_index in range(len(self)):
            index = order[batch_index * self.batch_size : (batch_index + 1) * self.batch_size]
            images = self.images[index]
            if self.augment:
                images = random_flip(images, generator)
                images = random_crop(images, self.crop_padding, generator)
            x = (images.float().div_(255) - self.mean) / self.std
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x, self.labels[index]
