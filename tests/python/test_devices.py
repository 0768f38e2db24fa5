"""Devices, health, errors, logging, retry and failover seen from Python."""

import logging
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import zkclob as zc

ROOT = pathlib.Path(__file__).resolve().parents[2]


def by_backend(backend):
    return [d for d in zc.devices() if d.backend == backend]


def test_device_table_fields():
    devs = zc.devices()
    assert [d.id for d in devs] == list(range(len(devs)))
    assert {d.backend for d in devs} == {"cpu", "opencl", "cuda"}
    cpu = by_backend("cpu")[0]
    assert cpu.available and cpu.threads >= 1 and cpu.compute_units >= 1
    assert "host_shared" in cpu.caps and "fp64" in cpu.caps
    assert cpu.health["state"] == "ok"
    for d in by_backend("opencl"):
        assert d.available, d.reason
        assert d.name and d.vendor and d.platform and d.runtime_version.startswith("OpenCL")
        assert d.language_version.startswith("OpenCL C")
        assert d.global_mem_bytes > 0 and d.max_work_group_size >= 1
    assert "available=" not in repr(cpu) and cpu.spec == "cpu:0"


def test_cuda_reports_its_reason():
    cuda = by_backend("cuda")
    assert cuda
    if cuda[0].available:
        pytest.skip("a CUDA driver is present")
    assert len(cuda) == 1
    assert "cudaError" in cuda[0].reason
    info = zc.version_info()
    assert info["runtimes"]["cuda"]["unavailable_reason"] == cuda[0].reason
    assert "runtime" in info["runtimes"]["cuda"]["version"]


def test_version_info():
    info = zc.version_info()
    assert info["version"] == zc.__version__ == "%d.%d.%d" % info["version_tuple"]
    assert "cpu" in info["backends"] and "opencl" in info["backends"] and "cuda" in info["backends"]
    assert info["compiler"]
    assert info["runtimes"]["opencl"]["version"].startswith("OpenCL")


def test_find_device():
    assert zc.find_device("cpu") == 0
    assert zc.find_device(0) == 0
    d = by_backend("opencl")[1]
    assert zc.find_device("opencl:1") == d.id == zc.find_device(d)
    assert zc.find_device("auto") == 0  # no GPU here: the native cpu backend
    with pytest.raises(zc.InvalidArgumentError) as e:
        zc.find_device("opencl:9")
    assert e.value.status == "ZC_ERR_NOT_FOUND" and e.value.function == "zc_device_find"
    with pytest.raises(zc.InvalidArgumentError):
        zc.find_device(True)


def test_error_hierarchy():
    assert issubclass(zc.InvalidArgumentError, zc.Error) and issubclass(zc.InvalidArgumentError, ValueError)
    assert issubclass(zc.OutOfMemoryError, MemoryError)
    for cls in (zc.UnsupportedError, zc.TransientError, zc.DeviceLostError, zc.InternalError):
        assert issubclass(cls, zc.Error)


def test_probe_and_health_counters():
    d = by_backend("opencl")[0]
    d.probe()
    h = d.current_health()
    assert h["state"] == "ok" and h["probes"] == 1 and h["launches"] >= 1


def test_retry_then_success_logs_and_degrades(caplog):
    zc.set_policy(max_retries=3, backoff_initial_us=10, backoff_max_us=100, backoff_multiplier=2.0)
    zc.fault_inject("opencl:launch:1x2")
    with caplog.at_level(logging.WARNING, logger="zkclob"):
        words = zc.random.philox(100, key=1, device="opencl:0")
    np.testing.assert_array_equal(words, np.random.Philox(key=1).random_raw(100))
    h = zc._zkclob.device_health(zc.find_device("opencl:0"))
    assert h["retries"] == 2 and h["state"] == "degraded" and h["last_status"] == "ZC_ERR_TRANSIENT"
    retries = [r for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 2 and all(r.levelno == logging.WARNING for r in retries)


def test_retries_exhausted_raises_transient():
    zc.set_policy(max_retries=2, backoff_initial_us=10, backoff_max_us=10)
    zc.fault_inject("opencl:launch:1x50")
    with pytest.raises(zc.TransientError, match="retries exhausted after 3 attempts") as e:
        zc.random.philox(10, device="opencl:0")
    assert e.value.error_class == "transient"


def test_failover_to_second_opencl_device():
    zc.set_policy(failover="same_backend", backoff_initial_us=10, backoff_max_us=10)
    zc.fault_inject("opencl:launch:1:lost")
    first, second = by_backend("opencl")[:2]
    words = zc.random.philox(1000, key=5, device=first.spec)
    assert zc.random.last_device == second.id
    np.testing.assert_array_equal(words, np.random.Philox(key=5).random_raw(1000))
    assert zc._zkclob.device_health(first.id)["state"] == "failed"
    assert zc._zkclob.device_health(first.id)["failovers"] == 1


def test_failover_across_backends_and_all_failed():
    zc.set_policy(failover="any", backoff_initial_us=10, backoff_max_us=10)
    zc.fault_inject("opencl:*:1x100:lost")
    words = zc.random.uniform(50, key=3, device="opencl")
    assert zc.random.last_device == zc.find_device("cpu")
    np.testing.assert_array_equal(words, np.random.Generator(np.random.Philox(key=3)).random(50))
    zc.init()
    zc.fault_inject("*:*:1x1000:lost")
    with pytest.raises(zc.DeviceLostError, match="all devices failed") as e:
        zc.random.philox(10)
    assert e.value.status == "ZC_ERR_ALL_DEVICES_FAILED"


def test_no_failover_policy_surfaces_device_lost():
    zc.set_policy(failover="none")
    zc.fault_inject("cpu:launch:1:lost")
    with pytest.raises(zc.DeviceLostError, match="injected device_lost"):
        zc.random.philox(10, device="cpu")


def test_env_fault_injection_in_a_fresh_process():
    code = ("import zkclob as zc\n"
            "zc.set_policy(max_retries=0)\n"
            "try:\n    zc.random.philox(4, device='cpu')\nexcept zc.TransientError as e:\n    print('raised', e.status)\n")
    env = dict(os.environ, ZC_FAULT_INJECT="cpu:launch:1", PYTHONPATH=":".join(sys.path), ZC_LOG_LEVEL="error")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "raised ZC_ERR_TRANSIENT", out.stderr


def test_bad_policy_and_rules():
    with pytest.raises(zc.InvalidArgumentError):
        zc.set_policy(backoff_multiplier=0.5)
    with pytest.raises(zc.InvalidArgumentError):
        zc.set_policy(failover="sometimes")
    with pytest.raises(zc.InvalidArgumentError):
        zc.set_policy(max_retries=-1)
    for rule in ("opencl", "opencl:launch:0", "opencl:launch:x", "cpu:launch:1:forever"):
        with pytest.raises(zc.InvalidArgumentError, match="fault rule"):
            zc.fault_inject(rule)
    with pytest.raises(zc.InvalidArgumentError):
        zc.fault_inject(3)
    with pytest.raises(zc.InvalidArgumentError):
        zc.set_log_level("loud")


def test_log_bridge_levels(caplog):
    zc.set_log_level("debug")
    try:
        with caplog.at_level(logging.DEBUG, logger="zkclob"):
            zc._zkclob.log(3, "test", "hello from C")
            zc._zkclob.log(4, "test", "too verbose")
        msgs = [(r.levelno, r.getMessage()) for r in caplog.records]
        assert (logging.DEBUG, "[test] hello from C") in msgs
        assert not any("too verbose" in m for _, m in msgs)
    finally:
        zc.set_log_level("warn")


def test_set_num_threads_rejects_non_cpu():
    with pytest.raises(zc.UnsupportedError, match="cpu devices only"):
        zc.set_num_threads(1, device="opencl")
    with pytest.raises(zc.InvalidArgumentError):
        zc.set_num_threads(-1)


def test_init_with_config():
    zc.init(num_threads=2, disable_opencl=True)
    assert by_backend("cpu")[0].threads == 2
    ocl = by_backend("opencl")
    assert len(ocl) == 1 and not ocl[0].available and "disabled" in ocl[0].reason
    with pytest.raises(zc.InvalidArgumentError):
        zc.init(num_threads=-2)


def test_nvrtc_compiles_cuda_kernels_without_a_gpu():
    src = (ROOT / "kernels" / "cuda" / "philox.cu").read_text()
    inline = _inline_includes(src, ROOT / "kernels")
    cubin, log = zc._zkclob.backend_compile(zc._zkclob.BACKEND_CUDA, inline, "sm_90")
    assert cubin[:4] == b"\x7fELF"
    with pytest.raises(zc.InternalError) as e:
        zc._zkclob.backend_compile(zc._zkclob.BACKEND_CUDA, "this is not CUDA", "sm_80")
    assert e.value.status == "ZC_ERR_COMPILE" and e.value.log


def test_opencl_runtime_compiler():
    src = _inline_includes((ROOT / "kernels" / "opencl" / "philox.cl").read_text(), ROOT / "kernels")
    binary, _ = zc._zkclob.backend_compile(zc._zkclob.BACKEND_OPENCL, src, None)
    assert len(binary) > 0


def _inline_includes(text, kernel_dir, seen=None):
    """The build embeds kernels with their quoted includes inlined once; do the same here."""
    seen = set() if seen is None else seen
    out = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#include \""):
            name = s.split('"')[1]
            if name not in seen:
                seen.add(name)
                out.append(_inline_includes((kernel_dir / name).read_text(), kernel_dir, seen))
        else:
            out.append(line)
    return "\n".join(out)


def test_cli_devices_and_demo():
    env = dict(os.environ, PYTHONPATH=":".join(sys.path), POCL_DEVICES="pthread pthread")
    out = subprocess.run([sys.executable, "-m", "zkclob", "devices"], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "cpu:0" in out and "opencl:1" in out and "unavailable" in out and "cudaError" in out
    js = subprocess.run([sys.executable, "-m", "zkclob", "devices", "--json"], env=env, capture_output=True,
                        text=True, timeout=120, check=True).stdout
    assert '"backend": "opencl"' in js
    demo = subprocess.run([sys.executable, "-m", "zkclob", "demo", "-n", "10000"], env=env, capture_output=True,
                          text=True, timeout=120, check=True).stdout
    assert demo.count("== numpy.random.Philox") == 3
