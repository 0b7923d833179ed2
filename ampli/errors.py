"""Errors a user can fix by changing an input; the entry points print them in one line instead of a traceback."""

from ampli.config import ConfigError
from ampli.data_files import DataError
from ampli.judges.credentials import JudgeSetupError
from ampli.run_lock import RunLockError
from ampli.store import DiskFullError, FingerprintMismatch, JsonlError

USER_ERRORS = (ConfigError, DataError, DiskFullError, FingerprintMismatch, JsonlError, JudgeSetupError, RunLockError)
