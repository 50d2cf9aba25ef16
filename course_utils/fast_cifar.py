"""Fast CIFAR-10 training: the ideas of airbench, one small piece each, as course code. Lesson 06.

airbench (Keller Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU", arXiv 2404.00498)
makes each epoch count: a small conv-BN-GELU net whose first layer is set, not learned, to
whiten 2x2 patches; BatchNorm that learns only its shifts; label smoothing; flips that alternate
between epochs; test-time flips; a lookahead average of the weights; and a tuned schedule. This
module rebuilds those ideas readably (it copies no code) so that `cu.fit` trains with them:

    net = FastCifarNet()
    init_whitening(net.whiten, train_images[:5000])            # normalised float images
    loader = AlternatingFlipLoader(x_uint8, y, 512, mean, std)
    optimizer = airbench_sgd(net, batch_size=512)
    hooks = StepHooks(triangle_lr(optimizer, total_steps), Lookahead(net, total_steps),
                      FreezeAfter(net.whiten.bias, steps=round(0.3 * total_steps)))
    cu.fit(FlipTTA(net), loader, test_loader, optimizer, epochs, scheduler=hooks,
           scheduler_step="batch", loss_fn=nn.CrossEntropyLoss(label_smoothing=0.2))

Everything runs on whichever device the tensors are on (CPU, CUDA, MPS).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

#: airbench94's hyperparameters, in its decoupled form (lr and weight decay per 1024 examples), except
#: the batch: airbench uses 1024; 512 gives short CPU runs twice the steps (measured: smoother, as accurate).
AIRBENCH_HYPERPARAMETERS = {
    "batch_size": 512, "lr": 11.5, "momentum": 0.85, "weight_decay": 0.0153, "bias_scaler": 64.0,
    "label_smoothing": 0.2, "whiten_bias_fraction": 0.3, "translate": 2,
}  # fmt: skip


class FrozenScaleBatchNorm(nn.BatchNorm2d):
    """BatchNorm that learns its shift (bias) but keeps its scale fixed at 1.

    Why it helps: the next convolution can absorb any scale, so a learned scale only adds a
    redundant parameter; fixing it leaves the optimiser less to do. The high momentum (0.4 in
    PyTorch's convention: running stats follow the last batches closely) suits short runs.
    """

    def __init__(self, channels: int, momentum: float = 0.4, eps: float = 1e-12) -> None:
        super().__init__(channels, eps=eps, momentum=momentum)
        self.weight.requires_grad_(False)


class DiracConv(nn.Conv2d):
    """A 3x3 'same' convolution without bias whose first channels start as the identity.

    Why it helps: at the start each block passes (part of) its input straight through, as a
    residual connection would, so a deep plain net trains from the first step.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, 3, padding="same", bias=False)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        n = min(self.in_channels, self.out_channels)
        nn.init.dirac_(self.weight.data[:n])


class ConvGroup(nn.Module):
    """conv, 2x2 max-pool, BN, GELU, conv, BN, GELU: one stage of the net (halves the resolution).

    Why this order: pooling right after the first convolution makes BatchNorm, GELU and the
    second convolution work on a quarter of the pixels.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = DiracConv(in_channels, out_channels)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = FrozenScaleBatchNorm(out_channels)
        self.conv2 = DiracConv(out_channels, out_channels)
        self.norm2 = FrozenScaleBatchNorm(out_channels)
        self.activation = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.activation(self.norm1(self.pool(self.conv1(x))))
        return self.activation(self.norm2(self.conv2(x)))


class FastCifarNet(nn.Module):
    """airbench's net: a fixed whitening layer, three ConvGroups, a max-pool and a scaled linear layer.

    `widths` are the three stages' channels; airbench94 uses (64, 256, 256), which is too heavy
    for a laptop CPU; (32, 64, 64) is the course's default there. Input 3 x 32 x 32.
    """

    def __init__(self, widths: Sequence[int] = (32, 64, 64), num_classes: int = 10,
                 whiten_kernel: int = 2, scale: float = 1 / 9) -> None:  # fmt: skip
        super().__init__()
        whiten_width = 2 * 3 * whiten_kernel**2  # +/- each eigenvector of a 3 x k x k patch
        self.whiten = nn.Conv2d(3, whiten_width, whiten_kernel, bias=True)  # 24 x 31 x 31
        self.whiten.weight.requires_grad_(False)  # set by init_whitening, never trained
        nn.init.zeros_(self.whiten.bias)
        w1, w2, w3 = widths
        self.groups = nn.Sequential(
            ConvGroup(whiten_width, w1),  # w1 x 15 x 15
            ConvGroup(w1, w2),  # w2 x 7 x 7
            ConvGroup(w2, w3),  # w3 x 3 x 3
        )
        self.pool = nn.MaxPool2d(3)  # w3 x 1 x 1
        self.classifier = nn.Linear(w3, num_classes, bias=False)
        self.scale = scale  # small logits at the start, as a lower temperature would give

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.whiten(x))
        x = self.pool(self.groups(x)).flatten(1)
        return self.classifier(x) * self.scale


def whitening_weights(images: torch.Tensor, kernel_size: int = 2, eps: float = 5e-4) -> torch.Tensor:
    """Filters that whiten the k x k patches of `images`: 2 * C * k * k filters (each eigenvector, +/-).

    Why it helps: the first layer starts out decorrelating the pixels (each output has unit
    variance over the patches and no correlation with the others), which a learned first layer
    would take many steps to find; it costs one eigen-decomposition of a 12 x 12 matrix.
    """
    c = images.shape[1]
    patches = images.float().unfold(2, kernel_size, 1).unfold(3, kernel_size, 1)  # N C H' W' k k
    patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * kernel_size * kernel_size)
    covariance = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)  # ascending
    filters = (eigenvectors.T / torch.sqrt(eigenvalues + eps)[:, None]).flip(0)
    filters = filters.reshape(-1, c, kernel_size, kernel_size)
    return torch.cat([filters, -filters])


@torch.no_grad()
def init_whitening(layer: nn.Conv2d, images: torch.Tensor, eps: float = 5e-4) -> None:
    """Set a (frozen) first convolution to the whitening filters of `images` (normalised floats)."""
    weights = whitening_weights(images.to(layer.weight.device), layer.kernel_size[0], eps)
    layer.weight.copy_(weights.to(layer.weight.dtype))


def airbench_sgd(model: nn.Module, batch_size: int, lr: float = 11.5, momentum: float = 0.85,
                 weight_decay: float = 0.0153, bias_scaler: float = 64.0) -> torch.optim.SGD:  # fmt: skip
    """Nesterov SGD with airbench's decoupled hyperparameters, for a loss averaged over the batch.

    Why: `lr` and `weight_decay` are per 1024 examples and divided by momentum's step
    amplification 1 + 1/(1 - momentum), so each can be tuned without retuning the others.
    BatchNorm shifts get a `bias_scaler` times larger learning rate (not a larger decay): with
    their scales frozen they are the only free parameters of the normalisation.
    """
    kilostep_scale = 1024 * (1 + 1 / (1 - momentum))
    lr_sum = lr / kilostep_scale  # the learning rate for a loss summed over the batch
    decay_per_step = weight_decay * batch_size / kilostep_scale
    lr_mean = lr_sum * batch_size  # the same steps for the (usual) loss averaged over the batch
    norm = [p for m in model.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters() if p.requires_grad]
    norm_ids = {id(p) for p in norm}
    other = [p for p in model.parameters() if p.requires_grad and id(p) not in norm_ids]
    groups = [
        {"params": norm, "lr": lr_mean * bias_scaler, "weight_decay": decay_per_step / (lr_mean * bias_scaler)},
        {"params": other, "lr": lr_mean, "weight_decay": decay_per_step / lr_mean},
    ]
    return torch.optim.SGD(groups, lr=lr_mean, momentum=momentum, nesterov=True)


def triangle(step: int, total_steps: int, start: float = 0.2, peak_at: float = 0.23, end: float = 0.07) -> float:
    """The learning-rate factor at `step`: up linearly from `start` to 1 at `peak_at` of the run, then
    down linearly to `end`. Why: a short warm-up keeps the first, large steps stable; the long
    linear decay settles the weights; airbench tuned these three numbers."""
    peak = max(1, round(peak_at * total_steps))
    if step <= peak:
        return start + (1 - start) * step / peak
    return 1 + (end - 1) * min(1.0, (step - peak) / max(1, total_steps - peak))


def triangle_lr(optimizer: torch.optim.Optimizer, total_steps: int, **shape: float) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step scheduler following `triangle` (step it after every batch)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: triangle(step, total_steps, **shape))


class Lookahead:
    """Every `every` steps, pull the weights towards their running average and continue from it.

    Why it helps: the average of recent weights sits nearer the bottom of the valley than the
    noisy last iterate. The average's memory grows over the run (decay 0.95**5 * progress**3),
    and at the last step the net takes the average's values.
    """

    def __init__(self, model: nn.Module, total_steps: int, every: int = 5, decay: float = 0.95**5) -> None:
        self.model, self.total_steps, self.every, self.decay = model, total_steps, every, decay
        self.average = {k: v.detach().clone() for k, v in self._state().items()}
        self.steps = 0

    def _state(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.model.state_dict().items() if v.is_floating_point()}

    @torch.no_grad()
    def update(self, decay: float) -> None:
        """average <- decay * average + (1 - decay) * weights; weights <- average."""
        for key, value in self._state().items():
            self.average[key].lerp_(value, 1 - decay)
            value.copy_(self.average[key])

    def step(self) -> None:
        self.steps += 1
        if self.steps == self.total_steps:
            self.update(1.0)  # the net ends at the average
        elif self.steps % self.every == 0 and self.steps < self.total_steps:
            self.update(self.decay * (self.steps / self.total_steps) ** 3)

    def state_dict(self) -> dict:
        return {"steps": self.steps, "average": self.average}

    def load_state_dict(self, state: dict) -> None:
        self.steps, self.average = state["steps"], state["average"]


class FreezeAfter:
    """Train `parameter` for the first `steps` steps, then freeze it.

    Used for the whitening layer's bias (airbench trains it for 3 of its 10 epochs): early on it
    finds a useful offset for the fixed filters; freezing it then removes a source of late noise.
    """

    def __init__(self, parameter: nn.Parameter, steps: int) -> None:
        self.parameter, self.steps, self.done = parameter, steps, 0

    def step(self) -> None:
        self.done += 1
        self.parameter.requires_grad_(self.done < self.steps)

    def state_dict(self) -> dict:
        return {"done": self.done}

    def load_state_dict(self, state: dict) -> None:
        self.done = state["done"]
        self.parameter.requires_grad_(self.done < self.steps)


class StepHooks:
    """Several per-step schedules behind one `.step()`, so `cu.fit(scheduler=..., scheduler_step="batch")` runs them all."""

    def __init__(self, *hooks) -> None:
        self.hooks = hooks

    def step(self) -> None:
        for hook in self.hooks:
            hook.step()

    def state_dict(self) -> dict:
        return {str(i): hook.state_dict() for i, hook in enumerate(self.hooks)}

    def load_state_dict(self, state: dict) -> None:
        for i, hook in enumerate(self.hooks):
            hook.load_state_dict(state[str(i)])


class FlipTTA(nn.Module):
    """Wraps a net: in eval mode it averages the logits of each image and its mirror image.

    Why it helps: a flipped photo shows the same class, so averaging two views cancels part of
    each view's error, for one extra forward pass at test time. In train mode it is the plain net.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return self.net(x)
        return 0.5 * (self.net(x) + self.net(x.flip(-1)))


def random_translate(images: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Move each image by up to `shift` pixels in each direction (edges filled by reflection).

    Why: the class does not change when the object moves a little, so each epoch shows new
    images; reflecting the edges avoids the black borders that zero padding adds.
    """
    n, c, h, w = images.shape
    padded = F.pad(images, (shift,) * 4, mode="reflect")
    device = images.device
    dy = torch.randint(0, 2 * shift + 1, (n,), generator=generator, device=device)
    dx = torch.randint(0, 2 * shift + 1, (n,), generator=generator, device=device)
    rows = (torch.arange(h, device=device)[None, :] + dy[:, None])[:, None, :, None]
    cols = (torch.arange(w, device=device)[None, :] + dx[:, None])[:, None, None, :]
    batch = torch.arange(n, device=device)[:, None, None, None]
    channel = torch.arange(c, device=device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def alternating_flip_mask(n: int, epoch: int, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Which of `n` images to mirror in `epoch`: a random half in even epochs, the other half in odd ones.

    Why it helps: with independent random flips some images are shown the same way several
    epochs running; alternating guarantees that every two consecutive epochs show each image
    both ways, so the net sees more distinct images in few epochs.
    """
    generator = torch.Generator(device=device).manual_seed(seed)
    mask = torch.rand(n, generator=generator, device=device) < 0.5
    return mask if epoch % 2 == 0 else ~mask


class AlternatingFlipLoader:
    """Batches of normalised CIFAR-style images with alternating flips and reflect-padded translation.

    Like `cu.TensorLoader` (uint8 N x C x H x W in, float batches out, `set_epoch`, seeded) but
    with airbench's augmentation. The normalised images are made once and kept on `device`.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 mean: Sequence[float], std: Sequence[float], translate: int = 2, flip: bool = True,
                 device: torch.device | str = "cpu", channels_last: bool = False, seed: int = 0) -> None:  # fmt: skip
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 N x C x H x W, got {images.dtype} {tuple(images.shape)}")
        self.device = torch.device(device)
        mean_t = torch.tensor(mean, device=self.device).view(1, -1, 1, 1)
        std_t = torch.tensor(std, device=self.device).view(1, -1, 1, 1)
        self.images = (images.to(self.device).float() / 255 - mean_t) / std_t
        self.labels = labels.to(self.device)
        self.batch_size, self.translate, self.flip = batch_size, translate, flip
        self.channels_last, self.seed, self.epoch = channels_last, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.labels) // self.batch_size  # the last, smaller batch is dropped

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator(device=self.device).manual_seed(self.seed * 100_003 + self.epoch)
        flips = alternating_flip_mask(len(self.labels), self.epoch, self.seed, self.device)
        order = torch.randperm(len(self.labels), generator=generator, device=self.device)
        self.epoch += 1
        for i in range(len(self)):
            index = order[i * self.batch_size : (i + 1) * self.batch_size]
            images = self.images[index]
            if self.flip:
                images = torch.where(flips[index, None, None, None], images.flip(-1), images)
            if self.translate > 0:
                images = random_translate(images, self.translate, generator)
            if self.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            yield images, self.labels[index]
