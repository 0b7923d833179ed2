"""Errors a user can fix by changing an input; the entry points print them in one line instead of a traceback."""

from ampli.config import ConfigError
from ampli.corpus import DataError
from ampli.store import FingerprintMismatch, JsonlError

USER_ERRORS = (ConfigError, DataError, FingerprintMismatch, JsonlError)
