import pickle
import shutil

import numpy as np
import pytest
import torch

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
