"""The checks of lesson 01 accept the reference answers and explain typical mistakes."""

from pathlib import Path

import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset, random_split
from torchvision import transforms

from course_utils.checks import ExerciseError, lesson01


@pytest.fixture
def images() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (50, 8, 8, 3), dtype=torch.uint8, generator=generator)


def reference_stats(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = images.float() / 255
    return x.mean(dim=(0, 1, 2)), x.std(dim=(0, 1, 2))


def test_exercise_1_accepts_reference(images, capsys):
    lesson01.exercise_1(*reference_stats(images), images)
    assert "correct" in capsys.readouterr().out


def test_exercise_1_rejects_the_0_255_scale(images):
    x = images.float()
    with pytest.raises(ExerciseError, match="0-255 scale"):
        lesson01.exercise_1(x.mean(dim=(0, 1, 2)), x.std(dim=(0, 1, 2)), images)


def test_exercise_1_rejects_one_number_for_all_channels(images):
    x = images.float() / 255
    with pytest.raises(
        ExerciseError, match=r"single number; expected one value per colour channel, shape \(3,\)"
    ):
        lesson01.exercise_1(x.mean(), x.std(), images)


def test_exercise_1_rejects_the_wrong_dimensions(images):
    x = images.float() / 255
    with pytest.raises(ExerciseError, match=r"mean has shape \(8,\), expected \(3,\)"):
        lesson01.exercise_1(x.mean(dim=(0, 1, 3)), x.std(dim=(0, 1, 3)), images)


def test_exercise_1_rejects_swapped_mean_and_std(images):
    mean, std = reference_stats(images)
    with pytest.raises(ExerciseError, match="mean is not the expected value"):
        lesson01.exercise_1(std, mean, images)


class DigitFolder(Dataset):
    """The exercise's Dataset with a configurable __getitem__."""

    def __init__(self, root: Path, mode: str = "reference") -> None:
        self.transform = transforms.ToTensor()
        self.mode = mode
        self.samples = [(str(path), int(path.parent.name)) for path in sorted(root.glob("*/*.png"))]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        image = Image.open(path)
        if self.mode == "pil":
            return image, label
        if self.mode == "string label":
            return self.transform(image), Path(path).parent.name
        if self.mode == "no channel":
            return self.transform(image)[0], label
        if self.mode == "image only":
            return self.transform(image)
        if self.mode == "wrong label":
            return self.transform(image), (label + 1) % 10
        return self.transform(image), label


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    generator = torch.Generator().manual_seed(1)
    for i in range(12):
        label = i % 3
        (tmp_path / str(label)).mkdir(exist_ok=True)
        pixels = torch.randint(0, 256, (28, 28), dtype=torch.uint8, generator=generator)
        Image.fromarray(pixels.numpy(), mode="L").save(tmp_path / str(label) / f"{i}.png")
    return tmp_path


def test_exercise_2_accepts_reference(folder, capsys):
    lesson01.exercise_2(DigitFolder(folder))
    assert "all 12 samples): correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("pil", "returns a PIL image; apply self.transform"),
        ("string label", "the string '0'; expected the int 0"),
        (
            "no channel",
            r"shape \(28, 28\): the channel dimension is missing, expected \(1, 28, 28\)",
        ),
        ("image only", r"dataset\[0\] is a Tensor, expected a tuple \(image, label\)"),
        ("wrong label", r"the label of dataset\[0\] is 1, expected 0"),
    ],
)
def test_exercise_2_rejects_typical_mistakes(folder, mode, message):
    with pytest.raises(ExerciseError, match=message):
        lesson01.exercise_2(DigitFolder(folder, mode))


@pytest.fixture
def dataset() -> TensorDataset:
    return TensorDataset(torch.zeros(1000, 2), torch.zeros(1000))


def test_exercise_3_accepts_reference(dataset, capsys):
    loader = DataLoader(dataset, batch_size=128, shuffle=True, drop_last=True)
    lesson01.exercise_3(loader, 7)
    assert "7 batches of 128 per epoch): correct" in capsys.readouterr().out


def test_exercise_3_rejects_counting_the_dropped_batch(dataset):
    loader = DataLoader(dataset, batch_size=128, shuffle=True, drop_last=True)
    with pytest.raises(ExerciseError, match="counts the last, incomplete batch"):
        lesson01.exercise_3(loader, 8)


def test_exercise_3_rejects_no_shuffle(dataset):
    loader = DataLoader(dataset, batch_size=128, drop_last=True)
    with pytest.raises(ExerciseError, match="does not shuffle"):
        lesson01.exercise_3(loader, 7)


def test_exercise_3_rejects_keeping_the_last_batch(dataset):
    loader = DataLoader(dataset, batch_size=128, shuffle=True)
    with pytest.raises(ExerciseError, match="drop_last is False"):
        lesson01.exercise_3(loader, 7)


def test_exercise_3_rejects_wrong_batch_size(dataset):
    loader = DataLoader(dataset, batch_size=64, shuffle=True, drop_last=True)
    with pytest.raises(ExerciseError, match="batch_size is 64, expected 128"):
        lesson01.exercise_3(loader, 15)


@pytest.fixture
def twelve_thousand() -> TensorDataset:
    return TensorDataset(torch.arange(12_000))


def seeded_split(dataset, lengths, seed=0):
    return random_split(dataset, lengths, generator=torch.Generator().manual_seed(seed))


def test_exercise_4_accepts_reference(twelve_thousand, capsys):
    train_part, val_part = seeded_split(twelve_thousand, [7000, 5000])
    lesson01.exercise_4(train_part, val_part, twelve_thousand)
    assert "7000 for training, 5000 for validation): correct" in capsys.readouterr().out


def test_exercise_4_rejects_an_unseeded_split(twelve_thousand):
    torch.manual_seed(123)  # the global generator: another split on every run
    train_part, val_part = random_split(twelve_thousand, [7000, 5000])
    with pytest.raises(ExerciseError, match="not the one a generator seeded with 0 gives"):
        lesson01.exercise_4(train_part, val_part, twelve_thousand)


def test_exercise_4_rejects_the_last_block_in_file_order(twelve_thousand):
    train_part = Subset(twelve_thousand, range(7000))
    val_part = Subset(twelve_thousand, range(7000, 12_000))
    with pytest.raises(ExerciseError, match="a block of samples in file order"):
        lesson01.exercise_4(train_part, val_part, twelve_thousand)


def test_exercise_4_rejects_swapped_and_wrong_sizes_and_overlap(twelve_thousand):
    train_part, val_part = seeded_split(twelve_thousand, [7000, 5000])
    with pytest.raises(ExerciseError, match="the parts are swapped"):
        lesson01.exercise_4(val_part, train_part, twelve_thousand)
    big, small = seeded_split(twelve_thousand, [11_000, 1000])
    with pytest.raises(ExerciseError, match="expected 7000 and 5000"):
        lesson01.exercise_4(big, small, twelve_thousand)
    overlapping = Subset(twelve_thousand, list(big.indices[:7000]))
    with pytest.raises(ExerciseError, match="samples are in both parts"):
        lesson01.exercise_4(
            overlapping, Subset(twelve_thousand, big.indices[:5000]), twelve_thousand
        )


def test_exercise_4_rejects_tensors_instead_of_subsets(twelve_thousand):
    with pytest.raises(ExerciseError, match="random_split returns torch.utils.data.Subset"):
        lesson01.exercise_4(torch.zeros(5000), torch.zeros(5000), twelve_thousand)



def test_exercise_3_speaks_chinese_when_asked(dataset, chinese, capsys):
    loader = DataLoader(dataset, batch_size=128, drop_last=True)
    with pytest.raises(ExerciseError) as error:
        lesson01.exercise_3(loader, 7)
    message = str(error.value)
    assert "loader 没有打乱顺序：每一轮样本的顺序都一样。" in message
    assert "提示：DataLoader(dataset, batch_size=128, shuffle=True, drop_last=True)；" in message
    lesson01.exercise_3(DataLoader(dataset, batch_size=128, shuffle=True, drop_last=True), 7)
    assert "练习 3（DataLoader，每轮 7 个大小为 128 的批次）：正确" in capsys.readouterr().out
