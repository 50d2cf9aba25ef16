"""Files the lessons use that must travel with the package (on Colab there is no clone).

Each file's origin and licence are in LICENSE.md beside this module.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def sample_photo() -> Path:
    """'Chelsea the cat' (scikit-image's sample photo, CC0), a real photo to classify. Lesson 07."""
    return Path(str(resources.files(__package__).joinpath("chelsea.jpg")))
