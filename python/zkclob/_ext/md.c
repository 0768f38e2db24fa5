/* Market data for zkclob.md: technical indicators (batch and streaming), L2
 * books and order flow. md.py converts and checks arrays; here they must be
 * C-contiguous, aligned and of the expected dtype. Results are engine-owned
 * arrays viewed by NumPy without copying (record results as uint8 rows that
 * md.py views with their record dtype). */
#include <string.h>

#include "ext.h"

#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL zkclob_ARRAY_API
#include <numpy/arrayobject.h>

#include "args.h"

/* *out = obj as a C-contiguous aligned array of `type` (borrowed), NULL for
 * None; -1 with InvalidArgumentError for anything else. */
static int typed_array(PyObject *obj, int type, const char *name, PyArrayObject **out)
{
    *out = NULL;
    if (obj == Py_None)
        return 0;
    *out = zcpy_array_arg(obj, type, 0, NPY_MAXDIMS, name);
    return *out ? 0 : -1;
}

static const double *f64_data(PyArrayObject *a) { return a ? (const double *)PyArray_DATA(a) : NULL; }

/* Four price/volume inputs of one shape (rows x cols); None where unused. */
static int price_inputs(PyObject *objs[4], const char *const names[4], size_t *rows, size_t *cols,
                        const double *data[4])
{
    int have = 0;
    for (int i = 0; i < 4; i++) {
        PyArrayObject *a;
        if (typed_array(objs[i], NPY_FLOAT64, names[i], &a) < 0)
            return -1;
        data[i] = f64_data(a);
        if (!a)
            continue;
        int nd = PyArray_NDIM(a);
        size_t r = nd == 2 ? (size_t)PyArray_DIM(a, 0) : 1;
        size_t c = nd == 2 ? (size_t)PyArray_DIM(a, 1) : (nd == 1 ? (size_t)PyArray_DIM(a, 0) : 0);
        if (nd < 1 || nd > 2) {
            zcpy_invalid("%s must be 1-D or 2-D, got %d dimensions", names[i], nd);
            return -1;
        }
        if (have && (r != *rows || c != *cols)) {
            zcpy_invalid("%s has shape (%zu, %zu), expected (%zu, %zu)", names[i], r, c, *rows, *cols);
            return -1;
        }
        *rows = r;
        *cols = c;
        have = 1;
    }
    if (!have) {
        zcpy_invalid("no input array given");
        return -1;
    }
    return 0;
}

static const char *const price_names[4] = {"high", "low", "close", "volume"};

/* indicator(kind, p0, p1, p2, d0, d1, device, high, low, close, volume)
 * -> (tuple of (nsym, ntime) arrays, device) */
static PyObject *py_indicator(PyObject *self, PyObject *args)
{
    zc_md_indicator ind;
    int kind, device;
    PyObject *objs[4];
    if (!PyArg_ParseTuple(args, "iiiiddiOOOO", &kind, &ind.period[0], &ind.period[1], &ind.period[2],
                          &ind.param[0], &ind.param[1], &device, &objs[0], &objs[1], &objs[2], &objs[3]))
        return NULL;
    ind.kind = (zc_md_kind)kind;
    CHECK(zc_md_indicator_check(&ind));
    size_t rows = 0, cols = 0;
    const double *in[4];
    if (price_inputs(objs, price_names, &rows, &cols, in) < 0)
        return NULL;
    int nout = zc_md_indicator_outputs(&ind);
    zc_array *arr[3] = {NULL, NULL, NULL};
    double *out[3] = {NULL, NULL, NULL};
    size_t shape[2] = {rows, cols};
    zc_status st = ZC_OK;
    for (int q = 0; q < nout && st == ZC_OK; q++) {
        st = zc_array_new(ZC_DTYPE_F64, 2, shape, &arr[q]);
        if (st == ZC_OK)
            out[q] = zc_array_data(arr[q]);
    }
    if (st == ZC_OK) {
        Py_BEGIN_ALLOW_THREADS
        st = zc_md_indicator_batch(&device, &ind, rows, cols, in[0], in[1], in[2], in[3], out);
        Py_END_ALLOW_THREADS
    }
    if (st != ZC_OK) {
        for (int q = 0; q < 3; q++)
            zc_array_release(arr[q]);
        return zcpy_raise(st);
    }
    zcpy_flush_log();
    PyObject *tuple = PyTuple_New(nout);
    for (int q = 0; q < nout; q++) {
        PyObject *a = tuple ? zcpy_array_from(arr[q]) : NULL;
        if (!tuple)
            zc_array_release(arr[q]);
        else if (!a) {
            for (int r = q + 1; r < nout; r++)
                zc_array_release(arr[r]);
            Py_DECREF(tuple);
            return NULL;
        } else {
            PyTuple_SET_ITEM(tuple, q, a);
        }
    }
    if (!tuple)
        return NULL;
    return Py_BuildValue("(Ni)", tuple, device);
}

/* Parses a sequence of (kind, p0, p1, p2, d0, d1) into inds (PyMem); -1 on error. */
static int parse_specs(PyObject *specs, zc_md_indicator **inds, Py_ssize_t *n)
{
    PyObject *seq = PySequence_Fast(specs, "specs must be a sequence");
    if (!seq)
        return -1;
    *n = PySequence_Fast_GET_SIZE(seq);
    *inds = PyMem_Calloc(*n ? (size_t)*n : 1, sizeof **inds);
    if (!*inds) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < *n; i++) {
        int kind;
        zc_md_indicator *d = &(*inds)[i];
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "iiiidd", &kind, &d->period[0], &d->period[1],
                              &d->period[2], &d->param[0], &d->param[1])) {
            Py_DECREF(seq);
            PyMem_Free(*inds);
            *inds = NULL;
            return -1;
        }
        d->kind = (zc_md_kind)kind;
    }
    Py_DECREF(seq);
    return 0;
}

/* md_indicators(specs, device, high, low, close, volume[, out]) -> ((columns, nsym, ntime), device); out, when
 * given (not None), is a writable (columns, nsym, ntime) float64 array filled in place and returned. */
static PyObject *py_indicators(PyObject *self, PyObject *args)
{
    PyObject *specs, *objs[4], *out_obj = Py_None;
    int device;
    if (!PyArg_ParseTuple(args, "OiOOOO|O", &specs, &device, &objs[0], &objs[1], &objs[2], &objs[3], &out_obj))
        return NULL;
    PyArrayObject *out_arr;
    if (typed_array(out_obj, NPY_FLOAT64, "out", &out_arr) < 0)
        return NULL;
    if (out_arr && !PyArray_ISWRITEABLE(out_arr))
        return zcpy_invalid("out must be writable");
    zc_md_indicator *inds;
    Py_ssize_t n;
    if (parse_specs(specs, &inds, &n) < 0)
        return NULL;
    size_t rows = 0, cols = 0, columns = 0;
    const double *in[4];
    zc_status st = ZC_OK;
    for (Py_ssize_t i = 0; i < n && st == ZC_OK; i++) {
        st = zc_md_indicator_check(&inds[i]);
        if (st == ZC_OK)
            columns += (size_t)zc_md_indicator_outputs(&inds[i]);
    }
    if (st != ZC_OK || price_inputs(objs, price_names, &rows, &cols, in) < 0) {
        PyMem_Free(inds);
        return st != ZC_OK ? zcpy_raise(st) : NULL;
    }
    size_t shape[3] = {columns, rows, cols};
    if (out_arr && (PyArray_NDIM(out_arr) != 3 || (size_t)PyArray_DIM(out_arr, 0) != columns ||
                    (size_t)PyArray_DIM(out_arr, 1) != rows || (size_t)PyArray_DIM(out_arr, 2) != cols)) {
        PyMem_Free(inds);
        return zcpy_invalid("out must have shape (%zu, %zu, %zu)", columns, rows, cols);
    }
    zc_array *arr = NULL;
    double *dst = NULL;
    if (out_arr) {
        dst = PyArray_DATA(out_arr);
    } else {
        st = zc_array_new(ZC_DTYPE_F64, 3, shape, &arr);
        if (st == ZC_OK)
            dst = zc_array_data(arr);
    }
    if (st == ZC_OK) {
        Py_BEGIN_ALLOW_THREADS
        st = zc_md_indicators_batch(&device, inds, (int)n, rows, cols, in[0], in[1], in[2], in[3], dst);
        Py_END_ALLOW_THREADS
    }
    PyMem_Free(inds);
    if (st != ZC_OK) {
        zc_array_release(arr);
        return zcpy_raise(st);
    }
    zcpy_flush_log();
    if (out_arr)
        return Py_BuildValue("(Oi)", (PyObject *)out_arr, device);
    PyObject *a = zcpy_array_from(arr);
    return a ? Py_BuildValue("(Ni)", a, device) : NULL;
}

/* ---- Stream: streaming indicator state ---- */

typedef struct {
    PyObject_HEAD
    zc_md_stream *s;
    size_t nsym;
    double *scratch; /* contiguous copies of strided inputs (PyMem), reused between calls */
    size_t scratch_len;
} StreamObject;

static void stream_dealloc(StreamObject *self)
{
    zc_md_stream_destroy(self->s);
    PyMem_Free(self->scratch);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Stream(nsym, specs): specs is a sequence of (kind, p0, p1, p2, d0, d1). */
static int stream_init(StreamObject *self, PyObject *args, PyObject *kwargs)
{
    Py_ssize_t nsym;
    PyObject *specs;
    if (!PyArg_ParseTuple(args, "nO", &nsym, &specs))
        return -1;
    if (nsym <= 0) {
        zcpy_invalid("nsym must be positive, got %zd", nsym);
        return -1;
    }
    zc_md_indicator *inds;
    Py_ssize_t n;
    if (parse_specs(specs, &inds, &n) < 0)
        return -1;
    int rc = 0;
    zc_md_stream *s = NULL;
    if (rc == 0) {
        zc_status st = zc_md_stream_create((size_t)nsym, inds, (int)n, &s);
        if (st != ZC_OK) {
            zcpy_raise(st);
            rc = -1;
        }
    }
    PyMem_Free(inds);
    if (rc == 0) {
        zc_md_stream_destroy(self->s);
        self->s = s;
        self->nsym = (size_t)nsym;
    }
    return rc;
}

static int stream_ready(StreamObject *self)
{
    if (self->s)
        return 0;
    PyErr_SetString(PyExc_RuntimeError, "Stream is not initialised");
    return -1;
}

/* The stream's inputs as contiguous (nsym x nbars) data: each read input must
 * be a native float64 array of shape (nsym,) (one bar) or (nsym, nbars), all
 * of one shape; strided ones (a column of a history, c[:, t]) are gathered
 * into the stream's scratch. Inputs the stream does not read are ignored.
 * *one: the inputs are 1-D. */
static int stream_inputs_of(StreamObject *self, PyObject *objs[4], const double *in[4], size_t *nbars, int *one)
{
    unsigned need = zc_md_stream_inputs(self->s);
    PyArrayObject *arr[4] = {NULL, NULL, NULL, NULL};
    npy_intp shape[2] = {0, 0};
    int nd = 0;
    for (int i = 0; i < 4; i++) {
        in[i] = NULL;
        if (!(need & (1u << i)))
            continue;
        if (objs[i] == Py_None) {
            zcpy_invalid("these indicators need %s", price_names[i]);
            return -1;
        }
        if (!PyArray_Check(objs[i])) {
            zcpy_invalid("%s must be a NumPy array, got %s", price_names[i], Py_TYPE(objs[i])->tp_name);
            return -1;
        }
        PyArrayObject *a = (PyArrayObject *)objs[i];
        if (PyArray_TYPE(a) != NPY_FLOAT64 || !PyArray_ISNOTSWAPPED(a)) {
            zcpy_invalid("%s must have dtype float64, got %S", price_names[i], (PyObject *)PyArray_DESCR(a));
            return -1;
        }
        int d = PyArray_NDIM(a);
        if (d < 1 || d > 2) {
            zcpy_invalid("%s must be 1-D or 2-D, got %d dimensions", price_names[i], d);
            return -1;
        }
        npy_intp s0 = PyArray_DIM(a, 0), s1 = d == 2 ? PyArray_DIM(a, 1) : 1;
        if (nd && (d != nd || s0 != shape[0] || s1 != shape[1])) {
            zcpy_invalid("%s has another shape than the other inputs", price_names[i]);
            return -1;
        }
        nd = d;
        shape[0] = s0;
        shape[1] = s1;
        arr[i] = a;
    }
    if (!nd) {
        zcpy_invalid("no input array given");
        return -1;
    }
    if ((size_t)shape[0] != self->nsym) {
        zcpy_invalid("inputs have %zd symbols, the stream has %zu", (Py_ssize_t)shape[0], self->nsym);
        return -1;
    }
    size_t per = (size_t)shape[0] * (size_t)shape[1], used = 0;
    for (int i = 0; i < 4; i++)
        if (arr[i] && !(PyArray_IS_C_CONTIGUOUS(arr[i]) && PyArray_ISALIGNED(arr[i])))
            used += per;
    if (used > self->scratch_len) {
        double *grown = PyMem_Realloc(self->scratch, used * sizeof(double));
        if (!grown) {
            PyErr_NoMemory();
            return -1;
        }
        self->scratch = grown;
        self->scratch_len = used;
    }
    used = 0;
    for (int i = 0; i < 4; i++) {
        if (!arr[i])
            continue;
        if (PyArray_IS_C_CONTIGUOUS(arr[i]) && PyArray_ISALIGNED(arr[i])) {
            in[i] = PyArray_DATA(arr[i]);
            continue;
        }
        double *dst = self->scratch + used;
        const char *base = PyArray_BYTES(arr[i]);
        npy_intp st0 = PyArray_STRIDE(arr[i], 0), st1 = nd == 2 ? PyArray_STRIDE(arr[i], 1) : 0;
        for (npy_intp r = 0; r < shape[0]; r++)
            for (npy_intp c = 0; c < shape[1]; c++)
                memcpy(&dst[(size_t)r * (size_t)shape[1] + (size_t)c], base + r * st0 + c * st1, sizeof(double));
        in[i] = dst;
        used += per;
    }
    *nbars = (size_t)shape[1];
    *one = nd == 1;
    return 0;
}

/* update(high, low, close, volume[, out]): arrays of shape (nsym,) for one bar
 * -> (columns, nsym), or (nsym, nbars) -> (columns, nsym, nbars). out, when
 * given (not None), is a writable C-contiguous float64 array of the result's
 * shape, filled in place and returned. */
static PyObject *stream_update(StreamObject *self, PyObject *args)
{
    PyObject *objs[4], *out_obj = Py_None;
    if (stream_ready(self) < 0 ||
        !PyArg_ParseTuple(args, "OOOO|O", &objs[0], &objs[1], &objs[2], &objs[3], &out_obj))
        return NULL;
    const double *in[4];
    size_t nbars;
    int one;
    if (stream_inputs_of(self, objs, in, &nbars, &one) < 0)
        return NULL;
    size_t shape[3] = {(size_t)zc_md_stream_columns(self->s), self->nsym, nbars};
    int ndim = one ? 2 : 3;
    PyArrayObject *out_arr = NULL;
    zc_array *arr = NULL;
    double *dst;
    if (out_obj != Py_None) {
        out_arr = zcpy_array_arg(out_obj, NPY_FLOAT64, ndim, ndim, "out");
        if (!out_arr)
            return NULL;
        for (int d = 0; d < ndim; d++)
            if ((size_t)PyArray_DIM(out_arr, d) != shape[d])
                return one ? zcpy_invalid("out must have shape (%zu, %zu)", shape[0], shape[1])
                           : zcpy_invalid("out must have shape (%zu, %zu, %zu)", shape[0], shape[1], shape[2]);
        if (!PyArray_ISWRITEABLE(out_arr))
            return zcpy_invalid("out must be writable");
        dst = PyArray_DATA(out_arr);
        /* Strided inputs were copied; those read in place must not share memory with out. */
        size_t per = self->nsym * nbars * sizeof(double);
        uintptr_t lo = (uintptr_t)dst, hi = lo + shape[0] * per, s_lo = (uintptr_t)self->scratch,
                  s_hi = s_lo + self->scratch_len * sizeof(double);
        for (int i = 0; i < 4; i++) {
            uintptr_t p = (uintptr_t)in[i];
            if (in[i] && !(p >= s_lo && p < s_hi) && p < hi && lo < p + per)
                return zcpy_invalid("out must not overlap the inputs");
        }
    } else {
        CHECK(zc_array_new(ZC_DTYPE_F64, ndim, shape, &arr));
        dst = zc_array_data(arr);
    }
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_md_stream_update(self->s, nbars, in[0], in[1], in[2], in[3], dst);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK) {
        zc_array_release(arr);
        return zcpy_raise(st);
    }
    if (out_arr)
        return Py_NewRef(out_obj);
    return zcpy_array_from(arr);
}

/* update_ticks(symbols u32[n], high, low, close, volume) -> (n, columns). */
static PyObject *stream_update_ticks(StreamObject *self, PyObject *args)
{
    PyObject *sym_obj, *objs[4];
    if (stream_ready(self) < 0 ||
        !PyArg_ParseTuple(args, "OOOOO", &sym_obj, &objs[0], &objs[1], &objs[2], &objs[3]))
        return NULL;
    PyArrayObject *sym;
    if (typed_array(sym_obj, NPY_UINT32, "symbols", &sym) < 0)
        return NULL;
    if (!sym || PyArray_NDIM(sym) != 1)
        return zcpy_invalid("symbols must be a 1-D uint32 array");
    size_t rows = 0, cols = 0;
    const double *in[4];
    if (price_inputs(objs, price_names, &rows, &cols, in) < 0)
        return NULL;
    size_t n = (size_t)PyArray_DIM(sym, 0);
    if (rows * cols != n)
        return zcpy_invalid("inputs have %zu values, symbols has %zu", rows * cols, n);
    size_t shape[2] = {n, (size_t)zc_md_stream_columns(self->s)};
    zc_array *arr;
    CHECK(zc_array_new(ZC_DTYPE_F64, 2, shape, &arr));
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_md_stream_update_ticks(self->s, n, (const uint32_t *)PyArray_DATA(sym), in[0], in[1], in[2], in[3],
                                   zc_array_data(arr));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK) {
        zc_array_release(arr);
        return zcpy_raise(st);
    }
    return zcpy_array_from(arr);
}

static PyObject *stream_reset(StreamObject *self, PyObject *noargs)
{
    if (stream_ready(self) < 0)
        return NULL;
    CHECK(zc_md_stream_reset(self->s));
    Py_RETURN_NONE;
}

static PyObject *stream_columns(StreamObject *self, void *closure)
{
    return PyLong_FromLong(self->s ? zc_md_stream_columns(self->s) : 0);
}

static PyObject *stream_inputs(StreamObject *self, void *closure)
{
    return PyLong_FromUnsignedLong(self->s ? zc_md_stream_inputs(self->s) : 0);
}

static PyMethodDef stream_methods[] = {
    {"update", (PyCFunction)stream_update, METH_VARARGS,
     "update(high, low, close, volume[, out]) -> (columns, nsym) for (nsym,) inputs, (columns, nsym, nbars) for "
     "(nsym, nbars) inputs"},
    {"update_ticks", (PyCFunction)stream_update_ticks, METH_VARARGS,
     "update_ticks(symbols, high, low, close, volume) -> (n, columns)"},
    {"reset", (PyCFunction)stream_reset, METH_NOARGS, "Forget all history."},
    {NULL},
};

static PyGetSetDef stream_getset[] = {
    {"columns", (getter)stream_columns, NULL, "Output columns.", NULL},
    {"inputs", (getter)stream_inputs, NULL, "Inputs read, as bits (1 high, 2 low, 4 close, 8 volume).", NULL},
    {NULL},
};

static PyTypeObject StreamType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zkclob._zkclob.MDStream",
    .tp_basicsize = sizeof(StreamObject),
    .tp_dealloc = (destructor)stream_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Streaming indicator state (zc_md_stream).",
    .tp_methods = stream_methods,
    .tp_getset = stream_getset,
    .tp_init = (initproc)stream_init,
    .tp_new = PyType_GenericNew,
};

/* ---- record arrays ---- */

/* obj as a 1-D C-contiguous array of `itemsize`-byte records (md.py checks
 * the dtype); *n its length. */
static const void *records(PyObject *obj, size_t itemsize, const char *name, size_t *n)
{
    PyArrayObject *a = zcpy_records_arg(obj, itemsize, name);
    if (!a)
        return NULL;
    *n = (size_t)PyArray_DIM(a, 0);
    static const char empty[1];
    return *n ? PyArray_DATA(a) : (const void *)empty;
}

/* A 1-D float64/uint32/... array of exactly n elements, or None -> NULL. */
static int vector(PyObject *obj, int type, size_t n, const char *name, const void **out)
{
    PyArrayObject *a;
    *out = NULL;
    if (typed_array(obj, type, name, &a) < 0)
        return -1;
    if (!a)
        return 0;
    if (PyArray_SIZE(a) != (npy_intp)n) {
        zcpy_invalid("%s has %zd elements, expected %zu", name, (Py_ssize_t)PyArray_SIZE(a), n);
        return -1;
    }
    *out = PyArray_DATA(a);
    return 0;
}

/* A new engine array of n records of itemsize bytes (uint8, md.py views it
 * with the record dtype), or of an element dtype. */
static zc_array *new_array(zc_dtype dtype, int ndim, size_t d0, size_t d1, size_t d2, size_t d3)
{
    return zcpy_new_array(dtype, ndim, (size_t[]){d0, d1, d2, d3});
}

/* Hands `a` to NumPy, or raises st after releasing it. */
static PyObject *finish(zc_status st, zc_array *a)
{
    if (st != ZC_OK) {
        zc_array_release(a);
        return zcpy_raise(st);
    }
    return zcpy_array_from(a);
}

/* ---- L2 book ---- */

typedef struct {
    PyObject_HEAD
    zc_l2 *b;
} L2Object;

static void l2_dealloc(L2Object *self)
{
    zc_l2_destroy(self->b);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* MDL2(symbols, levels, reorder_window, event_capacity, tick or None) */
static int l2_init(L2Object *self, PyObject *args, PyObject *kwargs)
{
    zc_l2_config cfg = {0};
    PyObject *tick_obj;
    if (!PyArg_ParseTuple(args, "IIIIO", &cfg.symbols, &cfg.levels, &cfg.reorder_window, &cfg.event_capacity,
                          &tick_obj))
        return -1;
    const void *tick;
    if (vector(tick_obj, NPY_FLOAT64, cfg.symbols, "tick", &tick) < 0)
        return -1;
    cfg.tick = tick;
    zc_l2 *b;
    zc_status st = zc_l2_create(&cfg, &b);
    if (st != ZC_OK) {
        zcpy_raise(st);
        return -1;
    }
    zc_l2_destroy(self->b);
    self->b = b;
    return 0;
}

static int l2_ready(L2Object *self)
{
    if (self->b)
        return 0;
    PyErr_SetString(PyExc_RuntimeError, "MDL2 is not initialised");
    return -1;
}

/* apply(msgs, quotes: bool, k[, out]) -> (quotes, events bytes (m, 40), topk or None); quotes: out when given
 * (n records of 80 bytes), else new bytes (n, 80) when asked for, else None */
static PyObject *l2_apply(L2Object *self, PyObject *args)
{
    PyObject *msgs_obj, *out_obj = Py_None;
    int want_quotes;
    unsigned k;
    if (l2_ready(self) < 0 || !PyArg_ParseTuple(args, "OpI|O", &msgs_obj, &want_quotes, &k, &out_obj))
        return NULL;
    size_t n;
    const zc_l2_msg *msgs = records(msgs_obj, sizeof(zc_l2_msg), "messages", &n);
    if (!msgs)
        return NULL;
    /* out: the caller's quote rows, reused from call to call (no fresh
     * output to allocate and fault in). */
    PyArrayObject *out = NULL;
    if (out_obj != Py_None) {
        if (!(out = zcpy_records_arg(out_obj, sizeof(zc_l2_quote), "out")))
            return NULL;
        if (!PyArray_ISWRITEABLE(out) || (uintptr_t)PyArray_DATA(out) % _Alignof(zc_l2_quote))
            return zcpy_invalid("out must be writable and %zu-byte aligned", _Alignof(zc_l2_quote));
        if ((size_t)PyArray_DIM(out, 0) != n)
            return zcpy_invalid("out has %zd rows, expected one per message (%zu)", (Py_ssize_t)PyArray_DIM(out, 0),
                                n);
        want_quotes = 0;
    }
    zc_array *q = want_quotes ? new_array(ZC_DTYPE_U8, 2, n, sizeof(zc_l2_quote), 0, 0) : NULL;
    zc_array *top = k ? new_array(ZC_DTYPE_F64, 4, n, 2, k, 2) : NULL;
    /* Room for every event the call can keep (zkclob/md.h). */
    size_t nsym = zc_l2_symbols(self->b), cap = (n < nsym ? n : nsym) * zc_l2_event_capacity(self->b), nev = 0;
    zc_l2_event *ev = PyMem_Malloc((cap ? cap : 1) * sizeof *ev);
    if ((want_quotes && !q) || (k && !top) || !ev) {
        zc_array_release(q);
        zc_array_release(top);
        PyMem_Free(ev);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_l2_apply(self->b, msgs, n, out ? PyArray_DATA(out) : q ? zc_array_data(q) : NULL,
                     top ? zc_array_data(top) : NULL, k, ev, cap, &nev);
    Py_END_ALLOW_THREADS
    zc_array *evs = NULL;
    if (st == ZC_OK) {
        size_t kept = nev < cap ? nev : cap;
        evs = new_array(ZC_DTYPE_U8, 2, kept, sizeof *ev, 0, 0);
        if (evs)
            memcpy(zc_array_data(evs), ev, kept * sizeof *ev);
    }
    PyMem_Free(ev);
    if (st != ZC_OK || !evs) {
        zc_array_release(q);
        zc_array_release(top);
        return st != ZC_OK ? zcpy_raise(st) : NULL;
    }
    PyObject *qa = out ? Py_NewRef(out_obj) : q ? zcpy_array_from(q) : Py_NewRef(Py_None);
    PyObject *ta = top ? zcpy_array_from(top) : Py_NewRef(Py_None);
    PyObject *ea = zcpy_array_from(evs);
    if (!qa || !ta || !ea) {
        Py_XDECREF(qa);
        Py_XDECREF(ta);
        Py_XDECREF(ea);
        return NULL;
    }
    return Py_BuildValue("(NNN)", qa, ea, ta);
}

/* apply_engine(orders, events, order_size, event_size) -> quotes bytes (m, 80) */
static PyObject *l2_apply_engine(L2Object *self, PyObject *args)
{
    PyObject *orders_obj, *events_obj;
    Py_ssize_t osize, esize;
    if (l2_ready(self) < 0 || !PyArg_ParseTuple(args, "OOnn", &orders_obj, &events_obj, &osize, &esize))
        return NULL;
    size_t no, ne;
    const void *orders = records(orders_obj, (size_t)osize, "orders", &no);
    const void *events = orders ? records(events_obj, (size_t)esize, "events", &ne) : NULL;
    if (!events)
        return NULL;
    zc_array *q = new_array(ZC_DTYPE_U8, 2, ne, sizeof(zc_l2_quote), 0, 0);
    if (!q)
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_l2_apply_engine(self->b, orders, no, events, ne, zc_array_data(q));
    Py_END_ALLOW_THREADS
    return finish(st, q);
}

static PyObject *l2_depth(L2Object *self, PyObject *noargs)
{
    zc_array *levels, *counts;
    if (l2_ready(self) < 0)
        return NULL;
    CHECK(zc_l2_depth(self->b, &levels, &counts));
    return zcpy_pair_result(levels, counts);
}

static PyObject *l2_counters(L2Object *self, PyObject *arg)
{
    if (l2_ready(self) < 0)
        return NULL;
    unsigned long sym = PyLong_AsUnsignedLong(arg);
    if (PyErr_Occurred())
        return NULL;
    zc_l2_counters c;
    CHECK(zc_l2_counters_get(self->b, (uint32_t)sym, &c));
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K}", "applied", c.applied, "snapshots",
                         c.snapshots, "gaps", c.gaps, "duplicates", c.duplicates, "out_of_order", c.out_of_order,
                         "reordered", c.reordered, "dropped_stale", c.dropped_stale, "crossed", c.crossed, "bad",
                         c.bad, "overflow", c.overflow, "ts_backwards", c.ts_backwards, "events_lost",
                         c.events_lost);
}

/* metrics(levels, bands f64[], sizes f64[]) -> (symbols, columns) */
static PyObject *l2_metrics(L2Object *self, PyObject *args)
{
    zc_l2_metrics_cfg cfg = {0};
    PyObject *bands_obj, *sizes_obj;
    if (l2_ready(self) < 0 || !PyArg_ParseTuple(args, "IOO", &cfg.levels, &bands_obj, &sizes_obj))
        return NULL;
    PyArrayObject *bands, *sizes;
    if (typed_array(bands_obj, NPY_FLOAT64, "bands", &bands) < 0 || typed_array(sizes_obj, NPY_FLOAT64, "sizes", &sizes) < 0)
        return NULL;
    cfg.nbands = bands ? (uint32_t)PyArray_SIZE(bands) : 0;
    cfg.bands_bps = f64_data(bands);
    cfg.nsizes = sizes ? (uint32_t)PyArray_SIZE(sizes) : 0;
    cfg.sizes = f64_data(sizes);
    zc_array *out = new_array(ZC_DTYPE_F64, 2, zc_l2_symbols(self->b), zc_l2_metrics_columns(&cfg), 0, 0);
    if (!out)
        return NULL;
    return finish(zc_l2_metrics(self->b, &cfg, zc_array_data(out)), out);
}

static PyMethodDef l2_methods[] = {
    {"apply", (PyCFunction)l2_apply, METH_VARARGS, "apply(msgs, quotes, k[, out]) -> (quotes, events, topk)"},
    {"apply_engine", (PyCFunction)l2_apply_engine, METH_VARARGS, "apply_engine(orders, events, osize, esize)"},
    {"depth", (PyCFunction)l2_depth, METH_NOARGS, "(levels, counts): live views of the depth"},
    {"counters", (PyCFunction)l2_counters, METH_O, "Counters of a symbol."},
    {"metrics", (PyCFunction)l2_metrics, METH_VARARGS, "metrics(levels, bands, sizes) -> (symbols, columns)"},
    {NULL},
};

static PyTypeObject L2Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zkclob._zkclob.MDL2",
    .tp_basicsize = sizeof(L2Object),
    .tp_dealloc = (destructor)l2_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "L2 books of many symbols (zc_l2).",
    .tp_methods = l2_methods,
    .tp_init = (initproc)l2_init,
    .tp_new = PyType_GenericNew,
};

/* ---- trades and order flow ---- */

static PyObject *py_bars(PyObject *self, PyObject *args)
{
    PyObject *tr;
    unsigned nsym;
    int kind;
    double threshold;
    if (!PyArg_ParseTuple(args, "OIid", &tr, &nsym, &kind, &threshold))
        return NULL;
    size_t n, nb;
    const zc_trade *t = records(tr, sizeof(zc_trade), "trades", &n);
    if (!t)
        return NULL;
    CHECK(zc_md_bars(t, n, nsym, (zc_bar_kind)kind, threshold, NULL, 0, &nb));
    zc_array *out = new_array(ZC_DTYPE_U8, 2, nb, sizeof(zc_bar), 0, 0);
    if (!out)
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_md_bars(t, n, nsym, (zc_bar_kind)kind, threshold, zc_array_data(out), nb, &nb);
    Py_END_ALLOW_THREADS
    return finish(st, out);
}

static PyObject *py_rolling(PyObject *self, PyObject *args)
{
    PyObject *tr;
    unsigned nsym;
    unsigned long long window;
    if (!PyArg_ParseTuple(args, "OIK", &tr, &nsym, &window))
        return NULL;
    size_t n;
    const zc_trade *t = records(tr, sizeof(zc_trade), "trades", &n);
    if (!t)
        return NULL;
    zc_array *vol = new_array(ZC_DTYPE_F64, 1, n, 0, 0, 0);
    zc_array *vw = vol ? new_array(ZC_DTYPE_F64, 1, n, 0, 0, 0) : NULL;
    if (!vw) {
        zc_array_release(vol);
        return NULL;
    }
    zc_status st = zc_md_trades_rolling(t, n, nsym, window, zc_array_data(vol), zc_array_data(vw));
    if (st != ZC_OK) {
        zc_array_release(vol);
        return finish(st, vw);
    }
    return zcpy_pair_result(vol, vw);
}

static PyObject *py_classify(PyObject *self, PyObject *args)
{
    PyObject *tr, *bid_obj, *ask_obj;
    unsigned nsym;
    int method;
    if (!PyArg_ParseTuple(args, "OIiOO", &tr, &nsym, &method, &bid_obj, &ask_obj))
        return NULL;
    size_t n;
    const zc_trade *t = records(tr, sizeof(zc_trade), "trades", &n);
    const void *bid, *ask;
    if (!t || vector(bid_obj, NPY_FLOAT64, n, "bid", &bid) < 0 || vector(ask_obj, NPY_FLOAT64, n, "ask", &ask) < 0)
        return NULL;
    zc_array *out = new_array(ZC_DTYPE_U8, 1, n, 0, 0, 0);
    if (!out)
        return NULL;
    return finish(zc_md_classify(t, n, nsym, (zc_md_classifier)method, bid, ask, zc_array_data(out)), out);
}

static PyObject *py_bvc(PyObject *self, PyObject *args)
{
    PyObject *close_obj;
    unsigned window;
    if (!PyArg_ParseTuple(args, "OI", &close_obj, &window))
        return NULL;
    PyArrayObject *c;
    if (typed_array(close_obj, NPY_FLOAT64, "close", &c) < 0 || !c || PyArray_NDIM(c) != 2)
        return PyErr_Occurred() ? NULL : zcpy_invalid("close must be a 2-D float64 array");
    size_t rows = (size_t)PyArray_DIM(c, 0), cols = (size_t)PyArray_DIM(c, 1);
    zc_array *out = new_array(ZC_DTYPE_F64, 2, rows, cols, 0, 0);
    if (!out)
        return NULL;
    return finish(zc_md_bvc(PyArray_DATA(c), rows, cols, window, zc_array_data(out)), out);
}

static PyObject *py_ofi(PyObject *self, PyObject *args)
{
    PyObject *sym_obj, *objs[4];
    unsigned nsym, levels;
    if (!PyArg_ParseTuple(args, "OIIOOOO", &sym_obj, &nsym, &levels, &objs[0], &objs[1], &objs[2], &objs[3]))
        return NULL;
    PyArrayObject *sym;
    if (typed_array(sym_obj, NPY_UINT32, "symbols", &sym) < 0 || !sym)
        return PyErr_Occurred() ? NULL : zcpy_invalid("symbols must be a uint32 array");
    size_t n = (size_t)PyArray_SIZE(sym);
    const void *q[4];
    static const char *const names[4] = {"bid_px", "bid_sz", "ask_px", "ask_sz"};
    for (int i = 0; i < 4; i++)
        if (vector(objs[i], NPY_FLOAT64, n * levels, names[i], &q[i]) < 0 || (!q[i] && n))
            return PyErr_Occurred() ? NULL : zcpy_invalid("%s is required", names[i]);
    zc_array *out = new_array(ZC_DTYPE_F64, 2, n, levels, 0, 0);
    if (!out)
        return NULL;
    return finish(zc_md_ofi(PyArray_DATA(sym), n, nsym, levels, q[0], q[1], q[2], q[3], zc_array_data(out)), out);
}

static PyObject *py_vpin(PyObject *self, PyObject *args)
{
    PyObject *tr, *frac_obj;
    unsigned nsym, window;
    double volume;
    if (!PyArg_ParseTuple(args, "OIOdI", &tr, &nsym, &frac_obj, &volume, &window))
        return NULL;
    size_t n, nb;
    const zc_trade *t = records(tr, sizeof(zc_trade), "trades", &n);
    const void *frac;
    if (!t || vector(frac_obj, NPY_FLOAT64, n, "buy_fraction", &frac) < 0)
        return NULL;
    CHECK(zc_md_vpin(t, n, nsym, frac, volume, window, NULL, 0, &nb));
    zc_array *out = new_array(ZC_DTYPE_U8, 2, nb, sizeof(zc_vpin_bucket), 0, 0);
    if (!out)
        return NULL;
    return finish(zc_md_vpin(t, n, nsym, frac, volume, window, zc_array_data(out), nb, &nb), out);
}

static PyObject *py_kyle(PyObject *self, PyObject *args)
{
    PyObject *dp_obj, *q_obj;
    unsigned window;
    if (!PyArg_ParseTuple(args, "OOI", &dp_obj, &q_obj, &window))
        return NULL;
    PyArrayObject *dp, *q;
    if (typed_array(dp_obj, NPY_FLOAT64, "dp", &dp) < 0 || typed_array(q_obj, NPY_FLOAT64, "q", &q) < 0 || !dp ||
        !q || PyArray_NDIM(dp) != 2 || !PyArray_SAMESHAPE(dp, q))
        return PyErr_Occurred() ? NULL : zcpy_invalid("dp and q must be 2-D float64 arrays of one shape");
    size_t rows = (size_t)PyArray_DIM(dp, 0), cols = (size_t)PyArray_DIM(dp, 1);
    zc_array *out = new_array(ZC_DTYPE_F64, 2, rows, cols, 0, 0);
    if (!out)
        return NULL;
    return finish(zc_md_kyle_lambda(PyArray_DATA(dp), PyArray_DATA(q), rows, cols, window, zc_array_data(out)), out);
}

static PyObject *py_size_hist(PyObject *self, PyObject *args)
{
    PyObject *tr, *edges_obj;
    unsigned nsym;
    if (!PyArg_ParseTuple(args, "OIO", &tr, &nsym, &edges_obj))
        return NULL;
    size_t n;
    const zc_trade *t = records(tr, sizeof(zc_trade), "trades", &n);
    PyArrayObject *edges;
    if (!t || typed_array(edges_obj, NPY_FLOAT64, "edges", &edges) < 0 || !edges || PyArray_SIZE(edges) < 2)
        return PyErr_Occurred() ? NULL : zcpy_invalid("edges must be a float64 array of at least 2 values");
    uint32_t nbins = (uint32_t)PyArray_SIZE(edges) - 1;
    zc_array *count = new_array(ZC_DTYPE_F64, 2, nsym, nbins, 0, 0);
    zc_array *vol = count ? new_array(ZC_DTYPE_F64, 2, nsym, nbins, 0, 0) : NULL;
    if (!vol) {
        zc_array_release(count);
        return NULL;
    }
    zc_status st = zc_md_size_histogram(t, n, nsym, PyArray_DATA(edges), nbins, zc_array_data(count),
                                        zc_array_data(vol));
    if (st != ZC_OK) {
        zc_array_release(count);
        return finish(st, vol);
    }
    return zcpy_pair_result(count, vol);
}

/* participants(trades, nsym, (block_quantile, round_lot, child_gap_ns, child_band_bps, min_children, iceberg_tol)) */
static PyObject *py_participants(PyObject *self, PyObject *args)
{
    PyObject *tr;
    unsigned nsym;
    zc_md_participant_cfg cfg;
    unsigned long long gap;
    if (!PyArg_ParseTuple(args, "OI(ddKdId)", &tr, &nsym, &cfg.block_quantile, &cfg.round_lot, &gap,
                          &cfg.child_band_bps, &cfg.min_children, &cfg.iceberg_size_tol))
        return NULL;
    cfg.child_gap_ns = gap;
    size_t n;
    const zc_trade *t = records(tr, sizeof(zc_trade), "trades", &n);
    if (!t)
        return NULL;
    zc_array *label = new_array(ZC_DTYPE_U8, 1, n, 0, 0, 0);
    zc_array *conf = label ? new_array(ZC_DTYPE_F64, 1, n, 0, 0, 0) : NULL;
    zc_array *rules = conf ? new_array(ZC_DTYPE_U8, 1, n, 0, 0, 0) : NULL;
    if (!rules) {
        zc_array_release(label);
        zc_array_release(conf);
        return NULL;
    }
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_md_participants(t, n, nsym, &cfg, zc_array_data(label), zc_array_data(conf), zc_array_data(rules));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK) {
        zc_array_release(label);
        zc_array_release(conf);
        return finish(st, rules);
    }
    return Py_BuildValue("(NNN)", zcpy_array_from(label), zcpy_array_from(conf), zcpy_array_from(rules));
}

/* patterns(orders, events, osize, esize, (sweep_levels, layer_orders, layer_window_ns, stuffing_msgs,
 *          stuffing_window_ns, stuffing_max_fill_ratio)) -> (patterns bytes, ids u64) */
static PyObject *py_patterns(PyObject *self, PyObject *args)
{
    PyObject *orders_obj, *events_obj;
    Py_ssize_t osize, esize;
    zc_md_pattern_cfg cfg;
    unsigned long long lw, sw;
    if (!PyArg_ParseTuple(args, "OOnn(IIKIKd)", &orders_obj, &events_obj, &osize, &esize, &cfg.sweep_levels,
                          &cfg.layer_orders, &lw, &cfg.stuffing_msgs, &sw, &cfg.stuffing_max_fill_ratio))
        return NULL;
    cfg.layer_window_ns = lw;
    cfg.stuffing_window_ns = sw;
    size_t no, ne, np, ni;
    const void *orders = records(orders_obj, (size_t)osize, "orders", &no);
    const void *events = orders ? records(events_obj, (size_t)esize, "events", &ne) : NULL;
    if (!events)
        return NULL;
    CHECK(zc_md_patterns(orders, no, events, ne, &cfg, NULL, 0, &np, NULL, 0, &ni));
    zc_array *pat = new_array(ZC_DTYPE_U8, 2, np, sizeof(zc_md_pattern), 0, 0);
    zc_array *ids = pat ? new_array(ZC_DTYPE_U64, 1, ni, 0, 0, 0) : NULL;
    if (!ids) {
        zc_array_release(pat);
        return NULL;
    }
    zc_status st = zc_md_patterns(orders, no, events, ne, &cfg, zc_array_data(pat), np, &np, zc_array_data(ids), ni,
                                  &ni);
    if (st != ZC_OK) {
        zc_array_release(pat);
        return finish(st, ids);
    }
    return zcpy_pair_result(pat, ids);
}

static PyMethodDef md_methods[] = {
    {"md_indicator", py_indicator, METH_VARARGS,
     "md_indicator(kind, p0, p1, p2, d0, d1, device, high, low, close, volume) -> (outputs, device)"},
    {"md_indicators", py_indicators, METH_VARARGS,
     "md_indicators(specs, device, high, low, close, volume) -> ((columns, nsym, ntime), device)"},
    {"md_bars", py_bars, METH_VARARGS, "md_bars(trades, nsym, kind, threshold) -> bar records"},
    {"md_rolling", py_rolling, METH_VARARGS, "md_rolling(trades, nsym, window_ns) -> (volume, vwap)"},
    {"md_classify", py_classify, METH_VARARGS, "md_classify(trades, nsym, method, bid, ask) -> signs"},
    {"md_bvc", py_bvc, METH_VARARGS, "md_bvc(close, window) -> buy fractions"},
    {"md_ofi", py_ofi, METH_VARARGS, "md_ofi(symbols, nsym, levels, bid_px, bid_sz, ask_px, ask_sz) -> e"},
    {"md_vpin", py_vpin, METH_VARARGS, "md_vpin(trades, nsym, buy_fraction, bucket_volume, window) -> buckets"},
    {"md_kyle_lambda", py_kyle, METH_VARARGS, "md_kyle_lambda(dp, q, window) -> lambda"},
    {"md_size_histogram", py_size_hist, METH_VARARGS, "md_size_histogram(trades, nsym, edges) -> (count, volume)"},
    {"md_participants", py_participants, METH_VARARGS, "md_participants(trades, nsym, cfg) -> (label, conf, rules)"},
    {"md_patterns", py_patterns, METH_VARARGS, "md_patterns(orders, events, osize, esize, cfg) -> (patterns, ids)"},
    {NULL},
};

int zcpy_md_init(PyObject *m)
{
    if (PyType_Ready(&StreamType) < 0 || PyType_Ready(&L2Type) < 0)
        return -1;
    Py_INCREF(&StreamType);
    if (PyModule_AddObject(m, "MDStream", (PyObject *)&StreamType) < 0) {
        Py_DECREF(&StreamType);
        return -1;
    }
    Py_INCREF(&L2Type);
    if (PyModule_AddObject(m, "MDL2", (PyObject *)&L2Type) < 0) {
        Py_DECREF(&L2Type);
        return -1;
    }
    if (PyModule_AddFunctions(m, md_methods) < 0)
        return -1;
    for (int k = 0; k < ZC_MD_KIND_COUNT; k++) {
        char name[32];
        snprintf(name, sizeof name, "MD_%s", zc_md_kind_name((zc_md_kind)k));
        for (char *c = name; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char)(*c - 'a' + 'A');
        if (PyModule_AddIntConstant(m, name, k) < 0)
            return -1;
    }
    return 0;
}
