import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import course_utils as cu
from course_utils.checkpoints import CheckpointError


def small_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def test_round_trip_restores_model_optimizer_scheduler_and_metadata(tmp_path):
    model = small_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.5)
    model(torch.randn(5, 4)).sum().backward()
    optimizer.step()
    scheduler.step()
    path = cu.save_checkpoint(tmp_path / "ck.pt", model, optimizer, scheduler, epoch=3,
                              history={"epoch": [1, 2, 3]}, config={"lr": 0.1})  # fmt: skip
    fresh = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    fresh_opt = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    fresh_sched = torch.optim.lr_scheduler.StepLR(fresh_opt, 1, gamma=0.5)
    checkpoint = cu.load_checkpoint(path, fresh, fresh_opt, fresh_sched)
    assert checkpoint["epoch"] == 3 and checkpoint["config"] == {"lr": 0.1}
    assert checkpoint["model_class"] == "Sequential"
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):
        assert torch.equal(a, b)
    assert fresh_opt.state_dict()["state"][0]["momentum_buffer"].shape == (3, 4)
    assert fresh_sched.get_last_lr() == scheduler.get_last_lr() == [0.05]


def test_save_is_atomic_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    cu.save_checkpoint(path, small_model(), epoch=1)
    before = path.read_bytes()

    def crash(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        cu.save_checkpoint(path, small_model(), epoch=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]  # no temporary file left behind


def test_checkpoint_of_another_model_names_the_differences(tmp_path):
    path = cu.save_checkpoint(tmp_path / "ck.pt", cu.HandbookConvNet())
    with pytest.raises(CheckpointError) as error:
        cu.load_checkpoint(path, cu.TuduiNet())
    message = str(error.value)
    assert "saved from HandbookConvNet" in message and "does not fit TuduiNet" in message
    assert "missing in the checkpoint" in message and "conv3.weight" in message
    assert "not in the model" in message and "fc1.weight" in message
    assert "conv1.weight: checkpoint (10, 1, 5, 5), model (32, 3, 5, 5)" in message


def test_corrupt_and_foreign_files_are_explained(tmp_path):
    path = cu.save_checkpoint(tmp_path / "ck.pt", small_model())
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        cu.load_checkpoint(path, small_model())
    bare = tmp_path / "bare.pt"
    torch.save(small_model().state_dict(), bare)
    with pytest.raises(CheckpointError, match="bare state_dict"):
        cu.load_checkpoint(bare, small_model())
    with pytest.raises(CheckpointError, match="No checkpoint at"):
        cu.load_checkpoint(tmp_path / "missing.pt")


def test_loading_never_unpickles_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "payload": small_model()}, path)  # a whole module is pickled code
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        cu.load_checkpoint(path)


def test_unwrap_strips_a_wrapper(tmp_path):
    model = small_model()
    wrapped = nn.DataParallel(model)
    assert cu.unwrap(wrapped) is model
    path = cu.save_checkpoint(tmp_path / "ck.pt", wrapped)
    assert not any(k.startswith("module.") for k in torch.load(path, weights_only=True)["model"])


def test_map_location_puts_tensors_where_asked(tmp_path):
    """Loaded to "meta" (not the CPU they were saved from), so ignoring the argument fails."""
    path = cu.save_checkpoint(tmp_path / "ck.pt", small_model())
    checkpoint = cu.load_checkpoint(path, map_location="meta")
    assert all(t.device.type == "meta" for t in checkpoint["model"].values())


def test_config_with_paths_and_numpy_scalars_loads_back(tmp_path):
    """What weights_only=True cannot read is converted at save time, so resuming can load it."""
    config = {"data": Path("runs") / "a", "lr": np.float32(0.5), "epochs": np.int64(3),
              "nested": [{"out": Path("x.pt")}, (np.bool_(True), None)]}  # fmt: skip
    path = cu.save_checkpoint(tmp_path / "ck.pt", small_model(), config=config,
                              history={"test_loss": [np.float64(0.25)]}, note=Path("n"))  # fmt: skip
    checkpoint = cu.load_checkpoint(path, small_model())
    assert checkpoint["config"] == {"data": os.path.join("runs", "a"), "lr": 0.5, "epochs": 3,
                                    "nested": [{"out": "x.pt"}, (True, None)]}  # fmt: skip
    assert type(checkpoint["config"]["epochs"]) is int and type(checkpoint["config"]["lr"]) is float
    assert checkpoint["history"] == {"test_loss": [0.25]} and checkpoint["note"] == "n"


@pytest.mark.parametrize(
    "value, named",
    [(object(), "config['model']['opt'] is a builtins.object"),
     (np.zeros(3), "config['model']['opt'] is a numpy.ndarray"),
     (lambda: 0, "config['model']['opt'] is a builtins.function")],
)  # fmt: skip
def test_config_that_could_not_be_loaded_is_refused_when_saving(tmp_path, value, named):
    with pytest.raises(TypeError, match=re.escape(named)):
        cu.save_checkpoint(tmp_path / "ck.pt", small_model(), config={"model": {"opt": value}})
    assert not (tmp_path / "ck.pt").exists()


def test_the_folder_is_fsynced_after_the_rename(tmp_path, monkeypatch):
    """Without it a power cut right after the rename can lose the new file's name (POSIX)."""
    if os.name != "posix":
        pytest.skip("directories cannot be fsynced on Windows")
    synced = []
    real_fsync = os.fsync

    def recording_fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    cu.save_checkpoint(tmp_path / "ck.pt", small_model())
    assert synced == [False, True]  # the file's data, then the folder's entry
