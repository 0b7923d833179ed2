"""ampli: iterative-finetuning trait-amplification experiments."""

__version__ = "0.1.0"
