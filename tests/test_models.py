import pytest
import torch

from course_utils import models


@pytest.mark.parametrize(
    ("model", "shape", "params"),
    [
        (models.HandbookConvNet(), (4, 1, 28, 28), 1_007_590),
        (models.TuduiNet(), (4, 3, 32, 32), 145_578),
        (models.TuduiSequentialNet(), (4, 3, 32, 32), 145_578),
    ],
)
def test_notes_models_shapes_and_sizes(model, shape, params):
    assert model(torch.randn(shape)).shape == (4, 10)
    assert models.count_parameters(model) == params


def test_handbook_net_outputs_log_probabilities():
    out = models.HandbookConvNet()(torch.randn(3, 1, 28, 28))
    assert torch.allclose(out.exp().sum(1), torch.ones(3), atol=1e-5)


def test_tudui_explicit_and_sequential_forms_compute_the_same_function():
    explicit, sequential = models.TuduiNet(), models.TuduiSequentialNet()
    sequential.model1.load_state_dict(
        dict(zip(sequential.model1.state_dict().keys(), explicit.state_dict().values(), strict=True))
    )
    x = torch.ones(64, 3, 32, 32)  # as in the Tudui tutorial
    assert torch.allclose(explicit(x), sequential(x), atol=1e-6)


@pytest.mark.parametrize(("width", "params"), [(16, 412_954), (64, 6_573_130)])
def test_cifar_resnet_width_sets_size(width, params):
    model = models.CifarResNet(width=width)
    assert models.count_parameters(model) == params
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_residual_block_keeps_shape_and_adds_input():
    block = models.Residual(8)
    for p in block.parameters():
        torch.nn.init.zeros_(p)
    x = torch.randn(2, 8, 5, 5)
    assert torch.equal(block.eval()(x), x)  # a zero block leaves only the shortcut


def test_small_bn_net_shape_size_and_one_step_trains():
    torch.manual_seed(0)
    model = models.SmallBNNet()
    assert model(torch.randn(4, 1, 28, 28)).shape == (4, 10)
    assert models.count_parameters(model) == 29_178  # far smaller than the handbook's 1,007,590
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    losses = []
    for _ in range(10):  # the same batch: the loss must fall
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
