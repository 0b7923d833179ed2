"""Errors a user can fix by changing an input; the entry points print them in one line instead of a traceback."""

from hydra.errors import CompactHydraException

from ampli.config.schema import ConfigError
from ampli.hosted.credentials import JudgeSetupError
from ampli.inputs.data_files import DataError
from ampli.judges.base import JudgeFailed
from ampli.record.run_lock import RunLockError
from ampli.record.store import DiskFullError, FingerprintMismatch, JsonlError
from ampli.run.probe.config import ProbeError

# Exit code 2, or the error's own `exit_code` (JudgeFailed: 3, the run is resumable as it is).
USER_ERRORS = (ConfigError, DataError, DiskFullError, FingerprintMismatch, JsonlError, JudgeFailed, JudgeSetupError,
               ProbeError, RunLockError)


class JobError(CompactHydraException):
    """A sweep job's user error, raised so that the launcher marks the job failed and goes on: Hydra prints a
    CompactHydraException as its message alone, not a traceback (the job already printed `ampli: error: ...`)."""
