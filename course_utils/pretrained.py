"""torchvision's ImageNet models, with their pretrained weights when they can be had. Lesson 07.

`load_torchvision_model("resnet18")` loads the weights from torch's cache, or downloads them;
without a network it says so and returns the same architecture with untrained (random)
weights, after a short, bounded wait instead of a hang.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn


def weights_file(weights: torchvision.models.WeightsEnum) -> Path:
    """Where torch's cache keeps a weights file (``$TORCH_HOME/hub/checkpoints/<name>.pth``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)


def can_reach(host: str, port: int = 443, timeout: float = 5.0) -> bool:
    """True if a TCP connection to `host:port` opens within `timeout` seconds (DNS included)."""
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    # A thread bounds the DNS look-up too, which socket timeouts do not cover.
    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _shown(path: Path) -> str:
    """`path` with the home directory written as ~ (printed outputs carry no user's paths)."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def download_weights(url: str, path: Path, timeout: float = 5.0) -> Path:
    """Download `url` to `path` (atomically), every network wait bounded by `timeout` seconds.

    The timeout belongs to this request only (the process-wide socket default is left alone).
    If the file name carries a hash prefix (``name-<sha256 prefix>.pth``, as torch's hub names
    files), the download is checked against it, as `torch.hub` does.
    """
    match = torch.hub.HASH_REGEX.search(path.name)
    prefix = match.group(1) if match else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    digest = hashlib.sha256()
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "course-utils"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if prefix and not digest.hexdigest().startswith(prefix):
            raise RuntimeError(f"{url}: the download's sha256 does not start with {prefix}")
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return path


def _untrained(name: str, reason: str) -> tuple[nn.Module, bool]:
    print(
        f"Pretrained weights for {name} are not available: {reason}\n"
        f"Going on with the same architecture and untrained (random) weights: its structure and "
        f"shapes are right, its predictions are not. With internet access, run this cell again "
        f"to download the weights (once; they are cached in {_shown(Path(torch.hub.get_dir()) / 'checkpoints')})."
    )
    return torchvision.models.get_model(name, weights=None), False


def load_torchvision_model(
    name: str, pretrained: bool = True, timeout: float = 5.0
) -> tuple[nn.Module, bool]:
    """A torchvision model by name and whether pretrained weights were loaded into it.

    With `pretrained=True` it uses the model's default weights enum (e.g. VGG16_Weights.DEFAULT):
    from the cache if there, else downloaded; if the server cannot be reached within `timeout`
    seconds or the download fails, it prints why and falls back to untrained weights.
    """
    available = torchvision.models.list_models(module=torchvision.models)
    if name not in available:
        raise ValueError(
            f"torchvision has no classification model called {name!r}. "
            f"Some that it has: {', '.join(sorted(available)[:12])}, ..."
        )
    if not pretrained:
        return torchvision.models.get_model(name, weights=None), False
    weights = torchvision.models.get_model_weights(name).DEFAULT
    try:
        if not weights_file(weights).is_file():
            host = urlparse(weights.url).hostname or ""
            if not can_reach(host, timeout=timeout):
                return _untrained(name, f"no connection to {host} (offline?) and no cached copy.")
            print(f"Downloading {weights} ({weights.meta.get('num_params', 0):,} parameters) ...")
            download_weights(weights.url, weights_file(weights), timeout)  # a stall fails, not hangs
        model = torchvision.models.get_model(name, weights=weights)  # now from the cache
    except (OSError, RuntimeError) as error:  # URLError is an OSError; a bad file a RuntimeError
        return _untrained(name, f"loading {weights} failed ({type(error).__name__}: {error}).")
    return model, True
