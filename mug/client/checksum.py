"""Canonical checksums of observations and other step outcomes.

The same bytes are produced in CPython and in Pyodide for the same value, so checksums taken in different
browsers (or in a test under CPython) can be compared frame by frame.

Encoding (fed to SHA-256, in this order, recursively):
- numpy array / numpy scalar: b"A", dtype string (little-endian form, e.g. "<f4"), shape as text, then the
  C-ordered little-endian bytes;
- bool: b"T" or b"F"; int: b"I" + decimal text; float: b"D" + float.hex(); str: b"S" + UTF-8; None: b"N";
- bytes: b"B" + length + bytes;
- list / tuple: b"L" + length, then each item; dict: b"M" + length, then key, value for keys sorted by their
  text form.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

CHECKSUM_HEX_CHARS = 16  # 64 bits: plenty to tell frames apart, short enough to store on every row


def _feed(h: Any, value: Any) -> None:
    if isinstance(value, np.ndarray | np.generic):
        arr = np.asarray(value)
        dtype = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
        arr = np.ascontiguousarray(arr, dtype=dtype)
        h.update(b"A" + dtype.str.encode() + repr(arr.shape).encode())
        h.update(arr.tobytes())
    elif isinstance(value, bool):
        h.update(b"T" if value else b"F")
    elif isinstance(value, int):
        h.update(b"I" + str(value).encode() + b";")
    elif isinstance(value, float):
        h.update(b"D" + value.hex().encode() + b";")
    elif isinstance(value, str):
        data = value.encode()
        h.update(b"S" + str(len(data)).encode() + b":" + data)
    elif value is None:
        h.update(b"N")
    elif isinstance(value, bytes | bytearray):
        h.update(b"B" + str(len(value)).encode() + b":" + bytes(value))
    elif isinstance(value, list | tuple):
        h.update(b"L" + str(len(value)).encode() + b":")
        for item in value:
            _feed(h, item)
    elif isinstance(value, dict):
        h.update(b"M" + str(len(value)).encode() + b":")
        for key in sorted(value, key=str):
            _feed(h, str(key))
            _feed(h, value[key])
    else:
        raise TypeError(
            f"cannot checksum a value of type {type(value).__name__}: observations must be numpy arrays, "
            "numbers, strings, or lists/tuples/dicts of them"
        )


def checksum(value: Any) -> str:
    """Return a short, platform-independent hex checksum of an observation (or any step outcome).

    Args:
        value: a numpy array or scalar, a Python number, string, None, or nested list/tuple/dict of them.

    Returns:
        The first 16 hex characters of the SHA-256 of the canonical encoding described in this module.
    """
    h = hashlib.sha256()
    _feed(h, value)
    return h.hexdigest()[:CHECKSUM_HEX_CHARS]
