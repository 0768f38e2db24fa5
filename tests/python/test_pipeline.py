"""The end-to-end pipeline (zkclob.pipeline, ``python -m zkclob run``) and signed orders: the
canonical encoding against struct + pycryptodome Keccak-256, signatures against coincurve, the
signature gate (bad signatures rejected, book and journal unchanged), the report's fields, the
replayed root, the C program's root, and bad .npy inputs."""

import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import zkclob as zc
from zkclob import pipeline
from zkclob.book import EventKind, Reason

from conftest import ROOT

keccak = pytest.importorskip("Crypto.Hash.keccak")
coincurve = pytest.importorskip("coincurve")

SMALL = pipeline.StreamConfig(orders=4000, seed=3, symbols=16, traders=200, auction_orders=400)
ARGS = ["--orders", "4000", "--seed", "3", "--symbols", "16", "--traders", "200", "--auction", "400",
        "--batch", "700", "--device", "cpu"]


def k256(b: bytes) -> bytes:
    h = keccak.new(digest_bits=256)
    h.update(b)
    return h.digest()


@pytest.fixture(scope="module")
def signed():
    orders = pipeline.generate(SMALL)
    sk, pk = pipeline.trader_keys(SMALL.seed, SMALL.traders)
    return orders, sk, pk, pipeline.sign(sk, orders)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "run.zcj"
    r = pipeline.run(SMALL, batch=700, journal=str(path), device="cpu", mc_paths=2000)
    return r, path


order_fields = st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
                         st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.integers(0, 255),
                         st.integers(-2**63, 2**63 - 1), st.integers(-2**63, 2**63 - 1),
                         st.integers(0, 2**64 - 1))


@settings(max_examples=40, deadline=None)
@given(st.lists(order_fields, min_size=1, max_size=8))
def test_encoding_and_digest_match_references(rows):
    o = np.array(rows, dtype=zc.ORDER_DTYPE)
    enc = pipeline.encode(o)
    dig = pipeline.digest(o, device="cpu")
    assert enc.shape == (len(rows), pipeline.ENCODED_BYTES) and dig.shape == (len(rows), 32)
    for i in range(len(rows)):
        want = b"ZCORDER1" + o[i:i + 1].tobytes()
        assert enc[i].tobytes() == want
        assert dig[i].tobytes() == k256(want)


def test_generator_is_deterministic_and_documented(signed):
    orders = signed[0]
    again = pipeline.generate(SMALL)
    assert orders.tobytes() == again.tobytes()
    other = pipeline.generate(pipeline.StreamConfig(**{**SMALL.__dict__, "seed": 4}))
    assert orders.tobytes() != other.tobytes()
    # Order i draws Philox4x64 block 0 of key (seed, 0), counter (0, i, 0, 0), as numpy's Philox does.
    i = 1234
    words = np.random.Philox(key=np.array([SMALL.seed, 0], np.uint64),
                             counter=np.array([0, i, 0, 0], np.uint64)).random_raw(4)
    assert orders["symbol"][i] == words[0] % SMALL.symbols
    assert orders["side"][i] == words[2] & 1
    assert orders["ts"][i] == (i + 1) * SMALL.ts_step_ns
    if orders["type"][i] != zc.book.OrderType.CANCEL:
        assert orders["id"][i] == i + 1 and orders["trader"][i] == words[3] % SMALL.traders
    s = pipeline.engine_settings(SMALL)
    assert s == {"symbols": 16, "capacity": 1024, "tick_size": 1, "lot_size": 1, "min_price": 1,
                 "max_price": 200000, "ref_price": 100000}


def test_signatures_match_coincurve(signed):
    orders, sk, pk, sigs = signed
    dig = pipeline.digest(orders[:20])
    for i in range(20):
        key = coincurve.PrivateKey(sk[orders["trader"][i]].tobytes())
        assert key.public_key.format(compressed=False)[1:] == pk[orders["trader"][i]].tobytes()
        want = key.sign_recoverable(dig[i].tobytes(), hasher=None)[:64]
        assert sigs[i].tobytes() == want
    ok, dev = pipeline.verify(pk, orders, sigs)
    assert ok.dtype == np.bool_ and ok.all()
    bad = sigs.copy()
    bad[7, 10] ^= 1
    ok, _ = pipeline.verify(pk, orders, bad, device="cpu")
    assert not ok[7] and ok.sum() == orders.size - 1


def test_tampered_signature_is_rejected_and_book_unchanged(signed, tmp_path):
    orders, _, pk, sigs = signed
    o, s = orders[:500].copy(), sigs[:500].copy()
    s[42, 63] ^= 0x80
    cfg = pipeline.engine_settings(SMALL)
    kw = dict(symbols=cfg["symbols"], capacity=cfg["capacity"], device="cpu",
              price_band=(cfg["min_price"], cfg["max_price"]))
    with zc.Engine(journal=tmp_path / "j.zcj", **kw) as eng, zc.Engine(**kw) as ref:
        with pytest.raises(zc.InvalidArgumentError, match="set_trader_keys"):
            eng.submit_signed(o, s)
        eng.set_trader_keys(pk)
        ev = eng.submit_signed(o, s)
        rej = ev[ev["reason"] == Reason.BAD_SIGNATURE]
        assert rej.size == 1 and rej["kind"][0] == EventKind.REJECT and rej["order_id"][0] == o["id"][42]
        # Nothing else mentions the refused order; the rest is what the valid orders alone give.
        keep = np.ones(o.size, bool)
        keep[42] = False
        ref_ev = ref.submit(np.ascontiguousarray(o[keep]))
        assert ev[ev["reason"] != Reason.BAD_SIGNATURE].tobytes() == ref_ev.tobytes()
        assert eng.state_root() == ref.state_root()
        for sym in range(cfg["symbols"]):
            assert eng.book(sym).tobytes() == ref.book(sym).tobytes()
        root = eng.state_root()
    replayed, _ = zc.Engine.replay(tmp_path / "j.zcj", device="cpu")
    assert replayed.state_root() == root
    replayed.close()
    with zc.Engine(**kw) as eng:
        eng.set_trader_keys(pk)
        with pytest.raises(zc.InvalidArgumentError, match="signatures"):
            eng.submit_signed(o, s[:10])
        with pytest.raises(zc.InvalidArgumentError, match="valid"):
            eng.submit_verified(o, np.ones(3, np.uint8))


def test_report_fields_and_replay(report):
    r, path = report
    assert [s["stage"] for s in r["stages"]] == ["generate", "keys", "sign", "verify", "match", "state root",
                                                 "market data", "risk", "replay"]
    for s in r["stages"]:
        assert s["items"] >= 0 and s["seconds"] >= 0 and s["rate"] > 0 and s["device"].startswith(("cpu", "opencl"))
    assert r["signatures"] == {"verified": 4000, "valid": 4000, "invalid": 0}
    assert len(r["state_root"]) == 64 and r["replay_root"] == r["state_root"] and r["roots_match"]
    assert r["events"] == sum(r["event_counts"].values()) and r["event_counts"]["fill"] == r["market"]["trades"]
    assert r["config"]["auction_orders"] == 400 and r["config"]["generated"]
    assert r["risk"]["largest"] and all(b["es_99"] >= b["var_99"] for b in r["risk"]["largest"])
    assert r["market"]["bars"] > 0 and r["risk"]["correlation"]["observations"] > 0
    json.dumps(r)
    # The journal the run wrote replays to its root.
    replayed, events = zc.Engine.replay(path)
    assert replayed.state_root().hex() == r["state_root"] and events.size == r["events"]
    replayed.close()
    text = pipeline.format_report(r)
    assert r["state_root"] in text and "verify" in text and "items/s" in text


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), POCL_DEVICES="pthread pthread")


def test_cli_json_and_c_program_agree(report, build_dir, tmp_path):
    out = subprocess.run([sys.executable, "-m", "zkclob", "run", *ARGS, "--json"], env=_env(), capture_output=True,
                         text=True, timeout=300, check=True).stdout
    r = json.loads(out)
    assert r["state_root"] == report[0]["state_root"]
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    exe = tmp_path / "pipeline"
    subprocess.run([cc, "-O1", str(ROOT / "examples/embed/pipeline.c"), f"-I{ROOT / 'csrc/include'}",
                    f"-L{build_dir / 'lib'}", "-lzkclob", f"-Wl,-rpath,{build_dir / 'lib'}", "-o", str(exe)],
                   check=True, timeout=120)
    c_out = subprocess.run([str(exe), *ARGS], env=_env(), capture_output=True, text=True, timeout=300,
                           check=True).stdout
    assert f"state_root {r['state_root']}" in c_out


def test_npy_inputs(signed, tmp_path):
    orders, _, pk, sigs = signed
    o, s = orders[:300], sigs[:300]
    paths = {k: str(tmp_path / f"{k}.npy") for k in ("orders", "sigs", "keys")}
    np.save(paths["orders"], o)
    np.save(paths["sigs"], s)
    np.save(paths["keys"], pk)
    lo, ls, lk = pipeline.load_stream(paths["orders"], paths["sigs"], paths["keys"])
    assert lo.tobytes() == o.tobytes() and ls.tobytes() == s.tobytes()
    r = pipeline.run(pipeline.StreamConfig(orders=300, symbols=16, traders=200), orders=lo, signatures=ls,
                     pubkeys=lk, device="cpu", mc_paths=1000)
    assert not r["config"]["generated"] and r["signatures"]["valid"] == 300 and r["roots_match"]

    def bad(name, array=None, raw=None, match=""):
        p = str(tmp_path / f"bad_{name}.npy")
        if raw is not None:
            open(p, "wb").write(raw)
        else:
            np.save(p, array)
        files = dict(paths)
        files[name] = p
        with pytest.raises(zc.InvalidArgumentError, match=match):
            pipeline.load_stream(files["orders"], files["sigs"], files["keys"])

    bad("orders", o.view(np.uint8).reshape(300, -1), match="ORDER_DTYPE")
    bad("sigs", s[:, :63].copy(), match=r"\(300, 64\)")
    bad("sigs", s[:299], match=r"\(300, 64\)")
    bad("sigs", s.astype(np.int16), match="uint8")
    bad("keys", pk[:5], match="trader")
    bad("keys", pk[:, :32].copy(), match="traders, 64")
    full = open(paths["orders"], "rb").read()
    bad("orders", raw=full[: len(full) // 2], match="truncated or corrupt")
    bad("orders", raw=b"not a numpy file at all", match="truncated or corrupt")
    with pytest.raises(zc.InvalidArgumentError, match="does not exist"):
        pipeline.load_stream(str(tmp_path / "missing.npy"), paths["sigs"], paths["keys"])
    # The command line reports the error and exits 2.
    p = subprocess.run([sys.executable, "-m", "zkclob", "run", "--orders-file", str(tmp_path / "bad_orders.npy"),
                        "--signatures-file", paths["sigs"], "--pubkeys-file", paths["keys"]], env=_env(),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "truncated or corrupt" in p.stderr


def test_bad_arguments(signed):
    orders, sk, pk, sigs = signed
    with pytest.raises(zc.InvalidArgumentError):
        pipeline.generate(pipeline.StreamConfig(orders=-1))
    with pytest.raises(zc.InvalidArgumentError, match="auction"):
        pipeline.generate(pipeline.StreamConfig(orders=10, auction_orders=6))
    with pytest.raises(zc.InvalidArgumentError, match="mid"):
        pipeline.generate(pipeline.StreamConfig(orders=10, mid=5))
    with pytest.raises(zc.InvalidArgumentError, match="ORDER_DTYPE"):
        pipeline.encode(np.zeros(3, np.int64))
    with pytest.raises(zc.InvalidArgumentError, match="seckeys"):
        pipeline.sign(sk[:, :16].copy(), orders)
    with pytest.raises(zc.InvalidArgumentError, match="no key"):
        pipeline.sign(sk[:3], orders)
    with pytest.raises(zc.InvalidArgumentError, match="signatures"):
        pipeline.verify(pk, orders, sigs[:5])
    with pytest.raises(zc.InvalidArgumentError, match="batch"):
        pipeline.run(SMALL, batch=0)
    with pytest.raises(zc.InvalidArgumentError, match="signatures and pubkeys"):
        pipeline.run(SMALL, orders=orders)


def test_progress_line_only_on_a_terminal():
    buf = io.StringIO()
    p = pipeline.Progress(buf, enabled=True)
    p.start("verify", 10)
    p.update(10)
    p.finish()
    assert "verify" in buf.getvalue() and "100.0%" in buf.getvalue() and "\r" in buf.getvalue()
    quiet = io.StringIO()
    p = pipeline.Progress(quiet)  # StringIO is not a TTY
    p.start("verify", 10)
    p.update(10)
    p.finish()
    assert quiet.getvalue() == ""
