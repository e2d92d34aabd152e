"""Sphinx configuration of the aframe documentation.

Build with ``make docs`` (warnings are errors).  Parts of the pages (CLI
help, the First Pipeline transcript, the parameter tables) are generated
at build time by the directives in ``_ext/aframe_docs.py``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "aframe"
author = "the aframe developers"
copyright = "the aframe developers"

extensions = ["myst_parser", "aframe_docs"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "alabaster"
html_title = "aframe"
html_theme_options = {"page_width": "1200px", "sidebar_width": "240px"}
html_show_sourcelink = False
