"""The checks of lesson 07 accept the reference answers and explain typical mistakes."""

import copy

import pytest
import torch
from torch import nn

from course_utils.checks import ExerciseError, lesson07

# Exercise 1: save_and_reload(model, path, build) -> a new model loaded from the file


def reference_save_and_reload(model, path, build):
    torch.save(model.state_dict(), path)
    new_model = build()
    new_model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return new_model


def test_exercise_1_accepts_reference(capsys):
    lesson07.exercise_1(reference_save_and_reload)
    assert "correct" in capsys.readouterr().out


def test_exercise_1_rejects_a_deepcopy_without_a_file():
    """The answer that the old check accepted: a copy in memory, no file at all."""

    def deepcopy_only(model, path, build):
        return copy.deepcopy(model)

    with pytest.raises(ExerciseError, match="no file was written"):
        lesson07.exercise_1(deepcopy_only)


def test_exercise_1_rejects_a_deepcopy_beside_a_file():
    def deepcopy_and_file(model, path, build):
        torch.save(model.state_dict(), path)
        return copy.deepcopy(model)

    with pytest.raises(ExerciseError, match="not made by build"):
        lesson07.exercise_1(deepcopy_and_file)


def test_exercise_1_rejects_a_whole_pickled_model():
    def whole_model(model, path, build):
        torch.save(model, path)
        return torch.load(path, weights_only=False)

    with pytest.raises(ExerciseError, match="pickled model object"):
        lesson07.exercise_1(whole_model)


def test_exercise_1_rejects_the_report_of_load_state_dict_and_the_model_itself():
    def report(model, path, build):
        torch.save(model.state_dict(), path)
        return build().load_state_dict(torch.load(path, weights_only=True))

    def same(model, path, build):
        torch.save(model.state_dict(), path)
        return model

    with pytest.raises(ExerciseError, match="report that load_state_dict"):
        lesson07.exercise_1(report)
    with pytest.raises(ExerciseError, match="the model it was given"):
        lesson07.exercise_1(same)


def test_exercise_1_rejects_an_unloaded_model_and_a_file_never_read():
    def not_loaded(model, path, build):
        torch.save(model.state_dict(), path)
        return build()

    def from_memory(model, path, build):
        torch.save(model.state_dict(), path)
        new_model = build()
        new_model.load_state_dict(model.state_dict())
        return new_model

    with pytest.raises(ExerciseError, match="tensors of the new model differ"):
        lesson07.exercise_1(not_loaded)
    with pytest.raises(ExerciseError, match="file was never read"):
        lesson07.exercise_1(from_memory)


def test_exercise_1_restores_torch_load_after_an_error():
    load = torch.load

    def broken(model, path, build):
        raise ValueError("oops")

    with pytest.raises(ExerciseError, match="raised ValueError: oops"):
        lesson07.exercise_1(broken)
    assert torch.load is load


# Exercise 2: predict_one(model, image) for one 3 x 32 x 32 image


def reference_predict_one(model, image):
    device = next(model.parameters()).device
    image = torch.reshape(image, (1, 3, 32, 32)).to(device)
    model.eval()
    with torch.no_grad():
        output = model(image)
    return output.argmax(1).item()


def test_exercise_2_accepts_reference(capsys):
    lesson07.exercise_2(reference_predict_one)
    assert "correct" in capsys.readouterr().out


def test_exercise_2_accepts_moving_the_image_to_the_lessons_device(capsys):
    """The lesson teaches image.to(DEVICE); the check's model lives on the device it is given."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def to_device(model, image):
        model.eval()
        with torch.no_grad():
            return model(image.unsqueeze(0).to(device)).argmax(1).item()

    lesson07.exercise_2(to_device, device)
    assert "correct" in capsys.readouterr().out


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_exercise_2_on_a_gpu_explains_an_image_left_on_the_cpu():
    def stays_on_cpu(model, image):
        model.eval()
        with torch.no_grad():
            return model(image.unsqueeze(0)).argmax(1).item()

    with pytest.raises(ExerciseError, match="move the image"):
        lesson07.exercise_2(stays_on_cpu, "cuda")


def test_exercise_2_rejects_a_missing_batch_dimension():
    def no_batch(model, image):
        model.eval()
        with torch.no_grad():
            return model(image).argmax(1).item()

    with pytest.raises(ExerciseError, match="predict_one raised"):
        lesson07.exercise_2(no_batch)


def test_exercise_2_rejects_a_missing_eval():
    def no_eval(model, image):
        with torch.no_grad():
            return model(image.unsqueeze(0)).argmax(1).item()

    with pytest.raises(ExerciseError, match="training mode while it ran"):
        lesson07.exercise_2(no_eval)


def test_exercise_2_rejects_eval_called_after_the_forward_pass():
    """The old check looked at model.training after the call, so this answer passed."""

    def eval_too_late(model, image):
        with torch.no_grad():
            output = model(image.unsqueeze(0))
        model.eval()
        return output.argmax(1).item()

    with pytest.raises(ExerciseError, match="BEFORE the forward pass"):
        lesson07.exercise_2(eval_too_late)


def test_exercise_2_rejects_gradients_and_tensors():
    def with_grad(model, image):
        model.eval()
        return model(image.unsqueeze(0)).argmax(1).item()

    def tensor_out(model, image):
        model.eval()
        with torch.no_grad():
            return model(image.unsqueeze(0)).argmax(1)

    with pytest.raises(ExerciseError, match="gradient tracking on"):
        lesson07.exercise_2(with_grad)
    with pytest.raises(ExerciseError, match="return a plain int with .item()"):
        lesson07.exercise_2(tensor_out)


# Exercise 3: VGG16 with a new classifier[6], all else frozen


class FakeVGG(nn.Module):
    """VGG16's classifier with a tiny feature extractor (the real one is 528 MB)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Conv2d(3, 4, 3)
        self.classifier = nn.Sequential(
            nn.Linear(25088, 4096), nn.ReLU(True), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(),
            nn.Linear(4096, 1000),
        )  # fmt: skip


def test_exercise_3_accepts_reference(capsys):
    model = FakeVGG()
    for p in model.parameters():
        p.requires_grad = False
    model.classifier[6] = nn.Linear(4096, 10)
    lesson07.exercise_3(model)
    assert "40,970 parameters" in capsys.readouterr().out


def test_exercise_3_rejects_add_module():
    model = FakeVGG()
    for p in model.parameters():
        p.requires_grad = False
    model.classifier.add_module("add_linear", nn.Linear(1000, 10))
    with pytest.raises(ExerciseError, match="has 8 layers"):
        lesson07.exercise_3(model)


def test_exercise_3_rejects_a_frozen_head_and_a_trainable_body():
    model = FakeVGG()
    model.classifier[6] = nn.Linear(4096, 10)
    with pytest.raises(ExerciseError, match="other parameter tensors are still trainable"):
        lesson07.exercise_3(model)
    for p in model.parameters():
        p.requires_grad = False
    with pytest.raises(ExerciseError, match="new classifier\\[6\\] is frozen too"):
        lesson07.exercise_3(model)


def test_exercise_3_rejects_wrong_sizes():
    model = FakeVGG()
    for p in model.parameters():
        p.requires_grad = False
    model.classifier[6] = nn.Linear(1000, 10)
    with pytest.raises(ExerciseError, match="takes 1000 inputs"):
        lesson07.exercise_3(model)


# Exercise 4: strip the prefixes that torch.compile and DDP add to state_dict keys


def reference_strip_prefixes(state_dict):
    clean = {}
    for key, value in state_dict.items():
        while key.startswith(("module.", "_orig_mod.")):
            key = key.removeprefix("module.").removeprefix("_orig_mod.")
        clean[key] = value
    return clean


def test_exercise_4_accepts_reference(capsys):
    lesson07.exercise_4(reference_strip_prefixes)
    assert "correct" in capsys.readouterr().out


def test_exercise_4_reference_loads_a_compiled_models_state_dict_into_a_plain_model():
    plain = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    compiled = torch.compile(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)))
    keys = list(compiled.state_dict())
    assert keys[0].startswith("_orig_mod.")
    plain.load_state_dict(reference_strip_prefixes(compiled.state_dict()))


def test_exercise_4_rejects_replace_everywhere():
    def replace_all(state_dict):
        return {k.replace("_orig_mod.", "").replace("module.", ""): v for k, v in state_dict.items()}

    with pytest.raises(ExerciseError, match="remove the prefix only at the START"):
        lesson07.exercise_4(replace_all)


def test_exercise_4_rejects_a_single_pass():
    def once(state_dict):
        return {k.removeprefix("module.").removeprefix("_orig_mod."): v for k, v in state_dict.items()}

    with pytest.raises(ExerciseError, match="wrapped twice"):
        lesson07.exercise_4(once)


# Exercise 5: an optimizer with a small learning rate for the backbone and a larger one for the head


def reference_fine_tune_optimizer(model):
    return torch.optim.Adam([
        {"params": model.features.parameters(), "lr": 1e-4},
        {"params": model.classifier.parameters(), "lr": 1e-3},
    ])  # fmt: skip


def test_exercise_5_accepts_reference(capsys):
    lesson07.exercise_5(reference_fine_tune_optimizer)
    assert "correct" in capsys.readouterr().out


def test_exercise_5_accepts_a_default_lr_for_one_group(capsys):
    def default_for_head(model):
        return torch.optim.SGD(
            [{"params": model.features.parameters(), "lr": 1e-4}, {"params": model.classifier.parameters()}],
            lr=1e-3, momentum=0.9,
        )  # fmt: skip

    lesson07.exercise_5(default_for_head)
    assert "correct" in capsys.readouterr().out


def test_exercise_5_rejects_one_group_swapped_rates_and_a_missing_backbone():
    def one_group(model):
        return torch.optim.Adam(model.parameters(), lr=1e-3)

    def swapped(model):
        return torch.optim.Adam([
            {"params": model.features.parameters(), "lr": 1e-3},
            {"params": model.classifier.parameters(), "lr": 1e-4},
        ])  # fmt: skip

    def head_only(model):
        return torch.optim.Adam([{"params": model.classifier.parameters(), "lr": 1e-3}])

    with pytest.raises(ExerciseError, match="one parameter group"):
        lesson07.exercise_5(one_group)
    with pytest.raises(ExerciseError, match="swapped"):
        lesson07.exercise_5(swapped)
    with pytest.raises(ExerciseError, match="in no parameter group"):
        lesson07.exercise_5(head_only)


def test_exercise_5_explains_a_parameter_in_two_groups():
    def twice(model):
        return torch.optim.Adam([
            {"params": model.parameters(), "lr": 1e-4},
            {"params": model.classifier.parameters(), "lr": 1e-3},
        ])  # fmt: skip

    with pytest.raises(ExerciseError, match="raised ValueError"):
        lesson07.exercise_5(twice)


def test_a_wrong_answer_is_explained_in_chinese(chinese):
    """With the Chinese edition's `lang="zh"`, the check and its hint speak Chinese (issue 14)."""

    def deepcopy_only(model, path, build):
        return copy.deepcopy(model)

    with pytest.raises(ExerciseError) as caught:
        lesson07.exercise_1(deepcopy_only)
    with pytest.raises(ExerciseError, match="两个学习率弄反了"):
        lesson07.exercise_5(
            lambda model: torch.optim.Adam([
                {"params": model.features.parameters(), "lr": 1e-3},
                {"params": model.classifier.parameters(), "lr": 1e-4},
            ])  # fmt: skip
        )
    message = str(caught.value)
    assert "没有写出任何文件" in message
    assert "提示：分三步" in message
    assert "no file was written" not in message
