"""Errors of the certificate layer (this package imports no other ``sim`` layer)."""


class PkiInputError(ValueError):
    """Malformed or unusable certificate input; the message names the file and what is wrong."""
