"""The one error type for mistakes a user can cause and fix."""


class GanganError(Exception):
    """A user-facing error: bad option, missing data, corrupt or foreign file.

    The message names the offending value and says how to fix it. The command line
    prints it without a traceback and exits with a non-zero status.
    """


class TrainingDiverged(GanganError):
    """A loss became NaN or Inf; the run stopped and its last good checkpoint was kept."""
