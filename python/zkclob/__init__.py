"""zkclob: a zkVM-friendly central limit order book engine and the compute around it.

The engine is C (``libzkclob``); this package is a thin layer of argument
checking and documentation over the ``_zkclob`` extension.
"""

from . import _zkclob
from ._zkclob import (
    Buffer,
    DeviceLostError,
    Error,
    InternalError,
    InvalidArgumentError,
    OutOfMemoryError,
    TransientError,
    UnsupportedError,
)
from .devices import (
    Device,
    devices,
    fault_inject,
    find_device,
    get_policy,
    init,
    set_log_level,
    set_num_threads,
    set_policy,
)
from . import random
from . import md
from .memory import MemoryPool
from . import zk
from . import risk, crypto
from . import hashes, merkle
from .book import Engine, ORDER_DTYPE, EVENT_DTYPE

__version__ = _zkclob.version_info()["version"]


def version_info():
    """Library version, compiler, flags, backends compiled in and runtime versions per backend."""
    return _zkclob.version_info()


__all__ = [
    "Buffer",
    "Device",
    "DeviceLostError",
    "Error",
    "InternalError",
    "InvalidArgumentError",
    "MemoryPool",
    "OutOfMemoryError",
    "TransientError",
    "UnsupportedError",
    "devices",
    "fault_inject",
    "find_device",
    "get_policy",
    "hashes",
    "init",
    "merkle",
    "random",
    "risk",
    "set_log_level",
    "set_num_threads",
    "set_policy",
    "version_info",
    "zk",
]
