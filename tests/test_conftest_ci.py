"""Under CI (CI=true) a test that needs a missing data set fails instead of being skipped."""

import pytest
from data_needed import missing_data


def test_missing_data_is_skipped_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="MNIST not found.*COURSE_DATA_DIR"):
        missing_data("MNIST not found in /nowhere")


def test_missing_data_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        missing_data("MNIST not found in /nowhere")
