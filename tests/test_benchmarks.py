"""benchmarks/train_recipes.py runs end to end in smoke mode and prints its tables."""

import json
import os
import subprocess
import sys
from pathlib import Path

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
    assert text.count("| recipe | epochs | s/epoch | CPU s/epoch | final | best | time to target |") == 2
    assert "| 1 | " in text  # one row per epoch
    payload = json.loads(out.read_text())
    assert payload["smoke"] is True
    for task in ("mnist", "cifar10"):
        results = payload[task]["results"]
        assert len(results) == 2
        for recipe in results:
            assert len(recipe["accuracy"]) == len(recipe["seconds"]) == 1
            assert 0.0 <= recipe["accuracy"][0] <= 1.0


def test_rejects_a_bad_out_suffix(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "r.txt")],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode != 0
    assert "--out must end in .md or .json" in proc.stderr
