"""What a test does when the data set it needs is missing: skip with a how-to, or fail under CI."""

from __future__ import annotations

import pytest

from course_utils.runtime import env_flag

HOW_TO = (
    "set COURSE_DATA_DIR to a folder in torchvision's layout (MNIST/raw/..., "
    "cifar-10-batches-py/...); see README.md, 'Data'. CI points it at ../shared/datasets."
)


def missing_data(message: str) -> None:
    """Skip the test with a how-to; under CI (CI=true), where the data must be there, fail it."""
    if env_flag("CI"):
        pytest.fail(f"{message} (CI=true: a test that needs data fails rather than skips): {HOW_TO}")
    pytest.skip(f"{message}: {HOW_TO}")
