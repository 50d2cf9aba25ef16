"""load_torchvision_model: cached weights, a bounded offline fallback, clear errors."""

import hashlib
import http.server
import socket
import threading
import time
import urllib.error
from pathlib import Path

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

    monkeypatch.setattr(pretrained.urllib.request, "urlopen", broken_download)
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


def test_can_reach_is_bounded_in_time_even_if_the_lookup_hangs(monkeypatch):
    """A DNS look-up that hangs (faked: no real network) is cut off after `timeout`."""
    def hanging_lookup(*args, **kwargs):
        time.sleep(5)
        raise OSError("the look-up gave up")

    monkeypatch.setattr(pretrained.socket, "create_connection", hanging_lookup)
    start = time.perf_counter()
    assert pretrained.can_reach("download.pytorch.org", timeout=1.0) is False
    assert time.perf_counter() - start < 2.5


def test_can_reach_an_open_local_port_is_true():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert pretrained.can_reach("127.0.0.1", port=server.getsockname()[1], timeout=2.0) is True


def test_can_reach_a_closed_local_port_is_false():
    assert pretrained.can_reach("127.0.0.1", port=9, timeout=1.0) is False


class Handler(http.server.BaseHTTPRequestHandler):
    body = b""
    stall = 0.0
    timeouts: list = []

    def do_GET(self):
        Handler.timeouts.append(socket.getdefaulttimeout())  # process-wide: the client's setting
        time.sleep(Handler.stall)
        self.send_response(200)
        self.send_header("Content-Length", str(len(Handler.body)))
        self.end_headers()
        self.wfile.write(Handler.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Handler.body, Handler.stall, Handler.timeouts = b"", 0.0, []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def weights_served_locally(server, empty_cache, tmp_path, monkeypatch):
    """squeezenet1_1's DEFAULT weights, its URL pointed at the local server (with a true hash prefix)."""
    source = tmp_path / "w.pth"
    torch.save(torchvision.models.get_model("squeezenet1_1", weights=None).state_dict(), source)
    Handler.body = source.read_bytes()
    prefix = hashlib.sha256(Handler.body).hexdigest()[:8]
    weights = torchvision.models.get_model_weights("squeezenet1_1").DEFAULT
    monkeypatch.setattr(weights.value, "url", f"{server}/squeezenet1_1-{prefix}.pth")
    monkeypatch.setattr(pretrained, "can_reach", lambda *a, **k: True)
    return weights


def test_download_has_a_per_request_timeout_not_a_process_wide_one(weights_served_locally, monkeypatch):
    def forbidden(value):
        raise AssertionError(f"socket.setdefaulttimeout({value}) changes every socket in the process")

    monkeypatch.setattr(socket, "setdefaulttimeout", forbidden)
    model, loaded = pretrained.load_torchvision_model("squeezenet1_1", timeout=5.0)
    assert loaded is True and Handler.timeouts == [None]
    assert pretrained.weights_file(weights_served_locally).stat().st_size == len(Handler.body)


def test_a_stalled_download_falls_back_within_the_timeout(weights_served_locally, capsys):
    Handler.stall = 3.0
    start = time.perf_counter()
    _, loaded = pretrained.load_torchvision_model("squeezenet1_1", timeout=0.5)
    assert loaded is False and time.perf_counter() - start < 2.5
    assert "timed out" in capsys.readouterr().out
    assert not list(Path(pretrained.weights_file(weights_served_locally).parent).iterdir())


def test_a_download_that_does_not_match_its_hash_is_refused(weights_served_locally, capsys):
    Handler.body = Handler.body[:-1] + b"x"
    _, loaded = pretrained.load_torchvision_model("squeezenet1_1")
    assert loaded is False and "sha256" in capsys.readouterr().out
    assert not pretrained.weights_file(weights_served_locally).exists()
