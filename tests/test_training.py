import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import course_utils as cu
from course_utils import data, training


def blobs(n=512, seed=0):
    """Two well-separated Gaussian blobs: a problem any working loop learns in one epoch."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) * 0.5 + (y.float() * 4 - 2).unsqueeze(1)
    return x, y


def blob_loader(shuffle=True, batch_size=32):
    x, y = blobs()
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)


def mlp():
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))


def test_autocast_contexts():
    cpu = torch.device("cpu")
    with cu.autocast(cpu, "bf16"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with cu.autocast(cpu, "fp32"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        cu.autocast(cpu, "fp16")
    with pytest.raises(ValueError, match="must be 'fp32', 'bf16' or 'fp16'"):
        cu.autocast(cpu, "int8")


def test_train_one_epoch_learns_and_evaluate_measures():
    torch.manual_seed(0)
    model = mlp()
    before = cu.evaluate(model, blob_loader(False))
    result = cu.train_one_epoch(model, blob_loader(), torch.optim.Adam(model.parameters(), 1e-2), progress=False)
    after = cu.evaluate(model, blob_loader(False))
    assert result["accuracy"] > 0.8 and after["accuracy"] > 0.95
    assert after["loss"] < before["loss"]
    assert not model.training  # evaluate leaves the model in eval mode


def test_max_batches_limits_the_epoch():
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    cu.train_one_epoch(model, blob_loader(), optimizer, scheduler=scheduler, max_batches=3, progress=False)
    assert scheduler.last_epoch == 3


def test_predict_returns_classes_labels_and_probabilities():
    preds, targets, probs = cu.predict(mlp(), blob_loader(False))
    assert preds.shape == targets.shape == (512,) and probs.shape == (512, 2)
    assert torch.allclose(probs.sum(1), torch.ones(512)) and torch.equal(probs.argmax(1), preds)


def test_fit_history_per_batch_schedule_and_tensorboard(tmp_path):
    torch.manual_seed(0)
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = blob_loader()
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.2, total_steps=3 * len(loader))
    history = cu.fit(model, loader, blob_loader(False), optimizer, 3, scheduler=scheduler,
                     scheduler_step="batch", log_dir=tmp_path / "runs", progress=False)  # fmt: skip
    assert set(history) == set(training.HISTORY_KEYS)
    assert history["epoch"] == [1, 2, 3] and all(s > 0 for s in history["seconds"])
    assert history["test_accuracy"][-1] > 0.95
    assert scheduler.last_epoch == 3 * len(loader)
    assert history["lr"][0] > history["lr"][-1]
    assert list((tmp_path / "runs").glob("events.out.tfevents.*"))


def test_fit_steps_reduce_on_plateau_with_the_test_loss():
    model = mlp()
    unused = nn.Parameter(torch.zeros(1))  # the optimizer moves nothing the model uses: a plateau
    optimizer = torch.optim.SGD([unused], lr=1.0)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    history = cu.fit(model, blob_loader(), blob_loader(False), optimizer, 3, scheduler=scheduler, progress=False)
    assert history["lr"] == [1.0, 0.5, 0.25]


def test_fit_without_test_loader_records_nan():
    history = cu.fit(mlp(), blob_loader(), None, torch.optim.SGD(mlp().parameters(), 0.1), 1, progress=False)
    assert math.isnan(history["test_accuracy"][0])


def record_dtypes(model, layer_types=(nn.Conv2d, nn.Linear)):
    """Output dtypes of every conv/linear layer, recorded inside the forward pass, per mode."""
    seen = {"train": set(), "eval": set()}
    for layer in model.modules():
        if isinstance(layer, layer_types):
            layer.register_forward_hook(
                lambda module, args, out: seen["train" if module.training else "eval"].add(out.dtype)
            )
    return seen


def test_fit_in_bf16_and_channels_last_on_cpu():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 2))
    dtypes = record_dtypes(model)
    inputs = []
    model[0].register_forward_pre_hook(lambda module, args: inputs.append(args[0]))
    x = torch.randn(64, 2, 8, 8)
    y = (x.mean((1, 2, 3)) > 0).long()
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    history = cu.fit(model, loader, loader, torch.optim.Adam(model.parameters(), 1e-2), 2,
                     precision="bf16", channels_last=True, progress=False)  # fmt: skip
    assert history["train_loss"][1] < history["train_loss"][0]
    assert dtypes == {"train": {torch.bfloat16}, "eval": {torch.bfloat16}}  # precision reached the layers
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert all(t.is_contiguous(memory_format=torch.channels_last) for t in inputs)
    assert not inputs[0].is_contiguous()  # a layout of its own, not plain NCHW that passes anyway


def test_fp32_runs_in_fp32():
    model = mlp()
    dtypes = record_dtypes(model)
    cu.fit(model, blob_loader(), blob_loader(False), torch.optim.SGD(model.parameters(), 0.1), 1, progress=False)
    assert dtypes == {"train": {torch.float32}, "eval": {torch.float32}}


def test_fp16_is_refused_on_the_cpu_by_fit_too():
    model = mlp()
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        cu.fit(model, blob_loader(), None, torch.optim.SGD(model.parameters(), 0.1), 1, precision="fp16",
               progress=False)  # fmt: skip


def test_grad_scaler_is_enabled_only_for_fp16():
    cpu = torch.device("cpu")
    assert training.make_grad_scaler(cpu, "fp16").is_enabled()
    assert not training.make_grad_scaler(cpu, "bf16").is_enabled()
    assert not training.make_grad_scaler(cpu, "fp32").is_enabled()


def test_the_loop_scales_and_unscales_with_an_active_grad_scaler_on_the_cpu():
    """The GradScaler path (scale, step, update) of the loop, on the CPU in fp32: the scaled
    gradients are unscaled before the step, so the weights match a run without scaling."""
    weights = []
    for scaler in (None, torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=4)):
        torch.manual_seed(0)
        model = mlp()
        cu.train_one_epoch(model, blob_loader(), torch.optim.SGD(model.parameters(), lr=0.1), scaler=scaler,
                           progress=False)  # fmt: skip
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert scaler.get_scale() == 1024.0 * 2 ** (16 // 4)  # used: 16 steps, no inf/NaN, doubled every 4
    assert torch.allclose(weights[0], weights[1], rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="fp16 training needs a CUDA GPU")
def test_fp16_with_a_grad_scaler_end_to_end_on_cuda():
    torch.manual_seed(0)
    model = mlp().cuda()
    dtypes = record_dtypes(model)
    scales = []
    real_update = torch.amp.GradScaler.update
    def update(self, *args, **kwargs):  # noqa: E306
        scales.append(self.get_scale())
        return real_update(self, *args, **kwargs)
    torch.amp.GradScaler.update = update
    try:
        history = cu.fit(model, blob_loader(), blob_loader(False), torch.optim.Adam(model.parameters(), 1e-2), 2,
                         precision="fp16", progress=False)  # fmt: skip
    finally:
        torch.amp.GradScaler.update = real_update
    assert dtypes["train"] == {torch.float16}
    assert scales and scales[0] == 65536.0  # the scaler was active
    assert history["test_accuracy"][-1] > 0.95


def test_is_main_process(monkeypatch):
    assert training.is_main_process()  # no process group
    monkeypatch.setattr(training.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(training.dist, "get_rank", lambda: 1)
    assert not training.is_main_process()
    monkeypatch.setattr(training.dist, "get_rank", lambda: 0)
    assert training.is_main_process()


class RecordingLoss:
    """Cross-entropy that also keeps each batch's loss, correct count and size, read at once."""

    def __init__(self):
        self.batches = []

    def __call__(self, output, y):
        loss = nn.functional.cross_entropy(output, y)
        self.batches.append((loss.item(), (output.argmax(1) == y).sum().item(), len(y)))
        return loss

    def expected(self):
        """The means as the loop computed them with a host sync per batch (Python floats)."""
        total_loss, correct, seen = 0.0, 0.0, 0.0
        for loss, right, n in self.batches:
            total_loss += loss * n
            correct += right
            seen += n
        return {"loss": total_loss / seen, "accuracy": correct / seen}


def test_sums_kept_on_the_device_give_identical_results():
    torch.manual_seed(0)
    model = mlp()
    loss_fn = RecordingLoss()
    result = cu.train_one_epoch(model, blob_loader(batch_size=8), torch.optim.SGD(model.parameters(), lr=0.1),
                                loss_fn, progress=False)  # fmt: skip
    assert result == loss_fn.expected()
    loss_fn = RecordingLoss()
    assert cu.evaluate(model, blob_loader(batch_size=8), loss_fn) == loss_fn.expected()


def test_the_loop_reads_from_the_device_only_a_few_times_per_epoch(monkeypatch):
    model = mlp()
    reads = []
    real_item = torch.Tensor.item
    monkeypatch.setattr(torch.Tensor, "item", lambda t: reads.append(1) or real_item(t))
    cu.train_one_epoch(model, blob_loader(batch_size=8), torch.optim.SGD(model.parameters(), lr=0.1))
    cu.evaluate(model, blob_loader(batch_size=8), progress=True)
    # 2 x 64 batches with the progress bar on: the old loop read 2 values per batch (256 in all);
    # now a few progress-bar updates, plus the seeds each DataLoader and sampler draw per epoch
    assert len(reads) <= 16


def test_fit_passes_options_by_keyword():
    model = mlp()
    with pytest.raises(TypeError):
        cu.fit(model, blob_loader(), None, torch.optim.SGD(model.parameters(), 0.1), 1, None)


def train_blobs(epochs, checkpoint=None, resume=False):
    cu.seed_everything(0)
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.7)
    history = cu.fit(model, blob_loader(), blob_loader(False), optimizer, epochs, scheduler=scheduler,
                     checkpoint_path=checkpoint, resume=resume, progress=False)  # fmt: skip
    return model, history


def test_resume_after_a_crash_gives_the_same_weights(tmp_path):
    """2 epochs, checkpoint, "crash", resume for 2 more == 4 uninterrupted (DataLoader shuffling,
    dropout, momentum and schedule included)."""
    straight, straight_history = train_blobs(4)
    path = tmp_path / "run.pt"
    train_blobs(2, checkpoint=path)
    torch.manual_seed(999)  # the "new process" has another random state
    resumed, resumed_history = train_blobs(4, checkpoint=path, resume=True)
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)
    assert resumed_history["epoch"] == [1, 2, 3, 4]
    assert resumed_history["test_loss"] == straight_history["test_loss"]


def mnist_loaders(mnist_train, mnist_test, train_size, test_size):
    images, labels = data.as_uint8_tensors(data.subset(mnist_train, train_size, seed=0))
    test_images, test_labels = data.as_uint8_tensors(data.subset(mnist_test, test_size, seed=0))
    train_loader = cu.TensorLoader(images, labels, 128, data.MNIST_MEAN, data.MNIST_STD, shuffle=True, drop_last=True)
    test_loader = cu.TensorLoader(test_images, test_labels, 1000, data.MNIST_MEAN, data.MNIST_STD)
    return train_loader, test_loader


def test_resume_with_tensor_loader_on_real_mnist(mnist_train, mnist_test, tmp_path):
    def run(epochs, resume):
        cu.seed_everything(0)
        loaders = mnist_loaders(mnist_train, mnist_test, 2048, 500)
        model = cu.HandbookConvNet()
        optimizer = torch.optim.Adam(model.parameters(), 1e-3)
        cu.fit(model, *loaders, optimizer, epochs, checkpoint_path=tmp_path / "m.pt", resume=resume, progress=False)
        return model

    straight = run(4, resume=False)
    (tmp_path / "m.pt").unlink()
    run(2, resume=False)
    resumed = run(4, resume=True)
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)


def test_short_mnist_run_on_a_real_subset(mnist_train, mnist_test):
    """One epoch on 10,000 real MNIST images reaches at least 95% on 2,000 test images."""
    cu.seed_everything(0)
    train_loader, test_loader = mnist_loaders(mnist_train, mnist_test, 10_000, 2_000)
    model = cu.HandbookConvNet()
    optimizer = torch.optim.Adam(model.parameters(), 2e-3)
    precision = cu.pick_precision("cpu", model, next(iter(train_loader))[0], verbose=False).precision
    history = cu.fit(model, train_loader, test_loader, optimizer, 1, precision=precision, progress=False)
    assert history["test_accuracy"][-1] >= 0.95, history


@pytest.mark.slow
def test_course_mnist_recipe_reaches_99_percent(mnist_train, mnist_test):
    """The course's MNIST recipe in full: all 60,000 images, 2 epochs, OneCycle, in the precision
    `pick_precision` chooses here (bf16 would be several times slower than fp32 on an AVX2-only CPU)."""
    cu.seed_everything(0)
    train_loader, test_loader = mnist_loaders(mnist_train, mnist_test, 60_000, 10_000)
    model = cu.HandbookConvNet()
    optimizer = torch.optim.Adam(model.parameters(), 2e-3)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, 3e-3, total_steps=2 * len(train_loader))
    choice = cu.pick_precision("cpu", model, next(iter(train_loader))[0])
    history = cu.fit(model, train_loader, test_loader, optimizer, 2, scheduler=scheduler,
                     scheduler_step="batch", precision=choice.precision, progress=False)  # fmt: skip
    print("MNIST full recipe:", history)
    assert history["test_accuracy"][-1] >= 0.990, history
