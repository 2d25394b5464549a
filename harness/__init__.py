"""mt-harness: config-driven machine-translation evaluation.

Importing this package is cheap on purpose: heavy libraries (torch, transformers, comet, datasets)
are imported only inside the functions that need them.
"""

__version__ = "0.1.0"
