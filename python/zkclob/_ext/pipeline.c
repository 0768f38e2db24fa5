/* _zkclob: generated order streams and signed orders for zkclob.pipeline.
 * Orders are ORDER_DTYPE arrays (python/zkclob/pipeline.py checks the
 * dtype); keys, signatures and digests are uint8 arrays of (n, width). Results
 * are engine-owned arrays handed to NumPy without copying. */
#include <string.h>

#include "ext.h"

#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL zkclob_ARRAY_API
#include <numpy/arrayobject.h>

#include "args.h"

/* (seed, symbols, traders, capacity, auction_orders, mid, ts_step_ns) */
static int gen_config(PyObject *args, zc_orders_gen_config *c, PyObject **rest)
{
    unsigned long long seed, ts;
    unsigned int symbols, traders, capacity;
    Py_ssize_t auction;
    long long mid;
    memset(c, 0, sizeof *c);
    if (!PyArg_ParseTuple(args, "(KIIInLK)|O", &seed, &symbols, &traders, &capacity, &auction, &mid, &ts, rest))
        return -1;
    if (auction < 0) {
        zcpy_invalid("auction_orders must be >= 0");
        return -1;
    }
    *c = (zc_orders_gen_config){seed, symbols, traders, capacity, (size_t)auction, mid, ts};
    return 0;
}

static PyObject *py_orders_generate(PyObject *self, PyObject *args)
{
    zc_orders_gen_config c;
    PyObject *obj = NULL;
    if (gen_config(args, &c, &obj) < 0)
        return NULL;
    if (!obj)
        return zcpy_invalid("orders_generate needs an output array");
    PyArrayObject *a = zcpy_records_arg(obj, sizeof(zc_order), "out");
    if (!a)
        return NULL;
    if (!PyArray_ISWRITEABLE(a))
        return zcpy_invalid("out must be writable");
    zc_status st;
    zc_order *out = PyArray_DATA(a);
    size_t n = (size_t)PyArray_DIM(a, 0);
    Py_BEGIN_ALLOW_THREADS
    st = zc_orders_generate(&c, out, n);
    Py_END_ALLOW_THREADS
    CHECK(st);
    zcpy_flush_log();
    Py_RETURN_NONE;
}

static PyObject *py_orders_engine_config(PyObject *self, PyObject *args)
{
    zc_orders_gen_config c;
    PyObject *unused = NULL;
    if (gen_config(args, &c, &unused) < 0)
        return NULL;
    zc_engine_config e;
    CHECK(zc_orders_gen_engine_config(&c, &e));
    const zc_symbol_config *d = &e.defaults;
    return Py_BuildValue("{s:I,s:I,s:L,s:L,s:L,s:L,s:L}", "symbols", e.symbols, "capacity", e.capacity,
                         "tick_size", (long long)d->tick_size, "lot_size", (long long)d->lot_size, "min_price",
                         (long long)d->min_price, "max_price", (long long)d->max_price, "ref_price",
                         (long long)d->ref_price);
}

static PyObject *py_order_encode(PyObject *self, PyObject *obj)
{
    PyArrayObject *a = zcpy_records_arg(obj, sizeof(zc_order), "orders");
    if (!a)
        return NULL;
    size_t n = (size_t)PyArray_DIM(a, 0);
    zc_array *out = zcpy_new_array(ZC_DTYPE_U8, 2, (size_t[]){n, ZC_ORDER_SIGNED_BYTES});
    if (!out)
        return NULL;
    zc_status st = zc_order_encode(PyArray_DATA(a), n, zc_array_data(out));
    if (st != ZC_OK) {
        zc_array_release(out);
        return zcpy_raise(st);
    }
    return zcpy_array_from(out);
}

static PyObject *py_order_digest(PyObject *self, PyObject *args)
{
    PyObject *obj;
    int device;
    if (!PyArg_ParseTuple(args, "Oi", &obj, &device))
        return NULL;
    PyArrayObject *a = zcpy_records_arg(obj, sizeof(zc_order), "orders");
    if (!a)
        return NULL;
    size_t n = (size_t)PyArray_DIM(a, 0);
    zc_array *out = zcpy_new_array(ZC_DTYPE_U8, 2, (size_t[]){n, 32});
    if (!out)
        return NULL;
    zc_status st;
    const zc_order *orders = PyArray_DATA(a);
    uint8_t *dst = zc_array_data(out);
    Py_BEGIN_ALLOW_THREADS
    st = zc_order_digest(&device, orders, n, dst);
    Py_END_ALLOW_THREADS
    return zcpy_device_result(st, out, device);
}

/* trader_keys(seed, first, n, public) -> (n, 32) secret or (n, 64) public keys */
static PyObject *py_trader_keys(PyObject *self, PyObject *args)
{
    unsigned long long seed;
    unsigned int first, n;
    int public;
    if (!PyArg_ParseTuple(args, "KIIp", &seed, &first, &n, &public))
        return NULL;
    zc_array *out = zcpy_new_array(ZC_DTYPE_U8, 2, (size_t[]){n, public ? 64 : 32});
    if (!out)
        return NULL;
    zc_status st;
    uint8_t *dst = zc_array_data(out);
    Py_BEGIN_ALLOW_THREADS
    st = public ? zc_trader_pubkeys(seed, first, n, dst) : zc_trader_seckeys(seed, first, n, dst);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK) {
        zc_array_release(out);
        return zcpy_raise(st);
    }
    return zcpy_array_from(out);
}

static PyObject *py_orders_sign(PyObject *self, PyObject *args)
{
    PyObject *keys_obj, *orders_obj;
    if (!PyArg_ParseTuple(args, "OO", &keys_obj, &orders_obj))
        return NULL;
    PyArrayObject *k = zcpy_rows_arg(keys_obj, NPY_UINT8, 32, "seckeys");
    PyArrayObject *a = k ? zcpy_records_arg(orders_obj, sizeof(zc_order), "orders") : NULL;
    if (!a)
        return NULL;
    if (PyArray_DIM(k, 0) > (npy_intp)UINT32_MAX)
        return zcpy_invalid("at most 2^32 - 1 keys");
    size_t n = (size_t)PyArray_DIM(a, 0);
    zc_array *out = zcpy_new_array(ZC_DTYPE_U8, 2, (size_t[]){n, 64});
    if (!out)
        return NULL;
    zc_status st;
    const uint8_t *keys = PyArray_DATA(k);
    uint32_t nkeys = (uint32_t)PyArray_DIM(k, 0);
    const zc_order *orders = PyArray_DATA(a);
    uint8_t *dst = zc_array_data(out);
    Py_BEGIN_ALLOW_THREADS
    st = zc_orders_sign(keys, nkeys, orders, n, dst);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK) {
        zc_array_release(out);
        return zcpy_raise(st);
    }
    return zcpy_array_from(out);
}

/* orders_verify(pubkeys, orders, sigs, flags, device) -> (uint8 verdicts, device) */
static PyObject *py_orders_verify(PyObject *self, PyObject *args)
{
    PyObject *keys_obj, *orders_obj, *sigs_obj;
    unsigned int flags;
    int device;
    if (!PyArg_ParseTuple(args, "OOOIi", &keys_obj, &orders_obj, &sigs_obj, &flags, &device))
        return NULL;
    PyArrayObject *k = zcpy_rows_arg(keys_obj, NPY_UINT8, 64, "pubkeys");
    PyArrayObject *a = k ? zcpy_records_arg(orders_obj, sizeof(zc_order), "orders") : NULL;
    PyArrayObject *s = a ? zcpy_rows_arg(sigs_obj, NPY_UINT8, 64, "signatures") : NULL;
    if (!s)
        return NULL;
    size_t n = (size_t)PyArray_DIM(a, 0);
    if ((size_t)PyArray_DIM(s, 0) != n)
        return zcpy_invalid("%zu orders but %zd signatures", n, PyArray_DIM(s, 0));
    if (PyArray_DIM(k, 0) > (npy_intp)UINT32_MAX)
        return zcpy_invalid("at most 2^32 - 1 keys");
    size_t shape[1] = {n};
    zc_array *out = NULL;
    CHECK(zc_array_new(ZC_DTYPE_U8, 1, shape, &out));
    zc_status st;
    const uint8_t *keys = PyArray_DATA(k), *sigs = PyArray_DATA(s);
    uint32_t nkeys = (uint32_t)PyArray_DIM(k, 0);
    const zc_order *orders = PyArray_DATA(a);
    uint8_t *dst = zc_array_data(out);
    Py_BEGIN_ALLOW_THREADS
    st = zc_orders_verify(&device, keys, nkeys, orders, sigs, n, flags, dst);
    Py_END_ALLOW_THREADS
    return zcpy_device_result(st, out, device);
}

static PyMethodDef pipeline_methods[] = {
    {"orders_generate", py_orders_generate, METH_VARARGS, "orders_generate(config, out): fill out with the stream."},
    {"orders_engine_config", py_orders_engine_config, METH_VARARGS, "The engine settings a stream is made for."},
    {"order_encode", py_order_encode, METH_O, "Canonical encodings (n, 52) of an ORDER_DTYPE array."},
    {"order_digest", py_order_digest, METH_VARARGS, "order_digest(orders, device) -> (Keccak-256 (n, 32), device)."},
    {"trader_keys", py_trader_keys, METH_VARARGS, "trader_keys(seed, first, n, public) -> demo keys."},
    {"orders_sign", py_orders_sign, METH_VARARGS, "orders_sign(seckeys, orders) -> signatures (n, 64)."},
    {"orders_verify", py_orders_verify, METH_VARARGS,
     "orders_verify(pubkeys, orders, sigs, flags, device) -> (verdicts, device)."},
    {NULL, NULL, 0, NULL}};

int zcpy_pipeline_init(PyObject *m) { return PyModule_AddFunctions(m, pipeline_methods); }
