"""Static literature-survey site generator: digests in, browsable survey out."""

import os

# numpy's OpenBLAS starts a busy thread per core when imported. Nothing here calls BLAS, and
# on a small machine those threads take CPU from the build's worker processes.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
