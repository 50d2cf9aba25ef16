"""load_torchvision_model: cached weights, a bounded offline fallback, clear errors."""

import time
import urllib.error

import pytest
import torch
import torchvision

from course_utils import pretrained


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """Point torch's cache at an empty folder, so nothing is found there."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints"


def test_unknown_name_is_refused():
    with pytest.raises(ValueError, match="no classification model called 'resnet1800'"):
        pretrained.load_torchvision_model("resnet1800")


def test_untrained_model_needs_no_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("pretrained=False must not touch the network")

    monkeypatch.setattr(pretrained, "can_reach", no_network)
    model, loaded = pretrained.load_torchvision_model("squeezenet1_1", pretrained=False)
    assert isinstance(model, torchvision.models.SqueezeNet)
    assert loaded is False


def test_offline_falls_back_with_an_explanation(empty_cache, monkeypatch, capsys):
    monkeypatch.setattr(pretrained, "can_reach", lambda host, timeout=5.0: False)
    model, loaded = pretrained.load_torchvision_model("squeezenet1_1")
    assert loaded is False
    assert isinstance(model, torchvision.models.SqueezeNet)
    out = capsys.readouterr().out
    assert "no connection to download.pytorch.org" in out
    assert "untrained (random) weights" in out


def test_failed_download_falls_back(empty_cache, monkeypatch, capsys):
    monkeypatch.setattr(pretrained, "can_reach", lambda host, timeout=5.0: True)

    def broken_download(*args, **kwargs):
        raise urllib.error.URLError("connection reset")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", broken_download)
    _, loaded = pretrained.load_torchvision_model("squeezenet1_1")
    assert loaded is False
    assert "URLError" in capsys.readouterr().out


def test_cached_weights_are_loaded_without_network(empty_cache, monkeypatch):
    monkeypatch.setattr(pretrained, "can_reach", lambda *a, **k: pytest.fail("must not probe"))
    weights = torchvision.models.get_model_weights("squeezenet1_1").DEFAULT
    source = torchvision.models.get_model("squeezenet1_1", weights=None)
    path = pretrained.weights_file(weights)
    assert path.parent == empty_cache
    path.parent.mkdir(parents=True)
    torch.save(source.state_dict(), path)
    model, loaded = pretrained.load_torchvision_model("squeezenet1_1")
    assert loaded is True
    for name, tensor in source.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name


def test_can_reach_is_bounded_in_time():
    start = time.perf_counter()
    result = pretrained.can_reach("download.pytorch.org", timeout=2.0)
    assert isinstance(result, bool)
    assert time.perf_counter() - start < 3.0


def test_can_reach_a_closed_local_port_is_false():
    assert pretrained.can_reach("127.0.0.1", port=9, timeout=1.0) is False
