"""moviedl: build and verify a movies-and-series data lake.

The library entry point is :mod:`moviedl.api` (``from moviedl import api``): one call per command.
"""

__version__ = "0.1.0"
__all__ = ["__version__", "api"]


def __getattr__(name: str):  # noqa: ANN202 - lazy, so ``import moviedl`` stays cheap
    if name == "api":
        import importlib

        return importlib.import_module("moviedl.api")
    raise AttributeError(f"module 'moviedl' has no attribute {name!r}")
