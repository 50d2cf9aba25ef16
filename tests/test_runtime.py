from pathlib import Path

import torch

import course_utils as cu
from course_utils import runtime


def test_pick_device_is_cpu_without_accelerators():
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert cu.pick_device() == torch.device("cpu")
    else:
        assert cu.pick_device().type in {"cuda", "mps"}


def test_pick_device_honours_preference():
    assert cu.pick_device("cpu") == torch.device("cpu")


def test_seed_everything_repeats_random_numbers():
    cu.seed_everything(123)
    a = (torch.rand(3), __import__("random").random(), __import__("numpy").random.rand())
    cu.seed_everything(123)
    b = (torch.rand(3), __import__("random").random(), __import__("numpy").random.rand())
    assert torch.equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]


def test_deterministic_mode_switches_on_and_off():
    try:
        cu.seed_everything(0, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.benchmark is False
    finally:
        cu.seed_everything(0, deterministic=False)
    assert not torch.are_deterministic_algorithms_enabled()


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
