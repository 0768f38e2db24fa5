"""Asynchronous submission: Engine.submit_async / wait / sync give the events of submit byte for
byte on cpu and OpenCL (pipelined batches, waits in any order), views after sync, typed errors for
bad tickets and malformed arrays with the engine unchanged, journal and replay, a device fault that
surfaces at wait time, and threads racing with submit and submit_async."""

import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import zkclob as zc
from conftest import executing_devices
from test_book import make_engine, stream_arrays

OPENCL = [d.spec for d in executing_devices() if d.backend == "opencl"]
DEVICES = ["cpu"] + OPENCL


def submit_all_async(eng, parts):
    return [eng.submit_async(p) for p in parts]


def same_state(a, b, symbols):
    assert a.state_root() == b.state_root()
    for s in range(symbols):
        assert a.book(s).tobytes() == b.book(s).tobytes()
        assert [d.tobytes() for d in a.depth(s, 8)] == [d.tobytes() for d in b.depth(s, 8)]


@pytest.mark.parametrize("device", DEVICES)
def test_pipelined_batches_equal_submit(device):
    parts = stream_arrays(21, n=3000, batch=400)
    parts.insert(2, parts[0][:0])  # an empty batch
    parts.insert(4, parts[1][:1])  # one order
    with make_engine(5, capacity=64, device=device) as sync, make_engine(5, capacity=64, device=device) as eng:
        want = [sync.submit(p) for p in parts]
        tickets = submit_all_async(eng, parts)
        assert tickets == sorted(tickets) and len(set(tickets)) == len(tickets)
        eng.sync()
        for t, w in zip(tickets, want):
            got = eng.wait(t)
            assert got.dtype == zc.EVENT_DTYPE
            assert got.tobytes() == w.tobytes()
        assert eng.info()["batches"] == sync.info()["batches"] == tickets[-1]
        assert eng.next_seq == sync.next_seq
        same_state(eng, sync, 5)


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(0, 1200), max_size=6),
       order=st.randoms(use_true_random=False))
def test_any_split_and_wait_order_equals_submit(device, seed, cuts, order):
    whole = stream_arrays(seed, n=1200, batch=1200, symbols=4)[0]
    bounds = sorted(set([0, 1200] + cuts))
    parts = [whole[a:b] for a, b in zip(bounds, bounds[1:])]
    with make_engine(4, capacity=32, device=device) as sync, make_engine(4, capacity=32, device=device) as eng:
        want = [sync.submit(p) for p in parts]
        tickets = submit_all_async(eng, parts)
        idx = list(range(len(parts)))
        order.shuffle(idx)
        for i in idx:
            assert eng.wait(tickets[i]).tobytes() == want[i].tobytes()
        same_state(eng, sync, 4)


@pytest.mark.parametrize("device", DEVICES)
def test_views_include_outstanding_batches(device):
    parts = stream_arrays(22, n=2000, batch=500)
    with make_engine(5, capacity=64, device=device) as sync, make_engine(5, capacity=64, device=device) as eng:
        for p in parts[:2]:
            sync.submit(p)
        tickets = submit_all_async(eng, parts[:2])
        # Views drain the outstanding batches first; their events stay for wait.
        same_state(eng, sync, 5)
        assert eng.info()["resting"] == sync.info()["resting"]
        tickets += submit_all_async(eng, parts[2:])
        want = [sync.submit(p) for p in parts[2:]]
        eng.sync()
        same_state(eng, sync, 5)
        for t, w in zip(tickets[2:], want):
            assert eng.wait(t).tobytes() == w.tobytes()
        for t in tickets[:2]:
            eng.wait(t)


@pytest.mark.parametrize("device", DEVICES)
def test_bad_tickets_and_arrays_raise_typed_errors(device):
    parts = stream_arrays(23, n=600, batch=200)
    with make_engine(5, capacity=64, device=device) as eng:
        tickets = submit_all_async(eng, parts)
        for t in reversed(tickets):
            eng.wait(t)
        with pytest.raises(zc.InvalidArgumentError, match="already collected"):
            eng.wait(tickets[0])
        eng.submit(parts[0][:1])
        with pytest.raises(zc.InvalidArgumentError, match="asynchronous"):
            eng.wait(eng.info()["batches"])  # a synchronous call's batch has no ticket
        for bad in (-1, 2**64, 1.0, "1", True, None):
            with pytest.raises(zc.InvalidArgumentError):
                eng.wait(bad)
        before = eng.info()
        root = eng.state_root()
        good = parts[1]
        wrong = [good.astype([(n, "<i8") for n in zc.ORDER_DTYPE.names]), np.stack([good, good]), good[::2],
                 good.tolist(), None]
        for bad in wrong:
            with pytest.raises(zc.InvalidArgumentError):
                eng.submit_async(bad)
        assert eng.info() == before
        assert eng.state_root() == root
    with pytest.raises(zc.InvalidArgumentError, match="closed"):
        eng.submit_async(good)
    with pytest.raises(zc.InvalidArgumentError, match="closed"):
        eng.wait(1)


@pytest.mark.parametrize("device", DEVICES)
def test_orders_may_change_after_submit_async(device):
    parts = stream_arrays(24, n=800, batch=400)
    with make_engine(5, capacity=64, device=device) as sync, make_engine(5, capacity=64, device=device) as eng:
        want = [sync.submit(p) for p in parts]
        scratch = [p.copy() for p in parts]
        tickets = submit_all_async(eng, scratch)
        for s in scratch:
            s["qty"] = 0  # would be rejected if the engine still read them
        assert [eng.wait(t).tobytes() for t in tickets] == [w.tobytes() for w in want]


@pytest.mark.parametrize("device", DEVICES)
def test_journal_of_async_batches_replays(tmp_path, device):
    path = tmp_path / "async.zcj"
    parts = stream_arrays(25, n=2400, batch=400)
    eng = make_engine(5, capacity=64, device=device, journal=path)
    tickets = submit_all_async(eng, parts[:3])
    mid = eng.submit(parts[3])
    tickets += submit_all_async(eng, parts[4:])
    eng.sync()
    root = eng.state_root()
    events = [eng.wait(t) for t in tickets[:3]] + [mid] + [eng.wait(t) for t in tickets[3:]]
    eng.close()
    replayed, all_events = zc.Engine.replay(path, device="cpu")
    assert all_events.tobytes() == np.concatenate(events).tobytes()
    assert replayed.state_root() == root
    replayed.close()


@pytest.mark.skipif(not OPENCL, reason="needs an OpenCL device")
def test_fault_at_wait_belongs_to_its_batch(tmp_path):
    path = tmp_path / "fault.zcj"
    parts = stream_arrays(26, n=1500, batch=500)
    with make_engine(5, capacity=64, device=OPENCL[0]) as ref:
        want = [ref.submit(p) for p in parts]
        ref_root = ref.state_root()
    eng = make_engine(5, capacity=64, device=OPENCL[0], journal=path)
    zc.fault_inject("opencl:wait:2")  # the second batch to complete fails
    t0, t1, t2 = submit_all_async(eng, parts)  # the third completes the first
    with pytest.raises(zc.TransientError, match=f"asynchronous batch {t1} .*injected") as err:
        eng.wait(t1)
    assert err.value.error_class == "transient"
    with pytest.raises(zc.InvalidArgumentError, match="not applied"):
        eng.wait(t2)
    assert eng.wait(t0).tobytes() == want[0].tobytes()
    with pytest.raises(zc.InvalidArgumentError, match="stopped"):
        eng.submit_async(parts[0])
    with pytest.raises(zc.InvalidArgumentError, match="stopped"):
        eng.sync()
    eng.close()
    zc.fault_inject("")
    replayed, events = zc.Engine.replay(path, device=OPENCL[0])
    assert events.tobytes() == np.concatenate(want).tobytes()
    assert replayed.state_root() == ref_root
    replayed.close()


@pytest.mark.parametrize("device", DEVICES)
def test_concurrent_submitters_get_tickets_in_ingress_order(tmp_path, device):
    path = tmp_path / "conc.zcj"
    nthreads, per_thread = 4, 6
    streams = [stream_arrays(30 + t, n=per_thread * 80, batch=80) for t in range(nthreads)]
    eng = make_engine(5, capacity=128, device=device, journal=path)
    results = [[] for _ in range(nthreads)]
    errors = []

    def worker(t):
        try:
            pending = []
            for k, part in enumerate(streams[t]):
                if k % 2:
                    results[t].append((None, part, eng.submit(part)))
                else:
                    pending.append((eng.submit_async(part), part))
            for ticket, part in pending:
                results[t].append((ticket, part, eng.wait(ticket)))
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(nthreads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    batches = sorted((b for r in results for b in r), key=lambda b: int(b[2]["seq"].min()))
    seq, last_ticket = 1, 0
    for ticket, part, events in batches:
        # Each batch holds one contiguous block of sequence numbers, in ingress order.
        assert sorted(set(events["seq"].tolist())) == list(range(seq, seq + len(part)))
        seq += len(part)
        if ticket is not None:
            assert ticket > last_ticket
            last_ticket = ticket
    root = eng.state_root()
    eng.close()
    replayed, events = zc.Engine.replay(path, device="cpu")
    assert events.tobytes() == np.concatenate([b[2] for b in batches]).tobytes()
    assert replayed.state_root() == root
    replayed.close()
