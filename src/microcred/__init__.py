"""microcred: open, AI-driven micro-credentialing."""

__version__ = "0.1.0"
