"""pick_precision: one test per hardware branch, with the hardware and the timings faked."""

from __future__ import annotations

import pytest
import torch

import course_utils as cu
from course_utils import precision


@pytest.fixture(autouse=True)
def no_forcing(monkeypatch):
    monkeypatch.delenv(precision.PRECISION_ENV, raising=False)
    monkeypatch.delenv(precision.CHANNELS_LAST_ENV, raising=False)


def fake_timings(monkeypatch, seconds: dict) -> list:
    """Replace the timed probe by a table {(precision, channels_last): seconds}; record the calls."""
    calls = []

    def fake(model, batch, p, channels_last, repeats=2):
        calls.append((p, channels_last))
        return seconds[(p, channels_last)]

    monkeypatch.setattr(precision, "time_training_step", fake)
    return calls


def test_bf16_capable_gpu_gets_bf16_and_channels_last_for_conv_nets(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    choice = cu.pick_precision("cuda", cu.TuduiNet(), torch.zeros(2, 3, 32, 32), verbose=False)
    assert (choice.precision, choice.channels_last) == ("bf16", True)
    assert "8.0" in choice.reason
    # A net that flattens with .view() cannot take channels_last: tried, not assumed.
    choice = cu.pick_precision("cuda", cu.HandbookConvNet(), torch.zeros(2, 1, 28, 28), verbose=False)
    assert (choice.precision, choice.channels_last) == ("bf16", False)
    # Without an example batch nothing can be tried: the layout stays as it is.
    assert not cu.pick_precision("cuda", cu.TuduiNet(), verbose=False).channels_last


def test_gpu_without_native_bf16_gets_fp16(monkeypatch):
    seen = {}

    def is_bf16_supported(including_emulation=True):
        seen["including_emulation"] = including_emulation
        return including_emulation  # a T4: bf16 only emulated

    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    choice = cu.pick_precision("cuda", nn_mlp(), verbose=False)
    assert (choice.precision, choice.channels_last) == ("fp16", False)  # no convolution: no layout change
    assert seen["including_emulation"] is False


def test_cpu_without_native_bf16_stays_fp32_and_never_times_bf16(monkeypatch):
    monkeypatch.setattr(precision, "cpu_bf16_native", lambda: False)
    monkeypatch.setattr(precision, "cpu_capability", lambda: "AVX2")
    calls = fake_timings(monkeypatch, {(p, cl): 1.0 for p in ("fp32", "bf16") for cl in (False, True)})
    choice = cu.pick_precision("cpu", cu.TuduiNet(), torch.zeros(2, 3, 32, 32), verbose=False)
    assert choice.precision == "fp32"
    assert all(p == "fp32" for p, _ in calls)  # bf16 is not even tried
    assert "AVX2" in choice.reason


@pytest.mark.parametrize("faster", [("bf16", False), ("fp32", True), ("bf16", True)])
def test_cpu_with_native_bf16_takes_the_fastest_measured(monkeypatch, faster):
    monkeypatch.setattr(precision, "cpu_bf16_native", lambda: True)
    table = {(p, cl): 1.0 for p in ("fp32", "bf16") for cl in (False, True)}
    table[faster] = 0.5
    calls = fake_timings(monkeypatch, table)
    choice = cu.pick_precision("cpu", cu.TuduiNet(), torch.zeros(2, 3, 32, 32), verbose=False)
    assert (choice.precision, choice.channels_last) == faster
    assert len(calls) == 4 and "500 ms" in choice.reason


def test_a_layout_that_breaks_the_model_is_not_chosen(monkeypatch):
    monkeypatch.setattr(precision, "cpu_bf16_native", lambda: True)
    monkeypatch.setattr(precision, "cpu_capability", lambda: "AVX512")
    real = precision.time_training_step

    def quick(model, batch, p, channels_last, repeats=2):
        return real(model, batch, p, channels_last, repeats=0) if channels_last else 1.0

    monkeypatch.setattr(precision, "time_training_step", quick)
    # HandbookConvNet flattens with .view(), which a channels_last tensor cannot do.
    choice = cu.pick_precision("cpu", cu.HandbookConvNet(), torch.zeros(2, 1, 28, 28), verbose=False)
    assert not choice.channels_last and "fails" in choice.reason


def test_cpu_with_native_bf16_and_no_model_to_time_takes_bf16(monkeypatch):
    monkeypatch.setattr(precision, "cpu_bf16_native", lambda: True)
    assert cu.pick_precision("cpu", verbose=False).precision == "bf16"


def test_unknown_cpu_without_a_model_stays_fp32(monkeypatch):
    monkeypatch.setattr(precision, "cpu_bf16_native", lambda: None)
    assert cu.pick_precision("cpu", verbose=False).precision == "fp32"


def test_environment_forces_the_choice_and_says_so(monkeypatch):
    monkeypatch.setattr(precision, "cpu_bf16_native", lambda: True)
    monkeypatch.setenv(precision.PRECISION_ENV, "fp32")
    monkeypatch.setenv(precision.CHANNELS_LAST_ENV, "1")
    choice = cu.pick_precision("cpu", verbose=False)
    assert (choice.precision, choice.channels_last) == ("fp32", True)
    assert "forced" in choice.reason and "bf16" in choice.reason


def test_bad_forced_values_are_explained(monkeypatch):
    monkeypatch.setenv(precision.PRECISION_ENV, "half")
    with pytest.raises(ValueError, match="fp32, bf16 or fp16"):
        cu.pick_precision("cpu", verbose=False)
    monkeypatch.setenv(precision.PRECISION_ENV, "fp16")
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        cu.pick_precision("cpu", verbose=False)


def test_real_probe_leaves_weights_and_random_state_alone():
    torch.manual_seed(0)
    model = cu.TuduiNet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = torch.randn(2, 3, 32, 32)
    state = torch.get_rng_state()
    seconds = precision.time_training_step(model, batch, "fp32", True)
    assert seconds > 0
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert model.conv1.weight.is_contiguous()  # the real model's layout is unchanged


def test_choice_prints_what_and_why(monkeypatch, capsys):
    monkeypatch.setattr(precision, "cpu_bf16_native", lambda: False)
    cu.pick_precision("cpu")
    out = capsys.readouterr().out
    assert "precision: fp32" in out and "without native bf16" in out


def nn_mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(4, 4))
