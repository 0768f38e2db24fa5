/* _zkclob: the _PositionTracker and _CorrelationTracker types wrapped by
 * python/zkclob/risk.py, which checks and converts the arguments. State
 * arrays of the position tracker are NumPy views of the tracker's own
 * memory (read-only, the tracker object as their base); alerts and
 * correlation matrices are new arrays. */
#include "ext.h"

#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL zkclob_ARRAY_API
#include <numpy/arrayobject.h>

#include "args.h"

/* A new uint8 array holding a copy of k records. */
static PyObject *records_copy(const void *data, size_t k, size_t size)
{
    npy_intp dim = (npy_intp)(k * size);
    PyObject *a = PyArray_SimpleNew(1, &dim, NPY_UINT8);
    if (a && dim)
        memcpy(PyArray_DATA((PyArrayObject *)a), data, (size_t)dim);
    return a;
}

/* ---- positions ---- */

typedef struct {
    PyObject_HEAD
    zc_position_tracker *t;
} PositionObject;

static int position_init(PositionObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"traders", "symbols", NULL};
    unsigned int traders, symbols;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "II", kwlist, &traders, &symbols))
        return -1;
    if (self->t) {
        zcpy_invalid("the tracker is already initialised");
        return -1;
    }
    zc_status st = zc_position_create(traders, symbols, &self->t);
    if (st != ZC_OK) {
        zcpy_raise(st);
        return -1;
    }
    return 0;
}

static void position_dealloc(PositionObject *self)
{
    zc_position_destroy(self->t);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int position_ok(PositionObject *self)
{
    if (!self->t) {
        zcpy_invalid("the tracker is not initialised");
        return 0;
    }
    return 1;
}

static PyObject *last_alerts(PositionObject *self)
{
    const zc_position_alert *al;
    size_t k;
    CHECK(zc_position_alerts(self->t, &al, &k));
    return records_copy(al, k, sizeof *al);
}

/* _set_limits(first, max_position int64[k], max_notional f8[k], max_loss f8[k]) */
static PyObject *position_set_limits(PositionObject *self, PyObject *args)
{
    unsigned int first;
    PyObject *po, *no, *lo;
    if (!position_ok(self) || !PyArg_ParseTuple(args, "IOOO", &first, &po, &no, &lo))
        return NULL;
    PyArrayObject *p = zcpy_array_arg(po, NPY_INT64, 1, 1, "max_position");
    PyArrayObject *n = p ? zcpy_array_arg(no, NPY_FLOAT64, 1, 1, "max_notional") : NULL;
    PyArrayObject *l = n ? zcpy_array_arg(lo, NPY_FLOAT64, 1, 1, "max_loss") : NULL;
    if (!l)
        return NULL;
    npy_intp k = PyArray_DIM(p, 0);
    if (PyArray_DIM(n, 0) != k || PyArray_DIM(l, 0) != k)
        return zcpy_invalid("limit arrays must have the same length");
    zc_position_limits *lim = PyMem_Malloc((size_t)(k ? k : 1) * sizeof *lim);
    if (!lim)
        return PyErr_NoMemory();
    const int64_t *pp = PyArray_DATA(p);
    const double *pn = PyArray_DATA(n), *pl = PyArray_DATA(l);
    for (npy_intp i = 0; i < k; i++)
        lim[i] = (zc_position_limits){pp[i], pn[i], pl[i]};
    zc_status st = zc_position_set_limits(self->t, first, (uint32_t)k, lim);
    PyMem_Free(lim);
    CHECK(st);
    Py_RETURN_NONE;
}

/* _update(orders, events): orders ORDER_DTYPE (may be empty: an uncross),
 * events EVENT_DTYPE; returns the alerts as uint8 records. */
static PyObject *position_update(PositionObject *self, PyObject *args)
{
    PyObject *oo, *eo;
    if (!position_ok(self) || !PyArg_ParseTuple(args, "OO", &oo, &eo))
        return NULL;
    PyArrayObject *o = zcpy_records_arg(oo, sizeof(zc_order), "orders");
    PyArrayObject *e = o ? zcpy_records_arg(eo, sizeof(zc_event), "events") : NULL;
    if (!e)
        return NULL;
    size_t n = (size_t)PyArray_DIM(o, 0), m = (size_t)PyArray_DIM(e, 0);
    const zc_event *ev = PyArray_DATA(e);
    uint64_t seq0 = n && m ? ev[0].seq : 0;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_position_update(self->t, PyArray_DATA(o), n, seq0, ev, m);
    Py_END_ALLOW_THREADS
    CHECK(st);
    return last_alerts(self);
}

static PyObject *position_mark(PositionObject *self, PyObject *obj)
{
    if (!position_ok(self))
        return NULL;
    PyArrayObject *p = zcpy_array_arg(obj, NPY_FLOAT64, 1, 1, "prices");
    if (!p)
        return NULL;
    CHECK(zc_position_mark(self->t, PyArray_DATA(p), (size_t)PyArray_DIM(p, 0)));
    return last_alerts(self);
}

static PyObject *position_pretrade(PositionObject *self, PyObject *obj)
{
    if (!position_ok(self))
        return NULL;
    PyArrayObject *o = zcpy_records_arg(obj, sizeof(zc_order), "orders");
    if (!o)
        return NULL;
    npy_intp n = PyArray_DIM(o, 0);
    PyObject *r = PyArray_SimpleNew(1, &n, NPY_UINT16);
    if (!r)
        return NULL;
    zc_status st = zc_position_pretrade(self->t, PyArray_DATA(o), (size_t)n, PyArray_DATA((PyArrayObject *)r));
    if (st != ZC_OK) {
        Py_DECREF(r);
        return zcpy_raise(st);
    }
    return r;
}

/* _submit(engine, orders, valid or None) -> events as uint8 records */
static PyObject *position_submit(PositionObject *self, PyObject *args)
{
    PyObject *eng_obj, *oo, *vo;
    if (!position_ok(self) || !PyArg_ParseTuple(args, "OOO", &eng_obj, &oo, &vo))
        return NULL;
    zc_engine *eng = zcpy_engine_of(eng_obj);
    PyArrayObject *o = eng ? zcpy_records_arg(oo, sizeof(zc_order), "orders") : NULL;
    if (!o)
        return NULL;
    const uint8_t *valid = NULL;
    if (vo != Py_None) {
        PyArrayObject *v = zcpy_array_arg(vo, NPY_UINT8, 1, 1, "valid");
        if (!v)
            return NULL;
        if (PyArray_DIM(v, 0) != PyArray_DIM(o, 0))
            return zcpy_invalid("valid must have one entry per order");
        valid = PyArray_DATA(v);
    }
    zc_array *ev = NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_engine_submit_checked(eng, self->t, PyArray_DATA(o), valid, (size_t)PyArray_DIM(o, 0), &ev);
    Py_END_ALLOW_THREADS
    CHECK(st);
    zcpy_flush_log();
    return zcpy_array_from(ev);
}

/* _view(field) -> read-only view of the tracker's array (1-D; risk.py reshapes). */
static PyObject *position_view(PositionObject *self, PyObject *obj)
{
    if (!position_ok(self))
        return NULL;
    long field = PyLong_AsLong(obj);
    if (field == -1 && PyErr_Occurred())
        return NULL;
    void *data;
    size_t count;
    CHECK(zc_position_view(self->t, (zc_position_field)field, &data, &count));
    int type = field == ZC_POS_POSITION || field == ZC_POS_OPEN_BUY || field == ZC_POS_OPEN_SELL ? NPY_INT64
                                                                                                 : NPY_FLOAT64;
    npy_intp dim = (npy_intp)count;
    PyObject *a = PyArray_New(&PyArray_Type, 1, &dim, type, NULL, data, 0, NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED,
                              NULL);
    if (!a)
        return NULL;
    Py_INCREF(self);
    if (PyArray_SetBaseObject((PyArrayObject *)a, (PyObject *)self) < 0) {
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

static PyObject *position_info(PositionObject *self, PyObject *noargs)
{
    (void)noargs;
    if (!position_ok(self))
        return NULL;
    zc_position_info i;
    CHECK(zc_position_info_get(self->t, &i));
    return Py_BuildValue("{s:I,s:I,s:K,s:K,s:K,s:K}", "traders", i.traders, "symbols", i.symbols, "fills",
                         (unsigned long long)i.fills, "unknown_fills", (unsigned long long)i.unknown_fills,
                         "open_orders", (unsigned long long)i.open_orders, "alerts", (unsigned long long)i.alerts);
}

static PyMethodDef position_methods[] = {
    {"_set_limits", (PyCFunction)position_set_limits, METH_VARARGS, "Set the limits of a range of traders."},
    {"_update", (PyCFunction)position_update, METH_VARARGS, "Apply a batch of orders and events."},
    {"_mark", (PyCFunction)position_mark, METH_O, "Mark every symbol to a price."},
    {"_pretrade", (PyCFunction)position_pretrade, METH_O, "Pre-trade reasons of a batch."},
    {"_submit", (PyCFunction)position_submit, METH_VARARGS, "Submit through the pre-trade gate."},
    {"_view", (PyCFunction)position_view, METH_O, "A state array of the tracker, without copying."},
    {"info", (PyCFunction)position_info, METH_NOARGS, "Tracker counters as a dict."},
    {NULL},
};

static PyTypeObject PositionType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zkclob._zkclob._PositionTracker",
    .tp_basicsize = sizeof(PositionObject),
    .tp_dealloc = (destructor)position_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "C position tracker; use zkclob.risk.PositionTracker.",
    .tp_methods = position_methods,
    .tp_init = (initproc)position_init,
    .tp_new = PyType_GenericNew,
};

/* ---- correlation ---- */

typedef struct {
    PyObject_HEAD
    zc_corr_tracker *t;
    uint32_t n;
} CorrObject;

static int corr_init(CorrObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"n", "alpha", "window", "short_window", "fpr", "eig_shift", "refresh", "threads", NULL};
    zc_corr_config c = {0};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "IdIIddIi", kwlist, &c.n, &c.alpha, &c.window, &c.short_window,
                                     &c.fpr, &c.eig_shift, &c.refresh, &c.threads))
        return -1;
    if (self->t) {
        zcpy_invalid("the tracker is already initialised");
        return -1;
    }
    zc_status st = zc_corr_create(&c, &self->t);
    if (st != ZC_OK) {
        zcpy_raise(st);
        return -1;
    }
    self->n = c.n;
    return 0;
}

static void corr_dealloc(CorrObject *self)
{
    zc_corr_destroy(self->t);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int corr_ok(CorrObject *self)
{
    if (!self->t) {
        zcpy_invalid("the tracker is not initialised");
        return 0;
    }
    return 1;
}

/* _update(x): float64 (rows, n), C-contiguous */
static PyObject *corr_update(CorrObject *self, PyObject *obj)
{
    if (!corr_ok(self))
        return NULL;
    PyArrayObject *x = zcpy_array_arg(obj, NPY_FLOAT64, 2, 2, "x");
    if (!x)
        return NULL;
    zc_status st;
    const double *data = PyArray_DATA(x);
    size_t rows = (size_t)PyArray_DIM(x, 0), n = (size_t)PyArray_DIM(x, 1);
    Py_BEGIN_ALLOW_THREADS
    st = zc_corr_update(self->t, data, rows, n);
    Py_END_ALLOW_THREADS
    CHECK(st);
    Py_RETURN_NONE;
}

/* _matrix(kind, cov) -> new (n, n) float64 */
static PyObject *corr_matrix(CorrObject *self, PyObject *args)
{
    int kind, cov;
    if (!corr_ok(self) || !PyArg_ParseTuple(args, "ip", &kind, &cov))
        return NULL;
    npy_intp dims[2] = {self->n, self->n};
    PyObject *a = PyArray_SimpleNew(2, dims, NPY_FLOAT64);
    if (!a)
        return NULL;
    zc_status st = zc_corr_matrix(self->t, (zc_corr_kind)kind, cov, PyArray_DATA((PyArrayObject *)a));
    if (st != ZC_OK) {
        Py_DECREF(a);
        return zcpy_raise(st);
    }
    return a;
}

static PyObject *corr_count(CorrObject *self, PyObject *noargs)
{
    (void)noargs;
    if (!corr_ok(self))
        return NULL;
    uint64_t c;
    CHECK(zc_corr_count(self->t, &c));
    return PyLong_FromUnsignedLongLong(c);
}

/* _detect() -> (dict, pair records as uint8) */
static PyObject *corr_detect(CorrObject *self, PyObject *noargs)
{
    (void)noargs;
    if (!corr_ok(self))
        return NULL;
    size_t cap = (size_t)self->n * (self->n - 1) / 2;
    zc_corr_pair_alert *pairs = PyMem_Malloc(cap * sizeof *pairs);
    if (!pairs)
        return PyErr_NoMemory();
    zc_corr_breakdown b;
    zc_status st = zc_corr_detect(self->t, &b, pairs, cap);
    if (st != ZC_OK) {
        PyMem_Free(pairs);
        return zcpy_raise(st);
    }
    PyObject *rec = records_copy(pairs, b.pairs, sizeof *pairs);
    PyMem_Free(pairs);
    if (!rec)
        return NULL;
    return Py_BuildValue("({s:O,s:O,s:K,s:d,s:d,s:d,s:d,s:d,s:d,s:O},N)", "ready", b.ready ? Py_True : Py_False,
                         "alert", b.alert ? Py_True : Py_False, "count", (unsigned long long)b.count, "threshold",
                         b.threshold, "max_abs_z", b.max_abs_z, "eig_short", b.eig_short, "eig_ref", b.eig_ref,
                         "eig_z", b.eig_z, "eig_threshold", b.eig_threshold, "eig_alert",
                         b.eig_alert ? Py_True : Py_False, rec);
}

static PyMethodDef corr_methods[] = {
    {"_update", (PyCFunction)corr_update, METH_O, "Add observations (rows, n)."},
    {"_matrix", (PyCFunction)corr_matrix, METH_VARARGS, "Correlation or covariance of a kind."},
    {"_count", (PyCFunction)corr_count, METH_NOARGS, "Observations so far."},
    {"_detect", (PyCFunction)corr_detect, METH_NOARGS, "Run the breakdown test."},
    {NULL},
};

static PyTypeObject CorrType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zkclob._zkclob._CorrelationTracker",
    .tp_basicsize = sizeof(CorrObject),
    .tp_dealloc = (destructor)corr_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "C correlation tracker; use zkclob.risk.CorrelationTracker.",
    .tp_methods = corr_methods,
    .tp_init = (initproc)corr_init,
    .tp_new = PyType_GenericNew,
};

int zcpy_risk_tracker_init(PyObject *m)
{
    if (PyType_Ready(&PositionType) < 0 || PyType_Ready(&CorrType) < 0 ||
        PyModule_AddObjectRef(m, "_PositionTracker", (PyObject *)&PositionType) < 0 ||
        PyModule_AddObjectRef(m, "_CorrelationTracker", (PyObject *)&CorrType) < 0)
        return -1;
    return 0;
}
