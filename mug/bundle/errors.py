"""The one error type of the bundle builder."""


class BundleError(RuntimeError):
    """A bundle could not be built; the message says what was wrong and how to fix it."""
