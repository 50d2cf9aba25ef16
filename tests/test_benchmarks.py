"""benchmarks/train_recipes.py runs end to end in smoke mode and prints its tables."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_recipes.py"


def test_smoke_run_prints_tables(mnist_dir, cifar_dir, tmp_path):
    out = tmp_path / "results.json"
    env_args = [sys.executable, str(SCRIPT), "--smoke", "--task", "all", "--out", str(out)]
    proc = subprocess.run(env_args, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COURSE_DATA_DIR": str(mnist_dir),
                               "COURSE_ACCEPT_REPACKED": "1"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout
    assert "cpu threads:" in text and "cpu:" in text  # the machine it ran on (cu.environment_report + CPU)
    for heading in ("### MNIST", "### CIFAR-10"):
        assert heading in text
    assert text.count("| epoch |") == 2
    header = "| recipe | epochs | s/epoch | CPU s/epoch | final | best | time to target | TFLOP | GFLOP/s | of matmul rate |"
    assert text.count(header) == 2
    assert "| 1 | " in text  # one row per epoch
    # the machine's own limit, measured in the same run, and what airbench's FLOPs imply here
    assert "cpu capability:" in text and "matmul GFLOP/s, fp32:" in text and "airbench94 floor:" in text
    assert "course airbench-style" in text and "Aim 1: 85%" in text and "Aim 2: 94%" in text
    assert "time to 94%" in text and "% of fp32" in text
    assert "reaches 99.0%" in text or "missed 99.0%" in text
    payload = json.loads(out.read_text())
    assert payload["smoke"] is True
    assert payload["matmul_gflops"]["fp32"] > 0
    counts = {"mnist": (2, 3), "cifar10": (4,)}  # MNIST: + the course's recipe in fp32 where bf16 was chosen
    for task in ("mnist", "cifar10"):
        results = payload[task]["results"]
        assert len(results) in counts[task]
        for recipe in results:
            assert len(recipe["accuracy"]) == len(recipe["seconds"]) == 1
            assert 0.0 <= recipe["accuracy"][0] <= 1.0
            assert recipe["flops"] > 0 and recipe["gflops_per_second"] > 0


def test_flop_count_and_epoch_planning():
    sys.path.insert(0, str(SCRIPT.parent))
    import train_recipes  # noqa: PLC0415

    import course_utils as cu

    train, test = train_recipes.flops_per_sample(cu.TuduiNet(), torch.randn(2, 3, 32, 32))
    conv = 2 * (32 * 32 * 32 * 3 * 25 + 16 * 16 * 32 * 32 * 25 + 8 * 8 * 64 * 32 * 25)
    linear = 2 * (1024 * 64 + 64 * 10)
    assert test == conv + linear  # forward: 2 FLOPs per multiply-add
    assert 2.5 * test < train <= 3 * test  # backward about twice the forward (no input gradient for the first layer)
    assert train_recipes.plan_epochs(100, 30, 16) == 3
    assert train_recipes.plan_epochs(10, 30, 16) == 1 and train_recipes.plan_epochs(1e6, 30, 16) == 16


def test_rejects_a_bad_out_suffix(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "r.txt")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode != 0
    assert "--out must end in .md or .json" in proc.stderr
