import matplotlib.pyplot as plt
import torch

import course_utils as cu
from course_utils import plots


def test_accuracy_from_classes_and_logits():
    targets = torch.tensor([0, 1, 2, 2])
    assert cu.accuracy(torch.tensor([0, 1, 1, 2]), targets) == 0.75
    logits = torch.tensor([[3.0, 0, 0], [0, 3.0, 0], [0, 3.0, 0], [0, 0, 3.0]])
    assert cu.accuracy(logits, targets) == 0.75


def test_confusion_matrix_rows_are_true_classes():
    matrix = cu.confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3)
    assert matrix.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    assert torch.allclose(cu.per_class_accuracy(matrix), torch.tensor([1.0, 1.0, 0.5]))


def test_show_images_titles_and_marks_mistakes():
    images = torch.rand(5, 3, 8, 8)
    fig = plots.show_images(images, labels=[0, 1, 2, 3, 4], predictions=[0, 1, 2, 3, 0],
                            class_names=list("abcde"), ncols=3)  # fmt: skip
    axes = fig.axes
    assert len(axes) == 6
    assert axes[4].get_title() == "e\npred: a"
    assert axes[4].title.get_color() == "red" and axes[0].title.get_color() == "black"
    plt.close(fig)


def test_denormalize_inverts_normalize():
    x = torch.rand(2, 3, 4, 4)
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.3, 0.4)
    normalised = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    assert torch.allclose(plots.denormalize(normalised, mean, std), x, atol=1e-6)


def test_learning_curves_and_confusion_matrix_figures():
    history = {"epoch": [1, 2], "train_loss": [1.0, 0.5], "test_loss": [1.1, 0.7],
               "train_accuracy": [0.5, 0.8], "test_accuracy": [0.4, 0.7]}  # fmt: skip
    fig = plots.plot_history(history)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert list(fig.axes[1].lines[1].get_ydata()) == [40.0, 70.0]
    matrix = torch.tensor([[5, 1], [2, 7]])
    fig2 = plots.plot_confusion_matrix(matrix, ["cat", "dog"])
    assert [t.get_text() for t in fig2.axes[0].texts] == ["5", "1", "2", "7"]
    fig3 = plots.plot_per_class_accuracy(torch.tensor([0.5, 0.9]), ["cat", "dog"])
    assert [round(p.get_height()) for p in fig3.axes[0].patches] == [50, 90]
    plt.close("all")
