"""Exercise checks for notebooks/07_saving_and_loading.ipynb."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from course_utils.checks.base import ExerciseError, fail, passed  # noqa: F401


def exercise_1(fresh_model: nn.Module, trained_model: nn.Module) -> None:
    """Exercise 1 of lesson 07: a state_dict saved to a file and loaded into a new model."""
    hint = (
        "torch.save(trained_model.state_dict(), path); then fresh_model = cu.HandbookConvNet() and "
        "fresh_model.load_state_dict(torch.load(path, weights_only=True)) on a line of its own."
    )
    if not isinstance(fresh_model, nn.Module):
        name = type(fresh_model).__name__
        if name == "_IncompatibleKeys":
            fail(
                "fresh_model is the report that load_state_dict returns, not a model: it loads "
                "the weights in place, so do not assign its result.",
                hint,
            )
        fail(f"fresh_model should be a model (nn.Module), not a {name}.", hint)
    if fresh_model is trained_model:
        fail(
            "fresh_model is the trained model itself (two names for one object), not a new "
            "model loaded from the file.",
            hint,
        )
    if type(fresh_model) is not type(trained_model):
        fail(
            f"fresh_model is a {type(fresh_model).__name__}; the saved weights belong to a "
            f"{type(trained_model).__name__}.",
            hint,
        )
    expected = trained_model.state_dict()
    actual = fresh_model.state_dict()
    shared = [k for k in expected if actual[k].data_ptr() == expected[k].data_ptr()]
    if shared:
        fail(
            f"fresh_model shares its tensors with the trained model ({shared[0]}, ...): it was "
            "not loaded from a file.",
            hint,
        )
    differ = [k for k in expected if not torch.equal(actual[k].cpu(), expected[k].cpu())]
    if differ:
        fail(
            f"{len(differ)} of {len(expected)} tensors differ from the trained model's "
            f"({', '.join(differ[:3])}): were the weights loaded?",
            hint,
        )
    passed(f"Exercise 1 (a fresh model with the same {len(expected)} tensors)")


class _CheckNet(nn.Module):
    """A small MNIST net with BatchNorm, whose output depends on train/eval mode."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)  # 4 x 26 x 26
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 26 * 26, 10)  # 10

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


def exercise_2(predict_one: Callable[[nn.Module, torch.Tensor], int]) -> None:
    """Exercise 2 of lesson 07: predict the class of one 1 x 28 x 28 image with eval and no_grad."""
    hint = (
        "add the batch dimension (image.reshape(1, 1, 28, 28) or image.unsqueeze(0)), call "
        "model.eval(), run the model inside `with torch.no_grad():`, and return "
        "output.argmax(1).item()."
    )
    if not callable(predict_one):
        fail(f"predict_one should be a function, not a {type(predict_one).__name__}.", hint)
    with torch.random.fork_rng():
        torch.manual_seed(7)
        model = _CheckNet()
        model.bn.running_mean.normal_(0, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
        images = torch.randn(6, 1, 28, 28)
    model.eval()
    with torch.no_grad():
        expected = model(images).argmax(1).tolist()
    grad_modes: list[bool] = []
    model.register_forward_pre_hook(lambda module, args: grad_modes.append(torch.is_grad_enabled()))
    answers = []
    for image in images:
        model.train()  # as a model is after training
        try:
            answer = predict_one(model, image.clone())
        except Exception as error:
            fail(f"predict_one raised {type(error).__name__}: {str(error).splitlines()[0]}", hint)
        if isinstance(answer, torch.Tensor) and answer.numel() == 1:
            fail(
                f"predict_one returned a tensor ({answer!r}); return a plain int with .item().",
                hint,
            )
        if not isinstance(answer, int):
            fail(f"predict_one returned a {type(answer).__name__}; it should return an int.", hint)
        if model.training:
            fail(
                "the model was still in training mode when it ran: BatchNorm and Dropout then "
                "behave differently. Call model.eval() first.",
                hint,
            )
        answers.append(answer)
    if any(grad_modes):
        fail("the model ran with gradient tracking on; inference needs no gradients.", hint)
    if answers != expected:
        fail(f"predict_one gave {answers}, expected {expected}.", hint)
    passed("Exercise 2 (inference on one image)")


def exercise_3(model: nn.Module, num_classes: int = 10) -> None:
    """Exercise 3 of lesson 07: VGG16 with a new classifier[6] for `num_classes`, all else frozen."""
    hint = (
        "first freeze every parameter (for p in model.parameters(): p.requires_grad = False), "
        f"then replace the last layer: model.classifier[6] = nn.Linear(4096, {num_classes}); a new "
        "layer's parameters are trainable."
    )
    classifier = getattr(model, "classifier", None)
    if not isinstance(classifier, nn.Sequential):
        fail("model has no nn.Sequential called classifier; pass the VGG16 model itself.", hint)
    if len(classifier) != 7:
        fail(
            f"model.classifier has {len(classifier)} layers, VGG16's has 7. add_module adds a "
            "layer (the Tudui tutorial's first way); this exercise replaces index 6.",
            hint,
        )
    head = classifier[6]
    if not isinstance(head, nn.Linear):
        fail(f"classifier[6] is a {type(head).__name__}, expected a Linear layer.", hint)
    if head.in_features != 4096:
        fail(
            f"classifier[6] takes {head.in_features} inputs, but classifier[3] gives it 4096.", hint
        )
    if head.out_features != num_classes:
        fail(f"classifier[6] gives {head.out_features} outputs, expected {num_classes}.", hint)
    head_params = {id(p) for p in head.parameters()}
    if not all(p.requires_grad for p in head.parameters()):
        fail(
            "the new classifier[6] is frozen too, so nothing would learn. Freeze first, then "
            "replace the layer.",
            hint,
        )
    trainable = [
        n for n, p in model.named_parameters() if p.requires_grad and id(p) not in head_params
    ]
    if trainable:
        fail(
            f"{len(trainable)} other parameter tensors are still trainable ({trainable[0]}, ...).",
            hint,
        )
    n_train = sum(p.numel() for p in head.parameters())
    passed(f"Exercise 3 (only the new head trains: {n_train:,} parameters)")


def exercise_4(model: nn.Module, num_classes: int = 10) -> None:
    """Exercise 4 of lesson 07: resnet18 with a new `fc` head for `num_classes` classes."""
    hint = f"model.fc = nn.Linear(model.fc.in_features, {num_classes}) (in_features is 512 for resnet18)."
    fc = getattr(model, "fc", None)
    if not isinstance(fc, nn.Linear):
        fail(f"model.fc should be a Linear layer, not {type(fc).__name__}.", hint)
    if fc.in_features != 512:
        fail(
            f"model.fc takes {fc.in_features} inputs, but resnet18's pooled features have 512.",
            hint,
        )
    if fc.out_features != num_classes:
        fail(f"model.fc gives {fc.out_features} outputs, expected {num_classes}.", hint)
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 64, 64))
    if tuple(out.shape) != (1, num_classes):
        fail(f"the model's output has shape {tuple(out.shape)}, expected (1, {num_classes}).", hint)
    passed(f"Exercise 4 (resnet18 with a {num_classes}-way head)")
