"""Interactive widgets for the lessons (ipywidgets, imported only when this module is used).

Each widget names the lesson that uses it. Every widget also has a plain function behind it
that draws one state, so it can be tested and used without a browser.
"""

from __future__ import annotations
