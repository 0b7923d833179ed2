"""cluster=pool's launcher: hydra-joblib-launcher's pool of worker processes, each job in a process of its own.

A joblib (loky) pool stops every job when one of its workers dies: a job killed with `kill -9` (or by the kernel's
out-of-memory killer) would take the others down with a long traceback that never names it. Here a worker forks the
job into a child process and waits for it, so a job that dies is one line naming it and a failed result, and the
other jobs run on to their end; Hydra then ends the sweep with that job's error, as for any failed job.

A worker killed itself (not its job) breaks the pool, and joblib stops the other workers. Each job stops with its
worker, so nothing is left running after the sweep has ended (holding its run's lock, writing into its run), and the
sweep ends in one line that says so; the same command resumes every run from its last finished stage.
"""

import ctypes
import logging
import multiprocessing
import os
import re
import signal
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

import cloudpickle
from hydra.core.config_store import ConfigStore
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, setup_globals
from hydra.errors import CompactHydraException
from hydra.types import HydraContext, TaskFunction
from hydra_plugins.hydra_joblib_launcher._core import execute_job
from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
from joblib import Parallel, delayed
from joblib.externals.loky.process_executor import TerminatedWorkerError
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)


class JobDied(CompactHydraException):
    """A job's process ended without a result (killed by a signal, or exited in the middle of the job). Compact:
    the sweep ends in its one line, as in a job's user error, not in a traceback of this launcher."""


class WorkerDied(CompactHydraException):
    """A worker process of the pool (not a job's own process) ended: joblib cannot go on with a broken pool."""


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def stop_with(parent_pid: int) -> None:
    """The calling process gets SIGTERM when the worker that forked it dies (Linux; elsewhere nothing changes)."""
    if sys.platform != "linux":
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:  # the worker died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def how_it_died(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"killed by signal {-exitcode} ({signal.Signals(-exitcode).name})"
    return f"exited with status {exitcode} before returning its result"


def record_death(hydra_context: HydraContext, config: DictConfig, idx: int, overrides: Sequence[str],
                 how: str) -> None:
    """An error record in the job's log file, where the sweep's summary looks for why a job has no run."""
    setup_globals()  # Hydra's resolvers (${now:...} in the sweep directory), as execute_job sets them up
    job = hydra_context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(job):
        job.hydra.job.num = idx
        job.hydra.job.id = f"{job.hydra.job.name}_{idx}"
    job_dir = Path(str(job.hydra.sweep.dir)) / str(job.hydra.sweep.subdir)
    job_dir.mkdir(parents=True, exist_ok=True)
    with open(job_dir / f"{job.hydra.job.name}.log", "a") as log_file:
        log_file.write(f"[{datetime.now():%Y-%m-%d %H:%M:%S},000][ampli][ERROR] - the job's process was {how}\n")


def _child(conn: Any, parent_pid: int, args: tuple) -> None:
    stop_with(parent_pid)
    # cloudpickle, as loky sends results: a JobReturn holds config classes that plain pickle cannot find by name
    conn.send_bytes(cloudpickle.dumps(execute_job(*args)))
    conn.close()


def isolated_job(idx: int, overrides: Sequence[str], hydra_context: HydraContext, config: DictConfig,
                 task_function: TaskFunction, singleton_state: dict[Any, Any]) -> JobReturn:
    """Run one job (hydra-joblib-launcher's execute_job) in a forked child; its death becomes a failed JobReturn."""
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(writer, os.getpid(), (idx, overrides, hydra_context, config,
                                                                      task_function, singleton_state)))
    child.start()
    writer.close()
    try:
        result = cloudpickle.loads(reader.recv_bytes())
    except EOFError:
        result = None
    child.join()
    if isinstance(result, JobReturn):
        return result
    how = how_it_died(child.exitcode)
    message = f"ampli: job #{idx} ({' '.join(filter_overrides(overrides))}) {how}; the other jobs go on"
    print(message, file=sys.stderr, flush=True)
    Singleton.set_state(singleton_state)
    try:
        record_death(hydra_context, config, idx, overrides, how)
    except Exception as err:  # noqa: BLE001 (the other jobs must go on whatever happens to this note)
        print(f"ampli: (job #{idx}'s log does not say so: {type(err).__name__}: {err})", file=sys.stderr, flush=True)
    # the sweep's end repeats only why (Hydra prints the job's overrides above it)
    return JobReturn(overrides=list(overrides), status=JobStatus.FAILED,
                     _return_value=JobDied(f"the job's process was {how}"))


class AmpliPoolLauncher(JoblibLauncher):
    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        setup_globals()
        assert self.config is not None and self.task_function is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        n_jobs = self.joblib["n_jobs"]  # joblib's -1: one job per core
        log.info("Launching %d jobs side by side (at most %s at once)", len(job_overrides),
                 "one per core" if n_jobs == -1 else n_jobs)
        for idx, overrides in enumerate(job_overrides):
            log.info("\t#%d : %s", initial_job_idx + idx, " ".join(filter_overrides(overrides)))
        state = Singleton.get_state()
        # batch_size=1: jobs are handed out one at a time, so a long DPO run does not hold back a queue of short ones
        try:
            return Parallel(n_jobs=self.joblib["n_jobs"], backend="loky", batch_size=1)(
                delayed(isolated_job)(initial_job_idx + idx, overrides, self.hydra_context, self.config,
                                      self.task_function, state)
                for idx, overrides in enumerate(job_overrides))
        except TerminatedWorkerError as err:
            codes = re.search(r"exit codes of the workers are \{(.*?)\}", str(err))
            raise WorkerDied(
                f"a worker process of the pool ended ({codes[1] if codes else 'exit code unknown'}), not a job's own "
                "process, so the pool stopped, and every job stopped with its worker. Each run keeps what it wrote: "
                "the same command resumes them") from None


@dataclass
class AmpliPoolLauncherConf:
    _target_: str = "hydra_plugins.ampli_pool_launcher.pool_launcher.AmpliPoolLauncher"
    n_jobs: int = -1  # jobs at once; -1: one per CPU core


ConfigStore.instance().store(group="hydra/launcher", name="ampli_pool", node=AmpliPoolLauncherConf,
                             provider="ampli")
