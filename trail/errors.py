"""The errors of trail's objects, apart so that every module can raise them."""


class ObjectError(Exception):
    """An object that failed verification or could not be moved."""


class ChecksumError(ObjectError):
    """Bytes that arrived whole but are not the object they should be (their sha256
    differs): a device reports this as ERROR, a transfer that failed as something else."""

    def __init__(self, message: str, *, got: str | None = None) -> None:
        super().__init__(message)
        #: The sha256 the bytes have, when it is known.
        self.got = got
