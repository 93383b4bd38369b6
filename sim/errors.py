"""The one exception type for bad user input (scenario files, arguments, certificate files).

The command line turns it into one readable message and exit status 2, never a traceback.
Lower layers that may not import this module (``sim.pki``) raise their own ``ValueError``
subclasses, which the command line treats the same way.
"""


class InputError(ValueError):
    """Bad input from the user: the message names the file and the place."""


class ImplausibleValue(UserWarning):
    """A valid value that no real device or laptop has (a sub-second NAT timeout): the run
    goes on, and the command line prints the warning, naming the file and the place."""
