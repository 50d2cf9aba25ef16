import random
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import course_utils as cu
from course_utils import runtime


@pytest.mark.parametrize(
    "cuda, mps, expected", [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")]
)
def test_pick_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert cu.pick_device() == torch.device(expected)


def test_pick_device_honours_preference():
    assert cu.pick_device("cpu") == torch.device("cpu")


def test_seed_everything_repeats_random_numbers():
    cu.seed_everything(123)
    a = (torch.rand(3), __import__("random").random(), __import__("numpy").random.rand())
    cu.seed_everything(123)
    b = (torch.rand(3), __import__("random").random(), __import__("numpy").random.rand())
    assert torch.equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]


def test_deterministic_mode_switches_on_and_off(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    try:
        cu.seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.benchmark is False and torch.backends.cudnn.deterministic is True
    finally:
        cu.seed_everything(0, deterministic=False)
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic is False and torch.backends.cudnn.benchmark is False


def test_deterministic_mode_warns_when_cuda_has_already_started(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    try:
        with pytest.warns(RuntimeWarning, match="CUDA has already started.*before any CUDA work"):
            cu.seed_everything(0, deterministic=True)
        assert runtime.os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        with warnings.catch_warnings():  # set already: nothing to warn about
            warnings.simplefilter("error")
            cu.seed_everything(0, deterministic=True)
    finally:
        cu.seed_everything(0, deterministic=False)


def test_deterministic_mode_before_cuda_starts_is_silent(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cu.seed_everything(0, deterministic=True)
    finally:
        cu.seed_everything(0, deterministic=False)


def draws(loader):
    return (random.random(), float(np.random.rand()), torch.rand(2), [y.tolist() for _, y in loader])


def test_random_state_round_trip_covers_python_numpy_torch_and_the_loader(tmp_path):
    generator = torch.Generator().manual_seed(0)
    loader = DataLoader(TensorDataset(torch.zeros(8), torch.arange(8)), batch_size=4, shuffle=True,
                        generator=generator)  # fmt: skip
    cu.seed_everything(1)
    draws(loader)
    torch.save(runtime.random_state(loader), tmp_path / "rng.pt")
    expected = draws(loader)
    cu.seed_everything(2)
    generator.manual_seed(5)
    runtime.set_random_state(torch.load(tmp_path / "rng.pt", weights_only=True), loader)
    got = draws(loader)
    assert got[0] == expected[0] and got[1] == expected[1]
    assert torch.equal(got[2], expected[2]) and got[3] == expected[3]


def test_cuda_states_of_more_gpus_than_there_are_restore_the_ones_there_are(monkeypatch):
    """A checkpoint written on 2 GPUs resumes on 1."""
    restored = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device: restored.append(device))
    state = {"torch": torch.get_rng_state(), "cuda": [torch.zeros(16, dtype=torch.uint8)] * 2}
    runtime.set_random_state(state)
    assert restored == [0]


@pytest.mark.parametrize(
    "value, expected",
    [(None, False), ("", False), ("0", False), ("no", False), ("1", True), ("TRUE", True), (" yes ", True), ("on", True)],
)  # fmt: skip
def test_env_flag_reads_the_usual_spellings(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("COURSE_TEST_FLAG", raising=False)
    else:
        monkeypatch.setenv("COURSE_TEST_FLAG", value)
    assert runtime.env_flag("COURSE_TEST_FLAG") is expected


def test_data_dir_argument_beats_environment(clean_env, tmp_path):
    clean_env.setenv("COURSE_DATA_DIR", str(tmp_path / "from_env"))
    assert cu.resolve_data_dir(tmp_path / "arg") == (tmp_path / "arg").resolve()
    assert cu.resolve_data_dir() == (tmp_path / "from_env").resolve()


def test_data_dir_default_is_in_home(clean_env):
    assert cu.resolve_data_dir() == (Path.home() / "course_data").resolve()


def test_smoke_mode_from_argument_and_environment(clean_env):
    assert cu.resolve_smoke() is False
    clean_env.setenv("COURSE_SMOKE", "1")
    assert cu.resolve_smoke() is True
    assert cu.resolve_smoke(False) is False
    clean_env.setenv("COURSE_SMOKE", "0")
    assert cu.resolve_smoke() is False


def test_environment_report_names_versions_and_device():
    report = cu.environment_report(torch.device("cpu"))
    assert report["torch"] == torch.__version__
    assert report["device"] == "cpu"
    assert {"python", "torchvision", "cpu threads"} <= report.keys()
    text = cu.format_report(report)
    assert f"torch: {torch.__version__}" in text
    assert len(text.splitlines()) == len(report)


def test_setup_returns_settings_and_says_what_it_chose(clean_env, tmp_path, capsys):
    settings = cu.setup(smoke=True, seed=7, data_dir=tmp_path, device="cpu")
    assert settings == runtime.Settings(torch.device("cpu"), tmp_path.resolve(), True, 7)
    out = capsys.readouterr().out
    assert "SMOKE" in out and str(tmp_path.resolve()) in out
