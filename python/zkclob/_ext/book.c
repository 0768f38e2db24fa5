/* zkclob order book: the _Engine type (wrapped by python/zkclob/book.py), the
 * packed record dtypes built from the C structs, and the constants of
 * zkclob/book.h. Orders are read in place from ORDER_DTYPE arrays; events
 * and views are engine-owned arrays that NumPy views without copying. */
#include <stddef.h>

#include "ext.h"

#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL zkclob_ARRAY_API
#include <numpy/arrayobject.h>

#include "args.h"

static PyArray_Descr *order_descr, *event_descr, *depth_descr, *entry_descr;

typedef struct {
    PyObject_HEAD
    zc_engine *eng;
} EngineObject;

/* A packed dtype from (name, typestr) pairs; its layout must be the struct's. */
static PyArray_Descr *make_descr(const char *const fields[][2], size_t nfields, size_t itemsize)
{
    PyObject *list = PyList_New((Py_ssize_t)nfields);
    for (size_t i = 0; list && i < nfields; i++) {
        PyObject *t = Py_BuildValue("(ss)", fields[i][0], fields[i][1]);
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    if (!list)
        return NULL;
    PyArray_Descr *d = NULL;
    int ok = PyArray_DescrConverter(list, &d);
    Py_DECREF(list);
    if (!ok)
        return NULL;
    if ((size_t)PyDataType_ELSIZE(d) != itemsize) {
        Py_DECREF(d);
        PyErr_Format(PyExc_SystemError, "dtype of %zu bytes does not match the %zu-byte C record",
                     (size_t)PyDataType_ELSIZE(d), itemsize);
        return NULL;
    }
    return d;
}

/* An engine-owned uint8 array of records, viewed as `descr` (no copy). */
static PyObject *records_view(zc_array *arr, PyArray_Descr *descr)
{
    PyObject *bytes = zcpy_array_from(arr);
    if (!bytes)
        return NULL;
    Py_INCREF(descr);
    PyObject *v = PyArray_View((PyArrayObject *)bytes, descr, NULL);
    Py_DECREF(bytes);
    return v;
}

static int engine_ok(EngineObject *self)
{
    if (!self->eng) {
        zcpy_invalid("the engine is closed");
        return 0;
    }
    return 1;
}

static PyTypeObject EngineType;

zc_engine *zcpy_engine_of(PyObject *obj)
{
    if (!PyObject_TypeCheck(obj, &EngineType)) {
        zcpy_invalid("engine must be a zkclob.Engine, got %s", Py_TYPE(obj)->tp_name);
        return NULL;
    }
    return engine_ok((EngineObject *)obj) ? ((EngineObject *)obj)->eng : NULL;
}

/* symbols, capacity, device, threads, journal, fsync, fsync_every,
 * hash_seed, per_symbol: int64 (symbols, 6) of tick, lot, min, max, ref,
 * mode (book.py checks and broadcasts the arguments), prefault. */
static int engine_init(EngineObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"symbols", "capacity", "device", "threads", "journal", "fsync", "fsync_every",
                             "hash_seed", "per_symbol", "prefault", NULL};
    unsigned int symbols, capacity, fsync_every;
    const char *device, *journal;
    int threads, fsync, prefault = 0;
    unsigned long long seed;
    PyObject *per;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "IIsizIIKO|p", kwlist, &symbols, &capacity, &device, &threads,
                                     &journal, &fsync, &fsync_every, &seed, &per, &prefault))
        return -1;
    if (self->eng) {
        zcpy_invalid("the engine is already initialised");
        return -1;
    }
    PyArrayObject *p = (PyArrayObject *)PyArray_FROMANY(per, NPY_INT64, 2, 2, NPY_ARRAY_IN_ARRAY);
    if (!p)
        return -1;
    if (PyArray_DIM(p, 0) != (npy_intp)symbols || PyArray_DIM(p, 1) != 6) {
        Py_DECREF(p);
        zcpy_invalid("per_symbol must have shape (%u, 6)", symbols);
        return -1;
    }
    zc_symbol_config *sc = PyMem_Calloc(symbols ? symbols : 1, sizeof *sc);
    if (!sc) {
        Py_DECREF(p);
        PyErr_NoMemory();
        return -1;
    }
    const int64_t *v = PyArray_DATA(p);
    for (unsigned s = 0; s < symbols; s++) {
        const int64_t *r = v + 6 * (size_t)s;
        sc[s] = (zc_symbol_config){r[0], r[1], r[2], r[3], r[4], (uint32_t)r[5]};
        if (r[5] < 0 || r[5] > ZC_MODE_AUCTION) {
            PyMem_Free(sc);
            Py_DECREF(p);
            zcpy_invalid("symbol %u: unknown mode %lld", s, (long long)r[5]);
            return -1;
        }
    }
    Py_DECREF(p);
    zc_engine_config cfg = {.symbols = symbols,
                            .capacity = capacity,
                            .per_symbol = sc,
                            .device = device,
                            .threads = threads,
                            .journal = journal,
                            .fsync = (zc_fsync_policy)fsync,
                            .fsync_every = fsync_every,
                            .hash_seed = seed,
                            .prefault = prefault};
    zc_status st;
    zc_engine *e = NULL;
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_create(&cfg, &e);
    Py_END_ALLOW_THREADS
    PyMem_Free(sc);
    if (st != ZC_OK) {
        zcpy_raise(st);
        return -1;
    }
    zcpy_flush_log();
    self->eng = e;
    return 0;
}

static void engine_dealloc(EngineObject *self)
{
    zc_engine_destroy(self->eng);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *engine_close(EngineObject *self, PyObject *noargs)
{
    zc_engine *e = self->eng;
    self->eng = NULL;
    Py_BEGIN_ALLOW_THREADS
    zc_engine_destroy(e);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* `obj` as a 1-D C-contiguous ORDER_DTYPE array (borrowed), else a typed error. */
static PyArrayObject *order_array(PyObject *obj)
{
    if (!PyArray_Check(obj))
        return (PyArrayObject *)zcpy_invalid("orders must be a NumPy array of ORDER_DTYPE, got %s",
                                             Py_TYPE(obj)->tp_name);
    PyArrayObject *a = (PyArrayObject *)obj;
    if (!PyArray_EquivTypes(PyArray_DESCR(a), order_descr))
        return (PyArrayObject *)zcpy_invalid("orders must have dtype ORDER_DTYPE %R, got %R", order_descr,
                                             PyArray_DESCR(a));
    if (PyArray_NDIM(a) != 1)
        return (PyArrayObject *)zcpy_invalid("orders must be 1-dimensional, got %d dimensions", PyArray_NDIM(a));
    if (!PyArray_IS_C_CONTIGUOUS(a))
        return (PyArrayObject *)zcpy_invalid("orders must be C-contiguous (use numpy.ascontiguousarray)");
    return a;
}

static PyObject *engine_submit(EngineObject *self, PyObject *obj)
{
    if (!engine_ok(self))
        return NULL;
    PyArrayObject *a = order_array(obj);
    if (!a)
        return NULL;
    zc_array *ev = NULL;
    zc_status st;
    const zc_order *orders = PyArray_DATA(a);
    size_t n = (size_t)PyArray_DIM(a, 0);
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_submit(self->eng, orders, n, &ev);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    zcpy_flush_log();
    return records_view(ev, event_descr);
}

/* _submit_async(orders) -> ticket: the orders are copied (or, on the cpu,
 * matched) before it returns. */
static PyObject *engine_submit_async(EngineObject *self, PyObject *obj)
{
    if (!engine_ok(self))
        return NULL;
    PyArrayObject *a = order_array(obj);
    if (!a)
        return NULL;
    uint64_t ticket = 0;
    zc_status st;
    const zc_order *orders = PyArray_DATA(a);
    size_t n = (size_t)PyArray_DIM(a, 0);
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_submit_async(self->eng, orders, n, &ticket);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    zcpy_flush_log();
    return PyLong_FromUnsignedLongLong(ticket);
}

/* _wait(ticket) -> the batch's events. */
static PyObject *engine_wait(EngineObject *self, PyObject *obj)
{
    if (!engine_ok(self))
        return NULL;
    if (!PyLong_Check(obj) || PyBool_Check(obj))
        return zcpy_invalid("ticket must be an int, got %s", Py_TYPE(obj)->tp_name);
    unsigned long long ticket = PyLong_AsUnsignedLongLong(obj);
    if (ticket == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return zcpy_invalid("ticket must be in [0, 2^64), got %R", obj);
    }
    zc_array *ev = NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_wait(self->eng, ticket, &ev);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    zcpy_flush_log();
    return records_view(ev, event_descr);
}

/* _submit_verified(orders, valid uint8[n]): the signature gate with verdicts. */
static PyObject *engine_submit_verified(EngineObject *self, PyObject *args)
{
    PyObject *obj, *vobj;
    if (!engine_ok(self) || !PyArg_ParseTuple(args, "OO", &obj, &vobj))
        return NULL;
    PyArrayObject *a = order_array(obj);
    if (!a)
        return NULL;
    PyArrayObject *v = zcpy_array_arg(vobj, NPY_UINT8, 1, 1, "valid");
    if (!v)
        return NULL;
    if (PyArray_DIM(v, 0) != PyArray_DIM(a, 0))
        return zcpy_invalid("valid must hold one verdict per order: %zd for %zd orders", PyArray_DIM(v, 0),
                            PyArray_DIM(a, 0));
    zc_array *ev = NULL;
    zc_status st;
    const zc_order *orders = PyArray_DATA(a);
    const uint8_t *valid = PyArray_DATA(v);
    size_t n = (size_t)PyArray_DIM(a, 0);
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_submit_verified(self->eng, orders, valid, n, &ev);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    zcpy_flush_log();
    return records_view(ev, event_descr);
}

/* _submit_signed(orders, pubkeys (k, 64), sigs (n, 64), flags, device) -> (events, device) */
static PyObject *engine_submit_signed(EngineObject *self, PyObject *args)
{
    PyObject *obj, *kobj, *sobj;
    unsigned int flags;
    int device;
    if (!engine_ok(self) || !PyArg_ParseTuple(args, "OOOIi", &obj, &kobj, &sobj, &flags, &device))
        return NULL;
    PyArrayObject *a = order_array(obj);
    PyArrayObject *k = a ? zcpy_rows_arg(kobj, NPY_UINT8, 64, "trader keys") : NULL;
    PyArrayObject *s = k ? zcpy_rows_arg(sobj, NPY_UINT8, 64, "signatures") : NULL;
    if (!s)
        return NULL;
    npy_intp n = PyArray_DIM(a, 0);
    if (PyArray_DIM(k, 0) > (npy_intp)UINT32_MAX)
        return zcpy_invalid("trader keys has %zd rows, at most %u", PyArray_DIM(k, 0), UINT32_MAX);
    if (PyArray_DIM(s, 0) != n)
        return zcpy_invalid("signatures must have one row per order: %zd for %zd orders", PyArray_DIM(s, 0), n);
    zc_array *ev = NULL;
    zc_status st;
    const zc_order *orders = PyArray_DATA(a);
    const uint8_t *keys = PyArray_DATA(k), *sigs = PyArray_DATA(s);
    uint32_t nkeys = (uint32_t)PyArray_DIM(k, 0);
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_submit_signed(self->eng, &device, keys, nkeys, orders, sigs, (size_t)n, flags, &ev);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    zcpy_flush_log();
    PyObject *events = records_view(ev, event_descr);
    return events ? Py_BuildValue("(Ni)", events, device) : NULL;
}

static int symbol_arg(PyObject *obj, uint32_t *out)
{
    unsigned long long v = PyLong_AsUnsignedLongLong(obj);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        zcpy_invalid("symbol must be a non-negative integer");
        return 0;
    }
    if (v > UINT32_MAX) {
        zcpy_invalid("symbol %llu is out of range", v);
        return 0;
    }
    *out = (uint32_t)v;
    return 1;
}

static PyObject *engine_depth(EngineObject *self, PyObject *args)
{
    PyObject *sym;
    Py_ssize_t levels;
    if (!engine_ok(self) || !PyArg_ParseTuple(args, "On", &sym, &levels))
        return NULL;
    uint32_t s;
    if (!symbol_arg(sym, &s))
        return NULL;
    if (levels < 0)
        return zcpy_invalid("levels must be >= 0, got %zd", levels);
    zc_array *bids, *asks;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_depth(self->eng, s, (size_t)levels, &bids, &asks);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    PyObject *b = records_view(bids, depth_descr);
    if (!b) {
        zc_array_release(asks);
        return NULL;
    }
    PyObject *a = records_view(asks, depth_descr);
    if (!a) {
        Py_DECREF(b);
        return NULL;
    }
    return Py_BuildValue("(NN)", b, a);
}

static PyObject *engine_book(EngineObject *self, PyObject *sym)
{
    uint32_t s;
    if (!engine_ok(self) || !symbol_arg(sym, &s))
        return NULL;
    zc_array *entries;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_book(self->eng, s, &entries);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    return records_view(entries, entry_descr);
}

static PyObject *engine_sync(EngineObject *self, PyObject *noargs)
{
    if (!engine_ok(self))
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_sync(self->eng);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    Py_RETURN_NONE;
}

static PyObject *engine_state_root(EngineObject *self, PyObject *noargs)
{
    if (!engine_ok(self))
        return NULL;
    uint8_t root[32];
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_state_root(self->eng, root);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    zcpy_flush_log();
    return PyBytes_FromStringAndSize((const char *)root, 32);
}

static PyObject *engine_set_mode(EngineObject *self, PyObject *args)
{
    PyObject *sym;
    int mode;
    if (!engine_ok(self) || !PyArg_ParseTuple(args, "Oi", &sym, &mode))
        return NULL;
    uint32_t s;
    if (!symbol_arg(sym, &s))
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_set_mode(self->eng, s, (zc_book_mode)mode);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    Py_RETURN_NONE;
}

static PyObject *engine_get_mode(EngineObject *self, PyObject *sym)
{
    uint32_t s;
    if (!engine_ok(self) || !symbol_arg(sym, &s))
        return NULL;
    zc_book_mode mode;
    zc_status st = zc_engine_get_mode(self->eng, s, &mode);
    if (st != ZC_OK)
        return zcpy_raise(st);
    return PyLong_FromLong(mode);
}

static PyObject *engine_uncross(EngineObject *self, PyObject *obj)
{
    if (!engine_ok(self))
        return NULL;
    PyArrayObject *a = (PyArrayObject *)PyArray_FROMANY(obj, NPY_UINT32, 1, 1, NPY_ARRAY_IN_ARRAY);
    if (!a)
        return NULL;
    zc_array *ev = NULL;
    zc_status st;
    const uint32_t *syms = PyArray_DATA(a);
    size_t k = (size_t)PyArray_DIM(a, 0);
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_uncross(self->eng, syms, k, &ev);
    Py_END_ALLOW_THREADS
    Py_DECREF(a);
    if (st != ZC_OK)
        return zcpy_raise(st);
    return records_view(ev, event_descr);
}

static PyObject *engine_info(EngineObject *self, PyObject *noargs)
{
    if (!engine_ok(self))
        return NULL;
    zc_engine_info i;
    zc_status st = zc_engine_info_get(self->eng, &i);
    if (st != ZC_OK)
        return zcpy_raise(st);
    return Py_BuildValue("{s:I,s:I,s:i,s:i,s:K,s:K,s:K}", "symbols", i.symbols, "capacity", i.capacity, "device",
                         i.device, "threads", i.threads, "next_seq", (unsigned long long)i.next_seq, "batches",
                         (unsigned long long)i.batches, "resting", (unsigned long long)i.resting);
}

static PyMethodDef engine_methods[] = {
    {"_submit", (PyCFunction)engine_submit, METH_O, "Match an ORDER_DTYPE array; returns its events."},
    {"_submit_async", (PyCFunction)engine_submit_async, METH_O,
     "Queue an ORDER_DTYPE array for matching; returns its ticket."},
    {"_wait", (PyCFunction)engine_wait, METH_O, "Events of an asynchronous batch, by ticket."},
    {"_submit_verified", (PyCFunction)engine_submit_verified, METH_VARARGS,
     "Match the orders whose verdict is non-zero; reject the others (bad signature)."},
    {"_submit_signed", (PyCFunction)engine_submit_signed, METH_VARARGS,
     "Verify the orders' signatures, then match the valid ones; returns (events, device)."},
    {"_depth", (PyCFunction)engine_depth, METH_VARARGS, "(bids, asks) of a symbol, best first."},
    {"_book", (PyCFunction)engine_book, METH_O, "Resting orders of a symbol in priority order."},
    {"_sync", (PyCFunction)engine_sync, METH_NOARGS, "Complete every outstanding asynchronous batch."},
    {"state_root", (PyCFunction)engine_state_root, METH_NOARGS, "Poseidon2 Merkle root of the resting orders."},
    {"_set_mode", (PyCFunction)engine_set_mode, METH_VARARGS, "Set a symbol's matching mode."},
    {"_get_mode", (PyCFunction)engine_get_mode, METH_O, "A symbol's matching mode."},
    {"_uncross", (PyCFunction)engine_uncross, METH_O, "Run the call auctions of some symbols."},
    {"info", (PyCFunction)engine_info, METH_NOARGS, "Engine counters as a dict."},
    {"close", (PyCFunction)engine_close, METH_NOARGS, "Release the books and close the journal."},
    {NULL},
};

static PyTypeObject EngineType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zkclob._zkclob._Engine",
    .tp_basicsize = sizeof(EngineObject),
    .tp_dealloc = (destructor)engine_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "C matching engine; use zkclob.Engine.",
    .tp_methods = engine_methods,
    .tp_init = (initproc)engine_init,
    .tp_new = PyType_GenericNew,
};

/* engine_replay(cls, path, device, threads, hash_seed) -> (engine, events) */
static PyObject *py_engine_replay(PyObject *mod, PyObject *args)
{
    PyTypeObject *cls;
    const char *path, *device;
    int threads;
    unsigned long long seed;
    if (!PyArg_ParseTuple(args, "O!ssiK", &PyType_Type, &cls, &path, &device, &threads, &seed))
        return NULL;
    if (!PyType_IsSubtype(cls, &EngineType))
        return zcpy_invalid("cls must be an Engine type");
    zc_engine_config run = {.device = device, .threads = threads, .hash_seed = seed};
    zc_engine *e = NULL;
    zc_array *ev = NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_replay(path, &run, &e, &ev);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    zcpy_flush_log();
    EngineObject *obj = (EngineObject *)cls->tp_alloc(cls, 0);
    if (!obj) {
        zc_engine_destroy(e);
        zc_array_release(ev);
        return NULL;
    }
    obj->eng = e;
    PyObject *events = records_view(ev, event_descr);
    if (!events) {
        Py_DECREF(obj);
        return NULL;
    }
    return Py_BuildValue("(NN)", obj, events);
}

static PyObject *py_journal_check(PyObject *mod, PyObject *arg)
{
    const char *path = PyUnicode_AsUTF8(arg);
    if (!path)
        return NULL;
    zc_journal_info i;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_journal_check(path, &i);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    zcpy_flush_log();
    return Py_BuildValue("{s:K,s:K,s:K,s:O,s:K,s:y#}", "records", (unsigned long long)i.records, "good_bytes",
                         (unsigned long long)i.good_bytes, "file_bytes", (unsigned long long)i.file_bytes, "torn",
                         i.torn ? Py_True : Py_False, "next_seq", (unsigned long long)i.next_seq, "head",
                         (const char *)i.head, (Py_ssize_t)32);
}

static PyObject *py_crc32c(PyObject *mod, PyObject *args)
{
    Py_buffer b;
    unsigned int crc = 0;
    if (!PyArg_ParseTuple(args, "y*|I", &b, &crc))
        return NULL;
    uint32_t r = zc_crc32c(crc, b.buf, (size_t)b.len);
    PyBuffer_Release(&b);
    return PyLong_FromUnsignedLong(r);
}

static PyMethodDef book_functions[] = {
    {"engine_replay", py_engine_replay, METH_VARARGS, "engine_replay(cls, path, device, threads, hash_seed)."},
    {"journal_check", py_journal_check, METH_O, "Scan a journal without changing it."},
    {"crc32c", py_crc32c, METH_VARARGS, "crc32c(data, crc=0): CRC32C, chainable."},
    {NULL},
};

static int add_constants(PyObject *m)
{
    static const struct {
        const char *name;
        long value;
    } c[] = {
        {"SIDE_BUY", ZC_SIDE_BUY},
        {"SIDE_SELL", ZC_SIDE_SELL},
        {"ORDER_LIMIT", ZC_ORDER_LIMIT},
        {"ORDER_MARKET", ZC_ORDER_MARKET},
        {"ORDER_CANCEL", ZC_ORDER_CANCEL},
        {"ORDER_MODIFY", ZC_ORDER_MODIFY},
        {"TIF_GTC", ZC_TIF_GTC},
        {"TIF_IOC", ZC_TIF_IOC},
        {"TIF_FOK", ZC_TIF_FOK},
        {"TIF_POST_ONLY", ZC_TIF_POST_ONLY},
        {"STP_NONE", ZC_STP_NONE},
        {"STP_CANCEL_NEWEST", ZC_STP_CANCEL_NEWEST},
        {"STP_CANCEL_OLDEST", ZC_STP_CANCEL_OLDEST},
        {"STP_CANCEL_BOTH", ZC_STP_CANCEL_BOTH},
        {"EVENT_ACK", ZC_EVENT_ACK},
        {"EVENT_FILL", ZC_EVENT_FILL},
        {"EVENT_CANCEL", ZC_EVENT_CANCEL},
        {"EVENT_REJECT", ZC_EVENT_REJECT},
        {"EVENT_EXPIRE", ZC_EVENT_EXPIRE},
        {"REASON_NONE", ZC_REASON_NONE},
        {"REASON_UNKNOWN_SYMBOL", ZC_REASON_UNKNOWN_SYMBOL},
        {"REASON_BAD_TYPE", ZC_REASON_BAD_TYPE},
        {"REASON_BAD_SIDE", ZC_REASON_BAD_SIDE},
        {"REASON_BAD_TIF", ZC_REASON_BAD_TIF},
        {"REASON_BAD_STP", ZC_REASON_BAD_STP},
        {"REASON_BAD_QTY", ZC_REASON_BAD_QTY},
        {"REASON_LOT", ZC_REASON_LOT},
        {"REASON_TICK", ZC_REASON_TICK},
        {"REASON_BAND", ZC_REASON_BAND},
        {"REASON_TIF_FOR_TYPE", ZC_REASON_TIF_FOR_TYPE},
        {"REASON_CALL_PHASE", ZC_REASON_CALL_PHASE},
        {"REASON_DUPLICATE_ID", ZC_REASON_DUPLICATE_ID},
        {"REASON_UNKNOWN_ID", ZC_REASON_UNKNOWN_ID},
        {"REASON_NOT_OWNER", ZC_REASON_NOT_OWNER},
        {"REASON_POST_ONLY", ZC_REASON_POST_ONLY},
        {"REASON_CAPACITY", ZC_REASON_CAPACITY},
        {"REASON_STP", ZC_REASON_STP},
        {"REASON_BAD_SIGNATURE", ZC_REASON_BAD_SIGNATURE},
        {"REASON_RISK_LIMIT", ZC_REASON_RISK_LIMIT},
        {"MODE_CONTINUOUS", ZC_MODE_CONTINUOUS},
        {"MODE_AUCTION", ZC_MODE_AUCTION},
        {"FSYNC_NONE", ZC_FSYNC_NONE},
        {"FSYNC_BATCH", ZC_FSYNC_BATCH},
        {"FSYNC_EVERY", ZC_FSYNC_EVERY},
        {"BOOK_MAX_CAPACITY", ZC_BOOK_MAX_CAPACITY},
        {"BOOK_LEAF_ELEMS", ZC_BOOK_LEAF_ELEMS},
    };
    PyObject *d = PyDict_New();
    if (!d)
        return -1;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        PyObject *v = PyLong_FromLong(c[i].value);
        if (!v || PyDict_SetItemString(d, c[i].name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return -1;
        }
        Py_DECREF(v);
    }
    PyObject *big = Py_BuildValue("{s:L,s:L}", "BOOK_MAX_QTY", (long long)ZC_BOOK_MAX_QTY, "BOOK_MAX_PRICE",
                                  (long long)ZC_BOOK_MAX_PRICE);
    if (!big || PyDict_Update(d, big) < 0) {
        Py_XDECREF(big);
        Py_DECREF(d);
        return -1;
    }
    Py_DECREF(big);
    int r = PyModule_AddObjectRef(m, "BOOK_CONSTANTS", d);
    Py_DECREF(d);
    return r;
}

int zcpy_book_init(PyObject *m)
{
    static const char *const order_fields[][2] = {
        {"id", "<u8"}, {"trader", "<u4"}, {"symbol", "<u4"}, {"side", "u1"}, {"type", "u1"},
        {"tif", "u1"}, {"stp", "u1"},     {"price", "<i8"},  {"qty", "<i8"}, {"ts", "<u8"}};
    static const char *const event_fields[][2] = {
        {"seq", "<u8"},   {"kind", "u1"}, {"symbol", "<u4"},    {"order_id", "<u8"}, {"maker_id", "<u8"},
        {"price", "<i8"}, {"qty", "<i8"}, {"remaining", "<i8"}, {"reason", "<u2"}};
    static const char *const depth_fields[][2] = {{"price", "<i8"}, {"qty", "<i8"}, {"count", "<u4"}};
    static const char *const entry_fields[][2] = {{"id", "<u8"},    {"trader", "<u4"}, {"slot", "<u4"},
                                                  {"side", "u1"},   {"tif", "u1"},     {"stp", "u1"},
                                                  {"price", "<i8"}, {"qty", "<i8"},    {"seq", "<u8"}};
    order_descr = make_descr(order_fields, 10, sizeof(zc_order));
    event_descr = order_descr ? make_descr(event_fields, 9, sizeof(zc_event)) : NULL;
    depth_descr = event_descr ? make_descr(depth_fields, 3, sizeof(zc_depth_level)) : NULL;
    entry_descr = depth_descr ? make_descr(entry_fields, 9, sizeof(zc_book_entry)) : NULL;
    if (!entry_descr || PyType_Ready(&EngineType) < 0 ||
        PyModule_AddObjectRef(m, "ORDER_DTYPE", (PyObject *)order_descr) < 0 ||
        PyModule_AddObjectRef(m, "EVENT_DTYPE", (PyObject *)event_descr) < 0 ||
        PyModule_AddObjectRef(m, "DEPTH_DTYPE", (PyObject *)depth_descr) < 0 ||
        PyModule_AddObjectRef(m, "BOOK_DTYPE", (PyObject *)entry_descr) < 0 ||
        PyModule_AddObjectRef(m, "_Engine", (PyObject *)&EngineType) < 0 || add_constants(m) < 0 ||
        PyModule_AddFunctions(m, book_functions) < 0)
        return -1;
    return 0;
}
