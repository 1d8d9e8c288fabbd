"""The errors of trail's objects, apart so that every module can raise them."""


class ObjectError(Exception):
    """An object that failed verification or could not be moved."""
