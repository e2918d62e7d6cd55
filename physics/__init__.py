"""electrode-twin physics: particle engine, process protocols, voxel transport, cell model.

numba's parallel kernels here are called once or more per time step, so the launch cost of a
parallel region matters: measured on 2 cores, OpenMP ~3 µs, TBB ~90 µs, workqueue ~75 µs.
OpenMP is therefore the default threading layer when libgomp is present (set
``NUMBA_THREADING_LAYER`` to override).  Processes that fan out after running a kernel must
use the ``spawn`` start method (forking after OpenMP aborts).
"""

import ctypes.util
import os

import numba

if "NUMBA_THREADING_LAYER" not in os.environ and ctypes.util.find_library("gomp"):
    os.environ["NUMBA_THREADING_LAYER"] = "omp"  # for child processes
    # numba reads the variable once at its own import, which may have come first
    numba.config.THREADING_LAYER = "omp"
