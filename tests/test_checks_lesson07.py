"""The checks of lesson 07 accept the reference answers and explain typical mistakes."""

import pytest
import torch
import torchvision
from torch import nn

from course_utils.checks import ExerciseError, lesson07
from course_utils.models import HandbookConvNet


@pytest.fixture
def trained():
    torch.manual_seed(0)
    return HandbookConvNet()


def test_exercise_1_accepts_reference(trained, tmp_path, capsys):
    path = tmp_path / "weights.pth"
    torch.save(trained.state_dict(), path)
    fresh = HandbookConvNet()
    fresh.load_state_dict(torch.load(path, weights_only=True))
    lesson07.exercise_1(fresh, trained)
    assert "same 8 tensors" in capsys.readouterr().out


def test_exercise_1_rejects_the_result_of_load_state_dict(trained, tmp_path):
    path = tmp_path / "weights.pth"
    torch.save(trained.state_dict(), path)
    fresh = HandbookConvNet().load_state_dict(torch.load(path, weights_only=True))
    with pytest.raises(ExerciseError, match="report that load_state_dict returns"):
        lesson07.exercise_1(fresh, trained)


def test_exercise_1_rejects_the_same_object_and_an_unloaded_model(trained):
    with pytest.raises(ExerciseError, match="two names for one object"):
        lesson07.exercise_1(trained, trained)
    with pytest.raises(ExerciseError, match="8 of 8 tensors differ"):
        lesson07.exercise_1(HandbookConvNet(), trained)


def test_exercise_1_rejects_shared_tensors(trained):
    fresh = HandbookConvNet()
    fresh.load_state_dict(trained.state_dict(), assign=True)
    with pytest.raises(ExerciseError, match="shares its tensors"):
        lesson07.exercise_1(fresh, trained)


def reference_predict_one(model, image):
    model.eval()
    with torch.no_grad():
        output = model(image.reshape(1, 1, 28, 28))
    return output.argmax(1).item()


def test_exercise_2_accepts_reference(capsys):
    lesson07.exercise_2(reference_predict_one)
    assert "correct" in capsys.readouterr().out


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

    with pytest.raises(ExerciseError, match="still in training mode"):
        lesson07.exercise_2(no_eval)


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


def test_exercise_4_accepts_reference(capsys):
    model = torchvision.models.resnet18(weights=None)
    model.fc = nn.Linear(model.fc.in_features, 10)
    lesson07.exercise_4(model)
    assert "10-way head" in capsys.readouterr().out


def test_exercise_4_rejects_a_head_after_the_old_one():
    model = torchvision.models.resnet18(weights=None)
    model.fc = nn.Linear(1000, 10)
    with pytest.raises(ExerciseError, match="takes 1000 inputs"):
        lesson07.exercise_4(model)
