"""aframe: orchestration of the aframe binary-black-hole search.

This package holds the law/luigi tasks, the configuration layers and the
``aframe-init`` command.  It imports only the standard library, law and
luigi: the numerical work lives in the stage packages under ``projects/``.
"""

__version__ = "0.1.0"
