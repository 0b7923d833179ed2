"""Hydra entry point: compose the config, fan out the grid, run one iterate-judge-finetune loop per job.

    python launch.py                                   # one run on the embedded default
    python launch.py -m trait=bliss,misalignment regime=sft reinit=true,false
    python launch.py -m ... cluster=slurm              # the same grid as a SLURM job array
"""

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from ampli.cluster import register_resolvers
from ampli.config import register_configs
from ampli.errors import USER_ERRORS
from ampli.store import atomic_write_text

register_configs()
register_resolvers()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict | None:
    from ampli.loop import Run

    try:  # a user error mid-run (e.g. disk full) also ends in one line; the run's files so far are kept
        run = Run(cfg)
        atomic_write_text(Path(HydraConfig.get().runtime.output_dir) / "run_dir.txt", f"{run.store.root}\n")
        return run.run()
    except USER_ERRORS as e:
        print(f"ampli: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
