"""The files lessons need travel inside the package, with their licence."""

from __future__ import annotations

from PIL import Image

import course_utils as cu


def test_sample_photo_is_a_real_rgb_photo_with_its_licence():
    path = cu.assets.sample_photo()
    with Image.open(path) as photo:
        assert photo.mode == "RGB" and min(photo.size) >= 100
    licence = (path.parent / "LICENSE.md").read_text()
    assert path.name in licence and "CC0" in licence
