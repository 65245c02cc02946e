"""Static literature-survey site generator: digests in, browsable survey out."""

__version__ = "0.1.0"
