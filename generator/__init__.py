"""Package: metric charters, a static site that says why each ML project exists and worked."""

__version__ = "0.1.0"
