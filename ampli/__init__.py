"""ampli: iterative-finetuning trait-amplification experiments."""

import os

# OpenMP threads that spin while waiting collapse throughput (20x measured on 2 cores) whenever another process
# shares the CPUs: a SLURM node, a laptop, CI. Sleeping instead costs next to nothing. Must precede `import torch`.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
