"""The course's models: the source tutorials' networks exactly as written, and a stronger CIFAR-10 net.

Shapes in comments are C x H x W for one sample. Lessons: 02 (layers), 05 (MNIST), 06 (CIFAR-10).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class HandbookConvNet(nn.Module):
    """The MNIST ConvNet of the pytorch-handbook (zergtant/pytorch-handbook), layer for layer. Lesson 05.

    It ends in log_softmax, so pair it with `F.nll_loss` (CrossEntropyLoss gives the same
    value on its output, because log_softmax of log-probabilities changes nothing).
    """

    def __init__(self) -> None:
        super().__init__()
        # input: 1 x 28 x 28
        self.conv1 = nn.Conv2d(1, 10, 5)  # 10 x 24 x 24
        self.conv2 = nn.Conv2d(10, 20, 3)  # 20 x 10 x 10 (after pooling to 12 x 12)
        self.fc1 = nn.Linear(20 * 10 * 10, 500)  # 500
        self.fc2 = nn.Linear(500, 10)  # 10

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        in_size = x.size(0)
        out = self.conv1(x)  # 10 x 24 x 24
        out = F.relu(out)
        out = F.max_pool2d(out, 2, 2)  # 10 x 12 x 12
        out = self.conv2(out)  # 20 x 10 x 10
        out = F.relu(out)
        out = out.view(in_size, -1)  # 2000
        out = self.fc1(out)  # 500
        out = F.relu(out)
        out = self.fc2(out)  # 10
        out = F.log_softmax(out, dim=1)
        return out


class TuduiNet(nn.Module):
    """The CIFAR-10 net of the Tudui (xiaotudui) PyTorch tutorial, as written up in the blog post
    "Network：神经网络代码": explicit layers and no activations, exactly as the source has it.
    Lessons 02 and 06."""

    def __init__(self) -> None:
        super().__init__()
        # input: 3 x 32 x 32
        self.conv1 = nn.Conv2d(3, 32, 5, padding=2)  # 32 x 32 x 32
        self.maxpool1 = nn.MaxPool2d(2)  # 32 x 16 x 16
        self.conv2 = nn.Conv2d(32, 32, 5, padding=2)  # 32 x 16 x 16
        self.maxpool2 = nn.MaxPool2d(2)  # 32 x 8 x 8
        self.conv3 = nn.Conv2d(32, 64, 5, padding=2)  # 64 x 8 x 8
        self.maxpool3 = nn.MaxPool2d(2)  # 64 x 4 x 4
        self.flatten = nn.Flatten()  # 1024
        self.linear1 = nn.Linear(1024, 64)  # 64
        self.linear2 = nn.Linear(64, 10)  # 10

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = self.maxpool1(x)
        x = self.conv2(x)
        x = self.maxpool2(x)
        x = self.conv3(x)
        x = self.maxpool3(x)
        x = self.flatten(x)
        x = self.linear1(x)
        x = self.linear2(x)
        return x


class TuduiSequentialNet(nn.Module):
    """The same net written with nn.Sequential, as the Tudui tutorial does next. Lesson 02."""

    def __init__(self) -> None:
        super().__init__()
        self.model1 = nn.Sequential(
            nn.Conv2d(3, 32, 5, padding=2),  # 32 x 32 x 32
            nn.MaxPool2d(2),  # 32 x 16 x 16
            nn.Conv2d(32, 32, 5, padding=2),  # 32 x 16 x 16
            nn.MaxPool2d(2),  # 32 x 8 x 8
            nn.Conv2d(32, 64, 5, padding=2),  # 64 x 8 x 8
            nn.MaxPool2d(2),  # 64 x 4 x 4
            nn.Flatten(),  # 1024
            nn.Linear(1024, 64),  # 64
            nn.Linear(64, 10),  # 10
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model1(x)


def conv_bn(in_channels: int, out_channels: int, pool: bool = False) -> nn.Sequential:
    """3x3 convolution, BatchNorm, ReLU, and an optional 2x2 max-pool."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class Residual(nn.Module):
    """x + block(x): the shortcut that lets deep nets train. Lesson 06."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class CifarResNet(nn.Module):
    """A ResNet-9-style CIFAR-10 net (BatchNorm, ReLU, two residual blocks). Lesson 06.

    `width` is the first layer's channels; later stages use 2x, 4x and 8x. width=64 is the
    classic ResNet-9 (6.57 M parameters) for a GPU; width=16 or 32 suits a laptop CPU.
    """

    def __init__(self, num_classes: int = 10, width: int = 64) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            conv_bn(3, w),  # w x 32 x 32
            conv_bn(w, 2 * w, pool=True),  # 2w x 16 x 16
            Residual(2 * w),  # 2w x 16 x 16
            conv_bn(2 * w, 4 * w, pool=True),  # 4w x 8 x 8
            conv_bn(4 * w, 8 * w, pool=True),  # 8w x 4 x 4
            Residual(8 * w),  # 8w x 4 x 4
            nn.AdaptiveMaxPool2d(1),  # 8w x 1 x 1
            nn.Flatten(),  # 8w
        )
        self.classifier = nn.Linear(8 * w, num_classes)  # num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class SmallBNNet(nn.Module):
    """A small MNIST CNN with BatchNorm: three conv-BN-ReLU-pool blocks and one linear layer. Lesson 06.

    About 29 thousand parameters (the pytorch-handbook's net has 1.0 million) and cheap per image;
    BatchNorm lets it take a large learning rate, so one epoch of one-cycle SGD reaches about 99%.
    """

    def __init__(self, num_classes: int = 10, widths: tuple[int, int, int] = (16, 32, 64)) -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.features = nn.Sequential(
            conv_bn(1, w1, pool=True),  # w1 x 14 x 14
            conv_bn(w1, w2, pool=True),  # w2 x 7 x 7
            conv_bn(w2, w3, pool=True),  # w3 x 3 x 3
            nn.Flatten(),  # 9 * w3
        )
        self.classifier = nn.Linear(9 * w3, num_classes)  # num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
