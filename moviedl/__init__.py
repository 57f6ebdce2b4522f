"""moviedl: build and verify a movies-and-series data lake.

The library entry point is :mod:`moviedl.api` (``from moviedl import api``): one call per command.
This module holds only the version, so every layer may read it.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
