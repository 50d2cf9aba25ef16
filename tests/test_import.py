import subprocess
import sys

CODE = """
import time, sys
import torch
start = time.perf_counter()
import course_utils
print(time.perf_counter() - start)
print(",".join(m for m in ("torchvision", "matplotlib", "ipywidgets", "tensorboard") if m in sys.modules))
"""


def test_import_is_light():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    seconds, heavy = out.stdout.splitlines()
    assert float(seconds) < 3.0, f"import course_utils took {seconds} s beyond torch"
    assert heavy == "", f"imported at import time: {heavy}"


def test_lazy_modules_load_on_first_use():
    import course_utils as cu

    assert callable(cu.data.load_mnist) and callable(cu.plots.show_images)
    assert cu.data is sys.modules["course_utils.data"] and cu.plots is sys.modules["course_utils.plots"]
    try:
        cu.no_such_module  # noqa: B018
    except AttributeError as error:
        assert "no_such_module" in str(error)
    else:
        raise AssertionError("expected AttributeError")
