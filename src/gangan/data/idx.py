"""Reading and checking MNIST-style IDX files, gzipped or not.

torchvision's IDX reader accepts only unpacked files and stops on a bad header with a bare
assertion, so gangan checks the header itself: a truncated download, a broken gzip stream or
an HTML error page saved under the file's name is named in the error instead of being used.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import torch

from gangan.errors import GanganError

# IDX magic numbers: 0x08 is the unsigned-byte type code, the last byte the number of dimensions.
_MAGIC_IMAGES = 0x00000803
_MAGIC_LABELS = 0x00000801


def read_idx(path: Path, expected_count: int | None, kind: str) -> torch.Tensor:
    """Read an IDX file of uint8 images (N, H, W) or labels (N,), checking it on the way.

    Args:
        path: the file, gzipped when its name ends in ".gz".
        expected_count: number of items the split must hold, or None to accept any.
        kind: "images" or "labels".

    Raises:
        GanganError: the file is unreadable, not gzip despite its name, truncated, or not
            an IDX file of the expected kind and count.
    """
    fix = f"delete {path} so that gangan downloads it again, or replace it with a good copy"
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                data = stream.read()
        else:
            data = path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise GanganError(f"{path} is not a valid gzip file ({error}); it is corrupt or truncated: {fix}") from None
    except OSError as error:
        raise GanganError(f"cannot read {path}: {error.strerror or error}") from None

    magic = _MAGIC_IMAGES if kind == "images" else _MAGIC_LABELS
    ndim = magic & 0xFF
    header_size = 4 * (ndim + 1)
    if len(data) < header_size or struct.unpack(">I", data[:4])[0] != magic:
        start = data[:15].decode("ascii", errors="replace")
        raise GanganError(
            f"{path} is not an IDX {kind} file (it starts with {start!r}; an HTML page saved under "
            f"this name looks like this): {fix}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    payload = 1
    for size in shape:
        payload *= size
    if len(data) != header_size + payload:
        raise GanganError(
            f"{path} is truncated or padded: its header announces {payload} bytes of {kind} "
            f"but the file holds {len(data) - header_size}: {fix}"
        )
    if expected_count is not None and shape[0] != expected_count:
        raise GanganError(f"{path} contains {shape[0]} {kind}, expected {expected_count}: {fix}")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8, offset=header_size).view(*shape)
