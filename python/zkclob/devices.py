"""Devices across the cpu, opencl and cuda backends, their health, and the
retry/failover policy."""

from __future__ import annotations

import dataclasses
from typing import Optional, Union

from . import _zkclob
from ._zkclob import InvalidArgumentError

_LOG_LEVELS = {"error": 0, "warn": 1, "warning": 1, "info": 2, "debug": 3, "trace": 4}


@dataclasses.dataclass(frozen=True)
class Device:
    """One device as the library sees it. Unavailable backends are listed too,
    with ``available=False`` and the reason (for example the CUDA error)."""

    id: int
    backend: str
    index: int
    available: bool
    reason: str
    name: str
    vendor: str
    driver_version: str
    runtime_version: str
    platform: str
    language_version: str
    extensions: str
    compute_units: int
    global_mem_bytes: int
    local_mem_bytes: int
    constant_mem_bytes: int
    max_work_group_size: int
    cache_l1_bytes: int
    cache_l2_bytes: int
    cache_l3_bytes: int
    threads: int
    caps: tuple
    health: dict

    @property
    def spec(self) -> str:
        """The name that selects this device, e.g. ``"opencl:1"``."""
        return f"{self.backend}:{self.index}"

    def probe(self) -> None:
        """Run the known-answer health probe; raises on failure and marks the device failed."""
        _zkclob.probe(self.id)

    def current_health(self) -> dict:
        """Fresh health state and counters (``health`` is a snapshot taken at listing time)."""
        return _zkclob.device_health(self.id)

    def __repr__(self) -> str:
        if not self.available:
            return f"<Device {self.id} {self.backend} unavailable: {self.reason}>"
        mem = self.global_mem_bytes / 2**30
        return (f"<Device {self.id} {self.spec} {self.name!r} cu={self.compute_units} "
                f"mem={mem:.1f}GiB health={self.health['state']}>")


def devices() -> list[Device]:
    """All devices, including unavailable backends with the reason they cannot run."""
    out = []
    for d in _zkclob.devices():
        d = dict(d)
        d["caps"] = tuple(d["caps"])
        out.append(Device(**d))
    return out


DeviceLike = Union[str, int, Device]


def find_device(device: DeviceLike = "auto") -> int:
    """Resolve ``"auto"``, ``"cpu"``, ``"opencl"``, ``"opencl:1"``, an id or a Device to a device id."""
    if isinstance(device, Device):
        return device.id
    if isinstance(device, bool) or not isinstance(device, (str, int)):
        raise InvalidArgumentError(f"device must be a name, an id or a Device, not {type(device).__name__}")
    return _zkclob.find_device(str(device))


def set_num_threads(n: int, device: DeviceLike = "cpu") -> None:
    """Limit the worker threads a cpu device uses per call (0 = its whole pool)."""
    _zkclob.set_threads(find_device(device), _int_arg("n", n))


def init(num_threads: int = 0, plugin_path: Optional[str] = None, fault_inject: Optional[str] = None,
         disable_opencl: bool = False, disable_cuda: bool = False) -> None:
    """(Re)initialise the library: thread-pool size, plugin directory, fault rules, backends to skip.

    Re-initialising invalidates device health and counters."""
    _zkclob.init(num_threads=_int_arg("num_threads", num_threads), plugin_path=plugin_path,
                 fault_inject=fault_inject, disable_opencl=bool(disable_opencl), disable_cuda=bool(disable_cuda))


def fault_inject(rules: str) -> None:
    """Set fault-injection rules ``backend:op:nth[xcount][:transient|lost]``, comma separated; ``""`` clears.

    Example: ``"opencl:launch:3"`` fails the third OpenCL launch with a transient error."""
    if not isinstance(rules, str):
        raise InvalidArgumentError("rules must be a string")
    _zkclob.fault_inject(rules)


def get_policy() -> dict:
    """The retry (exponential backoff) and failover policy."""
    return _zkclob.get_policy()


def set_policy(max_retries: Optional[int] = None, backoff_initial_us: Optional[int] = None,
               backoff_max_us: Optional[int] = None, backoff_multiplier: Optional[float] = None,
               failover: Optional[str] = None) -> None:
    """Change parts of the policy; ``failover`` is ``"none"``, ``"same_backend"`` or ``"any"``."""
    p = get_policy()
    updates = dict(max_retries=max_retries, backoff_initial_us=backoff_initial_us, backoff_max_us=backoff_max_us,
                   backoff_multiplier=backoff_multiplier, failover=failover)
    p.update({k: v for k, v in updates.items() if v is not None})
    _zkclob.set_policy(_int_arg("max_retries", p["max_retries"]), _int_arg("backoff_initial_us", p["backoff_initial_us"]),
                       _int_arg("backoff_max_us", p["backoff_max_us"]), float(p["backoff_multiplier"]),
                       str(p["failover"]))


def set_log_level(level: Union[str, int]) -> None:
    """C log level: error, warn, info, debug or trace. Records go to the ``zkclob`` logger."""
    if isinstance(level, str):
        if level.lower() not in _LOG_LEVELS:
            raise InvalidArgumentError(f"unknown log level {level!r}; use one of {sorted(set(_LOG_LEVELS))}")
        level = _LOG_LEVELS[level.lower()]
    _zkclob.set_log_level(_int_arg("level", level))


def _int_arg(name: str, value) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise InvalidArgumentError(f"{name} must be an integer, not {type(value).__name__}")
    return value.__index__()
