"""narrator: turn written articles into podcast episodes, offline."""

import os

# numpy's OpenBLAS starts a thread per core when it is imported, and they spin for a while
# (measured: 0.15 s of CPU on every run). narrator does no linear algebra: one thread will do.
# A value the user set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.2.0"
