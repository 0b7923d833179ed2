"""Hydra entry point: compose the config, fan out the grid, run one iterate-judge-finetune loop per job.

    python launch.py                                   # one run on the embedded default
    python launch.py -m trait=bliss,misalignment regime=sft reinit=true,false
    python launch.py -m ... cluster=slurm              # the same grid as a SLURM job array
    python launch.py -v ...                            # console detail: training-step metrics, debug records
"""

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from ampli.cluster import register_resolvers
from ampli.config import ConfigError, check_yaml_files, register_configs
from ampli.errors import USER_ERRORS
from ampli.run_identity import JobInfo
from ampli.store import atomic_write_text

register_configs()
register_resolvers()


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict | None:
    from ampli.loop import Run

    hydra_cfg = HydraConfig.get()
    sweep = hydra_cfg.mode == RunMode.MULTIRUN
    try:  # a user error mid-run (e.g. disk full) also ends in one line; the run's files so far are kept
        # The job's overrides name its run directory (ampli/run_identity.py): each job of a sweep gets its own.
        job = JobInfo(overrides=tuple(hydra_cfg.overrides.task), sweep_dir=hydra_cfg.sweep.dir if sweep else None)
        run = Run(cfg, job)
        atomic_write_text(Path(hydra_cfg.runtime.output_dir) / "run_dir.txt", f"{run.store.root}\n")
        return run.run()
    except USER_ERRORS as e:
        print(f"ampli: error: {e}", file=sys.stderr)
        if sweep:
            # One job of a sweep: raising marks it failed and the launcher goes on with the others (an exit
            # would end a local sweep here, and leave a SLURM launcher without accounting waiting for a result).
            raise
        sys.exit(getattr(e, "exit_code", 2))


def config_dirs(args: list[str]) -> list[Path]:
    """The directories Hydra will read YAML from: conf/ (or --config-path) and any --config-dir."""
    primary, extra = Path(__file__).parent / "conf", []
    for i, arg in enumerate(args):
        flag, _, value = arg.partition("=")
        if flag in ("--config-path", "-cp", "--config-dir", "-cd"):
            value = value or (args[i + 1] if i + 1 < len(args) else "")
            if flag in ("--config-path", "-cp"):
                primary = Path(__file__).parent / value  # Hydra: relative to this file; an absolute path wins
            else:
                extra.append(Path(value))
    return [primary, *extra]


def expand_verbose_flag(args: list[str]) -> list[str]:
    """`-v` / `--verbose` stand for the override logger.verbose=true (Hydra has no short flags of its own for it)."""
    flags = ("-v", "--verbose")
    return [a for a in args if a not in flags] + (["logger.verbose=true"] if any(a in flags for a in args) else [])


def show_request(args: list[str]) -> None:
    """After `--cfg job`: the SLURM request the same overrides make with cluster=slurm, and the LoRA targets."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import ConfigCompositionException
    from omegaconf.errors import InterpolationResolutionError

    from ampli.cluster import describe_request

    overrides = [a for a in args if not a.startswith("-") and "=" in a and not a.startswith(("cluster=", "hydra."))]
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dirs(args)[0].resolve()), version_base="1.3"):
            cfg = compose("config", overrides=[*overrides, "cluster=slurm"], return_hydra_config=True)
        print(describe_request(cfg))
    except (ConfigCompositionException, InterpolationResolutionError) as e:  # e.g. a model too large for one node
        print(f"# SLURM request (cluster=slurm): none, {str(e.__cause__ or e).splitlines()[0]}")


def shows_job_config(args: list[str]) -> bool:
    return any(a in ("--cfg", "-c") and args[i + 1: i + 2] == ["job"] for i, a in enumerate(args))


if __name__ == "__main__":
    sys.argv[1:] = expand_verbose_flag(sys.argv[1:])
    try:
        check_yaml_files(*config_dirs(sys.argv[1:]))
    except ConfigError as e:
        print(f"ampli: error: {e}", file=sys.stderr)
        sys.exit(2)
    main()
    if shows_job_config(sys.argv[1:]):
        show_request(sys.argv[1:])
