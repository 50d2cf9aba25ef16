"""Shared fixtures: the real data sets from $COURSE_DATA_DIR (skipped, with a how-to, if absent;
under CI, where the data must be there, a missing data set FAILS the test instead)."""

from __future__ import annotations

import os

import matplotlib
import pytest
import torch

matplotlib.use("Agg")  # tests draw figures without a screen

from data_needed import missing_data  # noqa: E402

from course_utils.data import CIFAR10_FILES, MNIST_FILES  # noqa: E402
from course_utils.i18n import set_language  # noqa: E402
from course_utils.runtime import resolve_data_dir  # noqa: E402


@pytest.fixture(scope="session")
def data_dir():
    """The course data directory, as the course resolves it."""
    return resolve_data_dir()


@pytest.fixture(scope="session")
def mnist_dir(data_dir):
    """The data directory, if it holds MNIST; else the test is skipped with a how-to."""
    files = [data_dir / "MNIST" / "raw" / f for pair in MNIST_FILES.values() for f in pair]
    if not all(f.is_file() for f in files):
        missing_data(f"MNIST not found in {data_dir}")
    return data_dir


@pytest.fixture(scope="session")
def cifar_dir(data_dir):
    """The data directory, if it holds CIFAR-10; else the test is skipped with a how-to."""
    folder = data_dir / "cifar-10-batches-py"
    names = [f for group in CIFAR10_FILES.values() for f in group] + ["batches.meta"]
    if not all((folder / f).is_file() for f in names):
        missing_data(f"CIFAR-10 not found in {data_dir}")
    return data_dir


@pytest.fixture(scope="session")
def mnist_train(mnist_dir):
    from course_utils.data import load_mnist

    return load_mnist(train=True, data_dir=mnist_dir, download=False)


@pytest.fixture(scope="session")
def mnist_test(mnist_dir):
    from course_utils.data import load_mnist

    return load_mnist(train=False, data_dir=mnist_dir, download=False)


@pytest.fixture()
def clean_env(monkeypatch):
    """No course environment variables, so defaults can be tested."""
    for name in ("COURSE_DATA_DIR", "COURSE_SMOKE", "COURSE_ACCEPT_REPACKED"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def pytest_report_header(config):
    return f"course data directory: {resolve_data_dir()} (COURSE_DATA_DIR={os.environ.get('COURSE_DATA_DIR')!r})"


@pytest.fixture(scope="session")
def blobs():
    """Three well separated Gaussian blobs in 20 dimensions: an easy, fast problem (lesson 04's tests)."""
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 20, generator=generator) * 3
    labels = torch.randint(0, 3, (600,), generator=generator)
    return centres[labels] + torch.randn(600, 20, generator=generator), labels


@pytest.fixture
def chinese():
    """The exercise checks speak Chinese during one test, as with the Chinese lessons' `lang="zh"`."""
    set_language("zh")
    yield
    set_language(None)
