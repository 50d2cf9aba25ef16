"""Exercise checks for notebooks/07_saving_and_loading.ipynb."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

from course_utils.checks.base import fail, passed
from course_utils.i18n import _


class _CheckNet(nn.Module):
    """A small net for 3 x 32 x 32 images with BatchNorm, whose output depends on train/eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)  # 4 x 30 x 30
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 30 * 30, 5)  # 5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


def _check_net(seed: int) -> _CheckNet:
    """A _CheckNet with random weights and BatchNorm statistics that are not the defaults."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = _CheckNet()
        model.bn.running_mean.normal_(0, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
        model.bn.num_batches_tracked.fill_(100)
    return model


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [""])[0]


def exercise_1(save_and_reload: Callable[[nn.Module, Path, Callable[[], nn.Module]], nn.Module]) -> None:
    """Exercise 1 of lesson 07: save a model's state_dict to a file, load it into a new model."""
    hint = _(
        "three steps: torch.save(model.state_dict(), path); new_model = build(); "
        "new_model.load_state_dict(torch.load(path, map_location='cpu', weights_only=True)); "
        "then return new_model."
    )
    if not callable(save_and_reload):
        fail(
            _("save_and_reload should be a function, not a {kind}.").format(
                kind=type(save_and_reload).__name__
            ),
            hint,
        )
    model = _check_net(seed=11)
    built: list[nn.Module] = []

    def build() -> nn.Module:
        new = _check_net(seed=len(built) + 100)  # other weights than `model`
        built.append(new)
        return new

    reads: list[object] = []
    real_load = torch.load

    def recording_load(f, *args, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(f)
        return real_load(f, *args, **kwargs)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "weights.pth"
        torch.load = recording_load  # see whether the answer reads the file back
        try:
            result = save_and_reload(model, path, build)
        except Exception as error:
            fail(
                _("save_and_reload raised {error_type}: {message}").format(
                    error_type=type(error).__name__, message=_first_line(error)
                ),
                hint,
            )
        finally:
            torch.load = real_load
        if not path.is_file():
            fail(
                _(
                    "no file was written at `path`. A copy in memory (copy.deepcopy) is lost when "
                    "Python stops; the point is a file that outlives the session."
                ),
                hint,
            )
        try:
            saved = real_load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            fail(
                _(
                    "the file holds a pickled model object (torch.save(model, path)): it needs the "
                    "class's code to load and cannot be read with weights_only=True. Save "
                    "model.state_dict() instead."
                ),
                hint,
            )
        except Exception as error:
            fail(
                _("the file cannot be read back ({error_type}: {message}).").format(
                    error_type=type(error).__name__, message=_first_line(error)
                ),
                hint,
            )
    expected = model.state_dict()
    if not isinstance(saved, Mapping) or not all(isinstance(v, torch.Tensor) for v in saved.values()):
        fail(
            _(
                "the file holds a {kind}, not a state_dict (a dict from names to tensors). "
                "Save model.state_dict()."
            ).format(kind=type(saved).__name__),
            hint,
        )
    if set(saved) != set(expected):
        fail(
            _(
                "the saved dict has the keys {saved_keys}..., the model's state_dict has "
                "{model_keys}...: save model.state_dict() itself."
            ).format(saved_keys=sorted(saved)[:4], model_keys=sorted(expected)[:4]),
            hint,
        )
    if type(result).__name__ == "_IncompatibleKeys":
        fail(
            _(
                "save_and_reload returned the report that load_state_dict gives back, not a "
                "model: load_state_dict fills the model in place, so return the model itself."
            ),
            hint,
        )
    if result is model:
        fail(
            _("save_and_reload returned the model it was given, not a new one loaded from the file."),
            hint,
        )
    if not isinstance(result, nn.Module):
        fail(
            _("save_and_reload should return a model (nn.Module), not a {kind}.").format(
                kind=type(result).__name__
            ),
            hint,
        )
    if not any(result is new for new in built):
        fail(
            _(
                "the returned model was not made by build(): a copy of the model (copy.deepcopy) "
                "proves nothing about the file. Call build() for a new model and load the file "
                "into it."
            ),
            hint,
        )
    actual = result.state_dict()
    shared = [k for k in expected if actual[k].data_ptr() == expected[k].data_ptr()]
    if shared:
        fail(
            _(
                "the new model shares its tensors with the original ({name}, ...): it was not "
                "loaded from the file."
            ).format(name=shared[0]),
            hint,
        )
    differ = [k for k in expected if not torch.equal(actual[k].cpu(), expected[k].cpu())]
    if differ:
        fail(
            _(
                "{count} of {total} tensors of the new model differ from the original's "
                "({names}): was the file loaded into it?"
            ).format(count=len(differ), total=len(expected), names=", ".join(differ[:3])),
            hint,
        )
    if not reads:
        fail(
            _(
                "the new model has the right weights, but the file was never read (no "
                "torch.load): load the file, not model.state_dict() from memory."
            ),
            hint,
        )
    passed(
        _("Exercise 1 (saved to a file and loaded into a new model: {count} tensors equal)").format(
            count=len(expected)
        )
    )


def exercise_2(
    predict_one: Callable[[nn.Module, torch.Tensor], int], device: torch.device | str = "cpu"
) -> None:
    """Exercise 2 of lesson 07: the class of one 3 x 32 x 32 image, with eval and no_grad.

    The check's model lives on `device` (pass the lesson's DEVICE); the images come on the CPU,
    as a transform makes them, so an answer that moves the image to the model's device passes.
    """
    device = torch.device(device)
    hint = _(
        "add the batch dimension (torch.reshape(image, (1, 3, 32, 32))), move it to the "
        "model's device, call model.eval(), run the model inside `with torch.no_grad():`, and "
        "return output.argmax(1).item()."
    )
    if not callable(predict_one):
        fail(
            _("predict_one should be a function, not a {kind}.").format(kind=type(predict_one).__name__),
            hint,
        )
    model = _check_net(seed=7).to(device)
    with torch.random.fork_rng():
        torch.manual_seed(8)
        images = torch.randn(6, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        expected = model(images.to(device)).argmax(1).tolist()
    runs: list[tuple[bool, bool]] = []  # (training mode, gradients on) at each forward pass
    model.register_forward_pre_hook(
        lambda module, args: runs.append((module.training, torch.is_grad_enabled()))
    )
    answers = []
    for image in images:
        model.train()  # as a model is after training
        runs.clear()
        try:
            answer = predict_one(model, image.clone())
        except Exception as error:
            text = _first_line(error)
            if "device" in text and device.type != "cpu":
                fail(
                    _(
                        "the image comes on the CPU and the model is on {device}: move the image "
                        "to the model's device first ({error_type}: {message})."
                    ).format(device=device, error_type=type(error).__name__, message=text),
                    hint,
                )
            fail(
                _("predict_one raised {error_type}: {message}").format(
                    error_type=type(error).__name__, message=text
                ),
                hint,
            )
        if not runs:
            fail(_("predict_one never ran the model on the image."), hint)
        if any(training for training, _ in runs):
            fail(
                _(
                    "the model was in training mode while it ran (BatchNorm then uses the batch's "
                    "statistics, Dropout drops units): call model.eval() BEFORE the forward pass."
                ),
                hint,
            )
        if any(grad for _, grad in runs):
            fail(_("the model ran with gradient tracking on; inference needs no gradients."), hint)
        if isinstance(answer, torch.Tensor) and answer.numel() == 1:
            fail(
                _("predict_one returned a tensor ({answer!r}); return a plain int with .item().").format(
                    answer=answer
                ),
                hint,
            )
        if not isinstance(answer, int) or isinstance(answer, bool):
            fail(
                _("predict_one returned a {kind}; it should return an int.").format(
                    kind=type(answer).__name__
                ),
                hint,
            )
        answers.append(answer)
    if answers != expected:
        fail(
            _("predict_one gave {answers}, expected {expected}.").format(
                answers=answers, expected=expected
            ),
            hint,
        )
    passed(_("Exercise 2 (inference on one image, model on {device})").format(device=device.type))


def exercise_3(model: nn.Module, num_classes: int = 10) -> None:
    """Exercise 3 of lesson 07: VGG16 with a new classifier[6] for `num_classes`, all else frozen."""
    hint = _(
        "first freeze every parameter (for p in model.parameters(): p.requires_grad = False), "
        "then replace the last layer: model.classifier[6] = nn.Linear(4096, {num_classes}); a new "
        "layer's parameters are trainable."
    ).format(num_classes=num_classes)
    classifier = getattr(model, "classifier", None)
    if not isinstance(classifier, nn.Sequential):
        fail(_("model has no nn.Sequential called classifier; pass the VGG16 model itself."), hint)
    if len(classifier) != 7:
        fail(
            _(
                "model.classifier has {count} layers, VGG16's has 7. add_module adds a layer "
                "(the Tudui tutorial's first way); this exercise replaces index 6."
            ).format(count=len(classifier)),
            hint,
        )
    head = classifier[6]
    if not isinstance(head, nn.Linear):
        fail(
            _("classifier[6] is a {kind}, expected a Linear layer.").format(kind=type(head).__name__),
            hint,
        )
    if head.in_features != 4096:
        fail(
            _("classifier[6] takes {inputs} inputs, but classifier[3] gives it 4096.").format(
                inputs=head.in_features
            ),
            hint,
        )
    if head.out_features != num_classes:
        fail(
            _("classifier[6] gives {outputs} outputs, expected {num_classes}.").format(
                outputs=head.out_features, num_classes=num_classes
            ),
            hint,
        )
    head_params = {id(p) for p in head.parameters()}
    if not all(p.requires_grad for p in head.parameters()):
        fail(
            _(
                "the new classifier[6] is frozen too, so nothing would learn. Freeze first, then "
                "replace the layer."
            ),
            hint,
        )
    trainable = [
        n for n, p in model.named_parameters() if p.requires_grad and id(p) not in head_params
    ]
    if trainable:
        fail(
            _("{count} other parameter tensors are still trainable ({name}, ...).").format(
                count=len(trainable), name=trainable[0]
            ),
            hint,
        )
    n_train = sum(p.numel() for p in head.parameters())
    passed(_("Exercise 3 (only the new head trains: {count:,} parameters)").format(count=n_train))


_WRAPPED_KEYS = {  # a state_dict as a wrapped model writes it -> the keys a plain model expects
    "_orig_mod.module.features.0.weight": "features.0.weight",  # torch.compile(DDP(model))
    "module.features.0.bias": "features.0.bias",  # DDP(model)
    "_orig_mod.submodule.weight": "submodule.weight",  # "module." inside a name must stay
    "classifier.weight": "classifier.weight",  # already plain
    "classifier.bias": "classifier.bias",
}


def exercise_4(strip_prefixes: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]) -> None:
    """Exercise 4 of lesson 07: remove the `module.` / `_orig_mod.` prefixes that wrappers add."""
    hint = _(
        "for each key, while it starts with 'module.' or '_orig_mod.', cut that prefix off "
        "(key.removeprefix(...)); keep the tensor as it is; build a new dict."
    )
    if not callable(strip_prefixes):
        fail(
            _("strip_prefixes should be a function, not a {kind}.").format(
                kind=type(strip_prefixes).__name__
            ),
            hint,
        )
    with torch.random.fork_rng():
        torch.manual_seed(4)
        wrapped = {key: torch.randn(3) for key in _WRAPPED_KEYS}
    original = {key: value.clone() for key, value in wrapped.items()}
    try:
        result = strip_prefixes(dict(wrapped))
    except Exception as error:
        fail(
            _("strip_prefixes raised {error_type}: {message}").format(
                error_type=type(error).__name__, message=_first_line(error)
            ),
            hint,
        )
    if not isinstance(result, Mapping):
        fail(
            _("strip_prefixes should return a dict, not a {kind}.").format(kind=type(result).__name__),
            hint,
        )
    got, want = set(result), set(_WRAPPED_KEYS.values())
    if any("subweight" in k for k in got):
        fail(
            _(
                "'_orig_mod.submodule.weight' lost the 'module.' inside 'submodule.': replace() "
                "cuts every occurrence; remove the prefix only at the START of the key."
            ),
            hint,
        )
    leftover = sorted(k for k in got if k.startswith(("module.", "_orig_mod.")))
    if leftover:
        fail(
            _(
                "{key!r} still starts with a wrapper's prefix: a model wrapped twice "
                "(torch.compile around DDP) has two of them."
            ).format(key=leftover[0]),
            hint,
        )
    if got != want:
        fail(
            _("strip_prefixes gave the keys {keys}, expected {expected}.").format(
                keys=sorted(got), expected=sorted(want)
            ),
            hint,
        )
    for old, new in _WRAPPED_KEYS.items():
        if not isinstance(result[new], torch.Tensor) or not torch.equal(result[new], original[old]):
            fail(
                _("the tensor under {new_key!r} is not the one that was under {old_key!r}.").format(
                    new_key=new, old_key=old
                ),
                hint,
            )
    if any(not torch.equal(wrapped[k], original[k]) for k in original):
        fail(_("strip_prefixes changed the tensors of the dict it was given."), hint)
    passed(_("Exercise 4 (wrapper prefixes removed, names inside keys kept)"))


def exercise_5(
    fine_tune_optimizer: Callable[[nn.Module], torch.optim.Optimizer],
    head_lr: float = 1e-3,
    backbone_lr: float = 1e-4,
) -> None:
    """Exercise 5 of lesson 07: an optimizer with a small learning rate for the backbone
    (`features`) and a larger one for the new head (`classifier`)."""
    hint = _(
        "pass a list of two dicts: torch.optim.Adam([{{'params': model.features.parameters(), "
        "'lr': {backbone_lr:g}}}, {{'params': model.classifier.parameters(), 'lr': {head_lr:g}}}])."
    ).format(backbone_lr=backbone_lr, head_lr=head_lr)
    if not callable(fine_tune_optimizer):
        fail(
            _("fine_tune_optimizer should be a function, not a {kind}.").format(
                kind=type(fine_tune_optimizer).__name__
            ),
            hint,
        )
    from course_utils.models import CifarResNet  # a small one: only its parameters matter

    model = CifarResNet(num_classes=5, width=4)
    try:
        optimizer = fine_tune_optimizer(model)
    except Exception as error:
        fail(
            _("fine_tune_optimizer raised {error_type}: {message}").format(
                error_type=type(error).__name__, message=_first_line(error)
            ),
            hint,
        )
    if not isinstance(optimizer, torch.optim.Optimizer):
        fail(
            _("fine_tune_optimizer should return an optimizer, not a {kind}.").format(
                kind=type(optimizer).__name__
            ),
            hint,
        )
    lr_of: dict[int, float] = {}
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            lr_of[id(parameter)] = group["lr"]
    head = list(model.classifier.parameters())
    backbone = list(model.features.parameters())
    missing = [p for p in head + backbone if id(p) not in lr_of]
    if missing:
        if any(p is q for p in missing for q in head):
            message = _(
                "{count} parameter tensors (the head's, among others) are in no parameter group: "
                "the optimizer would never change them."
            )
        else:
            message = _(
                "{count} parameter tensors (the backbone's, among others) are in no parameter "
                "group: the optimizer would never change them."
            )
        fail(message.format(count=len(missing)), hint)
    head_lrs = {lr_of[id(p)] for p in head}
    backbone_lrs = {lr_of[id(p)] for p in backbone}
    if len(optimizer.param_groups) == 1:
        fail(
            _(
                "one parameter group: every weight learns at lr={lr:g}. Fine-tuning gives the "
                "trained backbone a smaller learning rate than the new head."
            ).format(lr=optimizer.param_groups[0]["lr"]),
            hint,
        )
    if head_lrs == {backbone_lr} and backbone_lrs == {head_lr}:
        fail(
            _(
                "the two learning rates are swapped: the trained backbone should move slowly "
                "({backbone_lr:g}), the new, random head fast ({head_lr:g})."
            ).format(backbone_lr=backbone_lr, head_lr=head_lr),
            hint,
        )
    if head_lrs != {head_lr}:
        fail(
            _("the head (model.classifier) learns at {lrs}, expected {head_lr:g}.").format(
                lrs=sorted(head_lrs), head_lr=head_lr
            ),
            hint,
        )
    if backbone_lrs != {backbone_lr}:
        fail(
            _("the backbone (model.features) learns at {lrs}, expected {backbone_lr:g}.").format(
                lrs=sorted(backbone_lrs), backbone_lr=backbone_lr
            ),
            hint,
        )
    passed(
        _("Exercise 5 (backbone at {backbone_lr:g}, head at {head_lr:g})").format(
            backbone_lr=backbone_lr, head_lr=head_lr
        )
    )
