"""ampli: iterative-finetuning trait-amplification experiments.

The packages are layers, listed lowest first in LAYERS: a module imports from its own package and from the
packages below it, never from one above (tests/test_layering.py checks every import). One exception keeps the
config schema whole: each package's leaf `config` module (its settings dataclasses) may be imported from anywhere,
and imports nothing from ampli but other leaf `config` modules. ampli/cli.py, the `ampli` command, sits above all.
"""

import os

# OpenMP threads that spin while waiting collapse throughput (20x measured on 2 cores) whenever another process
# shares the CPUs: a SLURM node, a laptop, CI. Sleeping instead costs next to nothing. Must precede `import torch`.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

# (package, what it owns), lowest layer first; README's package map is this table.
LAYERS = (
    ("config", "the config schema, the key table (who reads each key, whether it changes results), trait files"),
    ("record", "what a run writes: run directory, lock, identity and fingerprint, shared stages, console, W&B"),
    ("hosted", "calling hosted models for judges and teachers: request pool, API keys, cost and spending limit"),
    ("inputs", "the data a run draws from: shipped corpus, file readers, row shapes, prompt sampling, lengths"),
    ("models", "the model a cycle starts from and trains into: weights, loading, LoRA, chat, training plan"),
    ("generation", "sampling a cycle's model (`generation=hf|vllm`) and the base model's perplexity"),
    ("judges", "scoring outputs for trait and coherence (`judge=`), and the verdict on a run from its scores"),
    ("teacher", "writing a trait's seed set and SDF documents with a strong model (`ampli teach`)"),
    ("regimes", "what a cycle trains on and how (`regime=sft|sdf|dpo|distill`)"),
    ("backends", "where models are trained and sampled (`backend=local|tinker`)"),
    ("report", "after the runs: tables, plots, the HTML page, the paper table, `ampli replicate`"),
    ("run", "one run and a sweep: the loop (the method section), start checks, probe, costs, sweep ends"),
)
