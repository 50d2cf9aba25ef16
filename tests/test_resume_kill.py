"""Resuming after a hard kill ends with exactly the weights of a run that was never interrupted.

Each run is a real subprocess. The child writes a marker after the checkpoint of a chosen epoch
and stalls; the parent SIGKILLs it there, resumes in a new process, and compares the final
weights bitwise with an uninterrupted run. The data set draws from Python's `random` and NumPy
in `__getitem__`, the model has dropout (torch's generator), and the DataLoader shuffles with
its own seeded generator: each of these states must be in the checkpoint.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 4

CHILD = r"""
import random, sys, time
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
import course_utils as cu
from course_utils import training

kind, checkpoint, out, kill_after, resume = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
torch.set_num_threads(1)


class Noisy(Dataset):
    # every sample draws from Python's and NumPy's global generators
    def __init__(self):
        self.x = torch.randn(96, 4, generator=torch.Generator().manual_seed(1))
        self.y = (self.x.sum(1) > 0).long()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i] + 0.1 * random.random() + 0.1 * float(np.random.randn()), self.y[i]


cu.seed_everything(0)
if kind == "dataloader":
    loader = DataLoader(Noisy(), batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0))
    features = 4
else:
    images = torch.randint(0, 256, (96, 1, 6, 6), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    labels = (images.float().mean((1, 2, 3)) > 127.5).long()
    loader = cu.TensorLoader(images, labels, 16, (0.5,), (0.25,), shuffle=True, augment=True, crop_padding=1)
    features = 36
model = nn.Sequential(nn.Flatten(), nn.Linear(features, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.8)

save = training.save_checkpoint


def save_then_stall(*args, **kwargs):
    path = save(*args, **kwargs)
    if kwargs["epoch"] == kill_after:
        open(out + ".marker", "w").close()
        time.sleep(600)  # the parent kills us here
    return path


training.save_checkpoint = save_then_stall
cu.fit(model, loader, None, optimizer, __EPOCHS__, scheduler=scheduler, checkpoint_path=checkpoint,
       resume=resume, progress=False)
torch.save(model.state_dict(), out)
""".replace("__EPOCHS__", str(EPOCHS))


def child(tmp_path: Path, kind: str, name: str, kill_after: int = 0, resume: bool = False) -> Path:
    """Run the child; with `kill_after`, SIGKILL it once that epoch's checkpoint is written."""
    out = tmp_path / f"{name}.pt"
    marker = Path(f"{out}.marker")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-c", CHILD, kind, str(tmp_path / "run.pt"), str(out), str(kill_after),
            "1" if resume else "0"]  # fmt: skip
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if kill_after:
        deadline = time.monotonic() + 300
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"the child ended before the kill: {proc.stderr.read().decode()[-2000:]}")
            assert time.monotonic() < deadline, "the child never reached the kill point"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        proc.stdout.close(), proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        assert not out.exists()
        return out
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()[-3000:]
    assert ("Resumed from" in stdout.decode()) == resume
    return out


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Final weights of an uninterrupted run, per loader kind (computed once)."""
    cache: dict[str, dict] = {}

    def get(kind: str) -> dict:
        if kind not in cache:
            folder = tmp_path_factory.mktemp(f"straight-{kind}")
            cache[kind] = torch.load(child(folder, kind, "straight"), weights_only=True)
        return cache[kind]

    return get


@pytest.mark.parametrize(
    "kind, kill_after", [("dataloader", 1), ("dataloader", 3), ("tensorloader", 2)]
)
def test_killed_and_resumed_run_ends_with_the_same_weights(tmp_path, uninterrupted, kind, kill_after):
    child(tmp_path, kind, "killed", kill_after=kill_after)
    assert torch.load(tmp_path / "run.pt", weights_only=True)["epoch"] == kill_after
    resumed = torch.load(child(tmp_path, kind, "resumed", resume=True), weights_only=True)
    straight = uninterrupted(kind)
    assert resumed.keys() == straight.keys()
    for name, tensor in straight.items():
        assert torch.equal(resumed[name], tensor), f"{name} differs after resuming from epoch {kill_after}"
