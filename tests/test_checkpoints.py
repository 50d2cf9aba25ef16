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
    path = cu.save_checkpoint(tmp_path / "ck.pt", small_model())
    checkpoint = cu.load_checkpoint(path, map_location=torch.device("cpu"))
    assert all(t.device.type == "cpu" for t in checkpoint["model"].values())
