import gzip
import hashlib
import http.server
import pickle
import shutil
import socket
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from course_utils import data
from course_utils.data import DatasetError


def test_mnist_is_real_and_complete(mnist_train, mnist_test):
    assert len(mnist_train) == 60_000 and len(mnist_test) == 10_000
    assert mnist_train[0][1] == 5 and mnist_test[0][1] == 7
    counts = torch.bincount(torch.as_tensor(mnist_test.targets), minlength=10)
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_transform_normalises_with_the_standard_statistics(mnist_dir):
    ds = data.load_mnist(train=True, data_dir=mnist_dir, transform=data.mnist_transform())
    image, _ = ds[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    raw = torch.as_tensor(ds.data[0], dtype=torch.float32) / 255
    assert torch.allclose(image[0], (raw - 0.1307) / 0.3081, atol=1e-6)


def test_missing_mnist_names_directory_and_files(tmp_path):
    with pytest.raises(DatasetError) as error:
        data.load_mnist(train=False, data_dir=tmp_path, download=False)
    message = str(error.value)
    assert str(tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte") in message
    assert "t10k-labels-idx1-ubyte" in message and "COURSE_DATA_DIR" in message


def copy_mnist_test(mnist_dir, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.MNIST_FILES[False]:
        shutil.copy(mnist_dir / "MNIST" / "raw" / name, raw / name)
    return raw


def test_truncated_idx_file_is_reported(mnist_dir, tmp_path):
    raw = copy_mnist_test(mnist_dir, tmp_path)
    images = raw / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:100_000])
    with pytest.raises(DatasetError, match="truncated or corrupt.*100,000 bytes.*7,840,016"):
        data.load_mnist(train=False, data_dir=tmp_path, download=False)


def test_non_idx_file_is_reported(mnist_dir, tmp_path):
    raw = copy_mnist_test(mnist_dir, tmp_path)
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"<html>not found</html>")
    with pytest.raises(DatasetError, match="not an MNIST IDX file"):
        data.load_mnist(train=False, data_dir=tmp_path, download=False)


def write_fake_cifar(root, corrupt=None):
    """A tiny CIFAR-10 folder in torchvision's layout whose md5s are not canonical."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": [0, 1, 2, 3]}
        (folder / name).write_bytes(pickle.dumps(batch))
    meta = {"label_names": list(data.CIFAR10_CLASSES)}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    if corrupt:
        (folder / corrupt).write_bytes(b"\x80\x02garbage")
    return root


def test_repacked_cifar_is_refused_without_the_flag(clean_env, tmp_path):
    root = write_fake_cifar(tmp_path)
    with pytest.raises(DatasetError, match="md5 check.*accept_repacked=True.*COURSE_ACCEPT_REPACKED"):
        data.load_cifar10(train=True, data_dir=root, download=False)


def test_cifar_missing_files_are_listed(tmp_path):
    root = write_fake_cifar(tmp_path)
    (root / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(DatasetError, match="test_batch"):
        data.load_cifar10(train=False, data_dir=root, download=False, accept_repacked=True)


def test_corrupt_cifar_batch_is_reported(tmp_path):
    root = write_fake_cifar(tmp_path, corrupt="data_batch_3")
    with pytest.raises(DatasetError, match="corrupt"):
        data.load_cifar10(train=True, data_dir=root, download=False, accept_repacked=True)


def test_real_cifar_loads_when_accepted(cifar_dir, clean_env):
    clean_env.setenv("COURSE_ACCEPT_REPACKED", "1")
    train = data.load_cifar10(train=True, data_dir=cifar_dir, download=False)
    test = data.load_cifar10(train=False, data_dir=cifar_dir, download=False)
    assert len(train) == 50_000 and len(test) == 10_000
    assert train.targets[:10] == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert train.classes == list(data.CIFAR10_CLASSES)
    mean = torch.as_tensor(train.data[:5000]).float().div(255).mean((0, 1, 2))
    assert torch.allclose(mean, torch.tensor(data.CIFAR10_MEAN), atol=0.02)


def test_subset_is_deterministic_and_checked(mnist_train):
    a, b = data.subset(mnist_train, 100, seed=1), data.subset(mnist_train, 100, seed=1)
    assert a.indices == b.indices and len(set(a.indices)) == 100
    assert data.subset(mnist_train, 100, seed=2).indices != a.indices
    with pytest.raises(ValueError, match="between 1 and 60000"):
        data.subset(mnist_train, 0)


def test_uint8_tensors_of_mnist_subset(mnist_train):
    part = data.subset(mnist_train, 50, seed=0)
    images, labels = data.as_uint8_tensors(part)
    assert images.shape == (50, 1, 28, 28) and images.dtype == torch.uint8
    first = part.indices[0]
    assert torch.equal(images[0, 0], mnist_train.data[first])
    assert labels[0].item() == int(mnist_train.targets[first])


def test_uint8_tensors_of_cifar_are_channels_first(cifar_dir):
    train = data.load_cifar10(train=True, data_dir=cifar_dir, download=False, accept_repacked=True)
    images, labels = data.as_uint8_tensors(train)
    assert images.shape == (50_000, 3, 32, 32)
    assert torch.equal(images[0].permute(1, 2, 0), torch.as_tensor(train.data[0]))
    assert labels[:3].tolist() == [6, 9, 9]


def test_uint8_tensors_rejects_other_data_sets():
    with pytest.raises(TypeError, match="MNIST or CIFAR-10"):
        data.as_uint8_tensors(torch.utils.data.TensorDataset(torch.zeros(2)))


def test_idx_check_reads_the_header_not_the_whole_file(mnist_dir, monkeypatch):
    def whole_file(self):
        raise AssertionError(f"read all of {self.name} to check its 16-byte header")

    monkeypatch.setattr(Path, "read_bytes", whole_file)
    for name in data.MNIST_FILES[True]:
        data.check_idx_file(mnist_dir / "MNIST" / "raw" / name)  # 47 MB: only 16 bytes are read


def test_cifar10_transform_normalises_each_channel():
    image = Image.new("RGB", (32, 32), color=(255, 0, 128))
    x = data.cifar10_transform()(image)
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    expected = [(v / 255 - m) / s for v, m, s in zip((255, 0, 128), data.CIFAR10_MEAN, data.CIFAR10_STD, strict=True)]
    assert torch.allclose(x[:, 0, 0], torch.tensor(expected), atol=1e-6)
    assert torch.equal(x, x[:, :1, :1].expand_as(x))


def test_torchvision_still_checks_cifar10_through_the_method_repacked_overrides(tmp_path, monkeypatch):
    """RepackedCIFAR10 overrides torchvision's private `_check_integrity`: if torchvision renames it
    or stops calling it, the override would silently do nothing. This fails loudly instead."""
    original = getattr(torchvision.datasets.CIFAR10, "_check_integrity", None)
    assert callable(original), "torchvision.datasets.CIFAR10 has no _check_integrity: update RepackedCIFAR10"
    calls = []
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: calls.append(self) or True)
    with pytest.raises(RuntimeError, match="metadata"):  # the fake batches.meta fails its own md5 check,
        torchvision.datasets.CIFAR10(write_fake_cifar(tmp_path), train=False, download=False)
    assert calls, "CIFAR10() no longer calls _check_integrity: update RepackedCIFAR10"  # ... after this
    assert data.RepackedCIFAR10._check_integrity is not original


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log on stderr
        pass


@pytest.fixture(scope="module")
def mnist_mirror(mnist_dir, tmp_path_factory):
    """A local HTTP server in torchvision's mirror layout, serving gzipped copies of the shared MNIST."""
    source = mnist_dir / "MNIST" / "raw"
    names = [name for pair in data.MNIST_FILES.values() for name in pair]
    folder = tmp_path_factory.mktemp("mirror")
    resources = []
    for name in names:
        gz = folder / f"{name}.gz"
        with open(source / name, "rb") as raw, gzip.open(gz, "wb", compresslevel=1) as out:
            shutil.copyfileobj(raw, out)
        resources.append((gz.name, hashlib.md5(gz.read_bytes()).hexdigest()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", resources
    server.shutdown()
    server.server_close()


def point_torchvision_at(monkeypatch, mirror, resources):
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [mirror])
    monkeypatch.setattr(torchvision.datasets.MNIST, "resources", resources)
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_mnist_downloads_on_first_use(mnist_mirror, tmp_path, monkeypatch):
    """torchvision's real download code runs into an empty data directory; load_mnist then loads it."""
    point_torchvision_at(monkeypatch, *mnist_mirror)
    test = data.load_mnist(train=False, data_dir=tmp_path)
    assert len(test) == 10_000 and test[0][1] == 7
    for name in data.MNIST_FILES[False]:
        data.check_idx_file(tmp_path / "MNIST" / "raw" / name)
    again = data.load_mnist(train=False, data_dir=tmp_path)  # a second call finds the files
    assert torch.equal(again.data, test.data)


def test_failed_download_says_so(mnist_mirror, tmp_path, monkeypatch):
    _, resources = mnist_mirror
    with socket.socket() as closed:  # a port that nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    point_torchvision_at(monkeypatch, f"http://127.0.0.1:{port}/", resources)
    with pytest.raises(DatasetError, match="the download failed"):
        data.load_mnist(train=False, data_dir=tmp_path)
