"""moviedl: build and verify a movies-and-series data lake."""

__version__ = "0.1.0"
