"""Hydra entry point: compose the config, fan out the grid, run one iterate-judge-finetune loop per job.

    python launch.py                                   # one run on the embedded default
    python launch.py -m trait=bliss,misalignment regime=sft reinit=true,false
    python launch.py -m ... cluster=slurm              # the same grid as a SLURM job array
    python launch.py -v ...                            # console detail: training-step metrics, debug records
"""

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from ampli.config.schema import ConfigError, check_yaml_files, register_configs
from ampli.record import console
from ampli.record.run_identity import JobInfo
from ampli.record.store import atomic_write_text
from ampli.run.cluster import register_resolvers
from ampli.run.errors import USER_ERRORS, JobError
from ampli.run.preflight import preflight
from ampli.run.sweep_summary import summarise_pending

register_configs()
register_resolvers()
LOGS_FILE = "logs.txt"


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict | None:
    from ampli.run.loop import Run

    hydra_cfg = HydraConfig.get()
    sweep = hydra_cfg.mode == RunMode.MULTIRUN
    try:  # a user error mid-run (e.g. disk full) also ends in one line; the run's files so far are kept
        # The job's overrides name its run directory (ampli/record/run_identity.py): each job of a sweep gets its own.
        job = JobInfo(overrides=tuple(hydra_cfg.overrides.task), sweep_dir=hydra_cfg.sweep.dir if sweep else None)
        run = Run(cfg, job)
        job_dir = Path(hydra_cfg.runtime.output_dir)
        atomic_write_text(job_dir / "run_dir.txt", f"{run.store.root}\n")
        point_to_log(run.store.root, job_dir / f"{hydra_cfg.job.name}.log")
        return run.run()
    except USER_ERRORS as e:
        print(f"ampli: error: {e}", file=sys.stderr)
        console.record_in_log_files(logging.ERROR, str(e))  # the job directory's log says why it ended
        if sweep:
            # One job of a sweep: raising marks it failed and the launcher goes on with the others (an exit
            # would end a local sweep here, and leave a SLURM launcher without accounting waiting for a result).
            raise JobError(f"ampli: a job of the sweep failed: {e}") from None
        sys.exit(getattr(e, "exit_code", 2))
    except Exception as e:  # a bug or a library failure: Hydra prints the traceback; the log keeps its last line
        console.record_in_log_files(logging.ERROR, f"{type(e).__name__}: {e}")
        raise


def point_to_log(run_dir: Path, log_file: Path) -> None:
    """The run directory lists the detailed log of every launch that worked on it (logs.txt, one path a line): the
    logs live in Hydra's job directories, outside the run."""
    pointer = run_dir / LOGS_FILE
    known = pointer.read_text().splitlines() if pointer.is_file() else []
    if str(log_file.resolve()) not in known:
        atomic_write_text(pointer, "".join(f"{line}\n" for line in [*known, str(log_file.resolve())]))


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

    from ampli.run.cluster import describe_request

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


def print_help() -> None:
    """`--help`: the config groups with their options, then every key with one line from the key table."""
    from ampli.config.key_table import help_lines

    conf = Path(__file__).parent / "conf"
    print(__doc__.strip(), "\n\nConfig groups (group=option):")
    for group in sorted(p for p in conf.iterdir() if p.is_dir() and p.name != "hydra"):
        options = sorted(f.stem for f in group.glob("*.yaml"))
        if options:
            print(f"  {group.name:<12} {', '.join(options)}")
    print("\nKeys (key=value; a key a run does not read is refused when set to another value than its default):")
    print("\n".join(help_lines()))
    print("\nHydra's own help: python launch.py --hydra-help")


if __name__ == "__main__":
    if any(a in ("--help", "-h") for a in sys.argv[1:]):
        print_help()
        sys.exit(0)
    sys.argv[1:] = expand_verbose_flag(sys.argv[1:])
    try:
        check_yaml_files(*config_dirs(sys.argv[1:]))
        for warning in preflight(Path(__file__).parent / "conf", sys.argv[1:]):
            print(f"ampli: warning: {warning}", file=sys.stderr)
    except ConfigError as e:
        print(f"ampli: error: {e}", file=sys.stderr)
        sys.exit(2)
    try:
        main()
    finally:  # a sweep with a failed job: Hydra exits without on_multirun_end; summarise it on the way out
        summarise_pending()
    if shows_job_config(sys.argv[1:]):
        show_request(sys.argv[1:])
