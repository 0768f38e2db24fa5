/* _zkclob.Pool and _zkclob.Block: NumPy arrays over pool memory, no copies.
 *
 * Pool.empty allocates one block and wraps it in a Block, the owner that
 * returns the block to the pool when it dies. Host-accessible blocks come
 * back as NumPy arrays whose base is the Block; CUDA device blocks come back
 * as the Block itself, which exports __cuda_array_interface__ and DLPack. A
 * Block holds a reference to its Pool, so a pool lives as long as any view
 * of its memory. */
#include "dlpack.h"
#include "ext.h"

#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL zkclob_ARRAY_API
#include <numpy/arrayobject.h>

typedef struct {
    PyObject_HEAD
    zc_pool pool;
    zc_pool_info info;
    int backend_index; /* of the pool's device, for DLPack and CUDA */
    PyObject *weakrefs;
} PoolObject;

typedef struct {
    PyObject_HEAD
    PoolObject *pool;
    void *ptr;
    size_t nbytes;
    PyArray_Descr *descr;
    int ndim;
    npy_intp shape[NPY_MAXDIMS];
    npy_intp strides[NPY_MAXDIMS];
} BlockObject;

static PyTypeObject PoolType, BlockType;


typedef struct {
    DLManagedTensor managed;
    PyObject *owner; /* the Block */
    int64_t shape[NPY_MAXDIMS];
} DLHolder;

/* ---- Block ---- */

static void block_dealloc(BlockObject *self)
{
    zc_status st = self->ptr ? zc_pool_free(self->pool->pool, self->ptr) : ZC_OK;
    if (st != ZC_OK) {
        zcpy_raise(st);
        PyErr_WriteUnraisable((PyObject *)self);
    }
    Py_XDECREF(self->descr);
    Py_XDECREF(self->pool);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int is_cuda(const PoolObject *p) { return p->info.backend == ZC_BACKEND_CUDA; }

static PyObject *host_only(BlockObject *self, const char *what)
{
    PyErr_Format(PyExc_AttributeError,
                 "%s: this block is CUDA device memory, which the host cannot address; use "
                 "__cuda_array_interface__ or DLPack", what);
    return NULL;
}

static int block_getbuffer(BlockObject *self, Py_buffer *view, int flags)
{
    if (!self->pool->info.host_accessible) {
        PyErr_SetString(PyExc_BufferError, "CUDA device memory has no host buffer");
        return -1;
    }
    return PyBuffer_FillInfo(view, (PyObject *)self, self->ptr, (Py_ssize_t)self->nbytes, 0, flags);
}

static PyBufferProcs block_as_buffer = {(getbufferproc)block_getbuffer, NULL};

static PyObject *shape_tuple(BlockObject *self)
{
    PyObject *t = PyTuple_New(self->ndim);
    for (int i = 0; t && i < self->ndim; i++)
        PyTuple_SET_ITEM(t, i, PyLong_FromSsize_t(self->shape[i]));
    return t;
}

/* The array-interface dict shared by __array_interface__ and __cuda_array_interface__. */
static PyObject *interface_dict(BlockObject *self, int cuda)
{
    PyObject *shape = shape_tuple(self);
    PyObject *typestr = shape ? PyObject_GetAttrString((PyObject *)self->descr, "str") : NULL;
    PyObject *descr = typestr ? PyObject_GetAttrString((PyObject *)self->descr, "descr") : NULL;
    if (!descr) {
        Py_XDECREF(shape);
        Py_XDECREF(typestr);
        return NULL;
    }
    PyObject *d = Py_BuildValue("{s:N,s:N,s:N,s:(NO),s:O,s:i}", "shape", shape, "typestr", typestr, "descr", descr,
                                "data", PyLong_FromVoidPtr(self->ptr), Py_False, "strides", Py_None, "version", 3);
    if (d && cuda && PyDict_SetItemString(d, "stream", Py_None) < 0)
        Py_CLEAR(d);
    return d;
}

static PyObject *block_array_interface(BlockObject *self, void *closure)
{
    if (!self->pool->info.host_accessible)
        return host_only(self, "__array_interface__");
    return interface_dict(self, 0);
}

static PyObject *block_cuda_array_interface(BlockObject *self, void *closure)
{
    if (!is_cuda(self->pool)) {
        PyErr_Format(PyExc_AttributeError,
                     "__cuda_array_interface__: this block is %s memory of a %s device, not CUDA memory; "
                     "NumPy views it directly", zc_mem_kind_name(self->pool->info.memory),
                     zc_backend_name(self->pool->info.backend));
        return NULL;
    }
    return interface_dict(self, 1);
}

static PyObject *block_address(BlockObject *self, void *closure) { return PyLong_FromVoidPtr(self->ptr); }
static PyObject *block_nbytes(BlockObject *self, void *closure) { return PyLong_FromSize_t(self->nbytes); }
static PyObject *block_shape(BlockObject *self, void *closure) { return shape_tuple(self); }

static PyObject *block_dtype(BlockObject *self, void *closure)
{
    Py_INCREF(self->descr);
    return (PyObject *)self->descr;
}

static PyObject *block_pool(BlockObject *self, void *closure)
{
    Py_INCREF(self->pool);
    return (PyObject *)self->pool;
}

static DLDevice dl_device(const BlockObject *self)
{
    DLDevice d = {kDLCPU, 0};
    if (!is_cuda(self->pool))
        return d;
    static const int32_t types[ZC_MEM_KIND_COUNT] = {kDLCPU, kDLCUDAHost, kDLCUDA, kDLCUDAManaged};
    d.device_type = types[self->pool->info.memory];
    d.device_id = d.device_type == kDLCPU ? 0 : self->pool->backend_index;
    return d;
}

static void dl_deleter(DLManagedTensor *self)
{
    DLHolder *h = (DLHolder *)self;
    PyGILState_STATE gil = PyGILState_Ensure(); /* consumers may call it from any thread */
    Py_DECREF(h->owner);
    PyGILState_Release(gil);
    PyMem_RawFree(h);
}

static PyObject *block_dlpack(BlockObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"stream", "max_version", "dl_device", "copy", NULL};
    PyObject *stream = Py_None, *max_version = Py_None, *dl_dev = Py_None, *copy = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$OOOO", kwlist, &stream, &max_version, &dl_dev, &copy))
        return NULL;
    if (copy == Py_True)
        return zcpy_invalid("pool blocks are exported without copies (copy=True)");
    DLDevice dev = dl_device(self);
    if (stream != Py_None && dev.device_type == kDLCPU)
        return zcpy_invalid("host memory takes no stream, got %R", stream);
    /* Our kernels finish before returning, so no stream needs to wait on us. */
    DLDataType dt = {0, (uint8_t)(8 * PyDataType_ELSIZE(self->descr)), 1};
    switch (self->descr->kind) {
    case 'i': dt.code = kDLInt; break;
    case 'u': dt.code = kDLUInt; break;
    case 'f': dt.code = kDLFloat; break;
    case 'b': dt.code = kDLBool; break;
    default:
        return zcpy_invalid("DLPack cannot describe dtype %R", (PyObject *)self->descr);
    }
    if (PyDataType_HASFIELDS(self->descr) || PyDataType_ELSIZE(self->descr) > 8)
        return zcpy_invalid("DLPack cannot describe dtype %R", (PyObject *)self->descr);
    DLHolder *h = PyMem_RawCalloc(1, sizeof *h);
    if (!h)
        return PyErr_NoMemory();
    for (int i = 0; i < self->ndim; i++)
        h->shape[i] = self->shape[i];
    Py_INCREF(self);
    h->owner = (PyObject *)self;
    DLTensor *t = &h->managed.dl_tensor;
    t->data = self->ptr;
    t->device = dev;
    t->ndim = self->ndim;
    t->dtype = dt;
    t->shape = h->shape;
    t->strides = NULL; /* compact row-major */
    h->managed.manager_ctx = h;
    h->managed.deleter = dl_deleter;
    PyObject *capsule = PyCapsule_New(&h->managed, "dltensor", zcpy_dlpack_capsule_destructor);
    if (!capsule)
        dl_deleter(&h->managed);
    return capsule;
}

static PyObject *block_dlpack_device(BlockObject *self, PyObject *noargs)
{
    DLDevice d = dl_device(self);
    return Py_BuildValue("(ii)", d.device_type, d.device_id);
}

static PyObject *block_repr(BlockObject *self)
{
    PyObject *shape = shape_tuple(self);
    if (!shape)
        return NULL;
    PyObject *r = PyUnicode_FromFormat("<zkclob.Block %s memory of pool '%s', dtype=%R shape=%R at %p>",
                                       zc_mem_kind_name(self->pool->info.memory), self->pool->info.name,
                                       (PyObject *)self->descr, shape, self->ptr);
    Py_DECREF(shape);
    return r;
}

static PyGetSetDef block_getset[] = {
    {"address", (getter)block_address, NULL, "Address of the first byte.", NULL},
    {"nbytes", (getter)block_nbytes, NULL, "Bytes the array uses.", NULL},
    {"shape", (getter)block_shape, NULL, "Shape of the array.", NULL},
    {"dtype", (getter)block_dtype, NULL, "NumPy dtype of the array.", NULL},
    {"pool", (getter)block_pool, NULL, "The _zkclob.Pool the block belongs to.", NULL},
    {"__array_interface__", (getter)block_array_interface, NULL, "NumPy array interface (host memory).", NULL},
    {"__cuda_array_interface__", (getter)block_cuda_array_interface, NULL, "CUDA array interface (CUDA memory).",
     NULL},
    {NULL},
};

static PyMethodDef block_methods[] = {
    {"__dlpack__", (PyCFunction)(void (*)(void))block_dlpack, METH_VARARGS | METH_KEYWORDS,
     "Export as a DLPack capsule (no copy)."},
    {"__dlpack_device__", (PyCFunction)block_dlpack_device, METH_NOARGS, "(device type, device id)."},
    {NULL},
};

static PyTypeObject BlockType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zkclob.Block",
    .tp_basicsize = sizeof(BlockObject),
    .tp_dealloc = (destructor)block_dealloc,
    .tp_repr = (reprfunc)block_repr,
    .tp_as_buffer = &block_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A block of pool memory; it goes back to its pool when the last array viewing it dies.",
    .tp_getset = block_getset,
    .tp_methods = block_methods,
};

/* ---- Pool ---- */

static PyObject *pool_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"kind", "memory", "device", "alignment", "object_size", "chunk_bytes", "max_bytes",
                             "flags", "name", NULL};
    int kind, memory, device;
    unsigned long long alignment = 0, object_size = 0, chunk_bytes = 0, max_bytes = 0;
    unsigned int flags = 0;
    const char *name = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "iii|KKKKIz", kwlist, &kind, &memory, &device, &alignment,
                                     &object_size, &chunk_bytes, &max_bytes, &flags, &name))
        return NULL;
    zc_pool_config cfg = {(zc_mem_kind)memory, device, (size_t)alignment, (size_t)object_size, (size_t)chunk_bytes,
                          (size_t)max_bytes, flags, name};
    zc_pool pool;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_pool_create((zc_pool_kind)kind, &cfg, &pool);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    PoolObject *self = (PoolObject *)type->tp_alloc(type, 0);
    if (!self) {
        zc_pool_destroy(pool);
        return NULL;
    }
    self->pool = pool;
    zc_pool_info_get(pool, &self->info);
    zc_device_info dev;
    self->backend_index = zc_device_info_get(self->info.device, &dev) == ZC_OK ? dev.backend_index : 0;
    zcpy_flush_log();
    return (PyObject *)self;
}

static void pool_dealloc(PoolObject *self)
{
    if (self->weakrefs)
        PyObject_ClearWeakRefs((PyObject *)self);
    if (self->pool.id)
        zc_pool_destroy(self->pool);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int parse_shape(PyObject *seq, int *ndim, npy_intp *shape)
{
    PyObject *fast = PySequence_Fast(seq, "shape must be a sequence of integers");
    if (!fast)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (n > NPY_MAXDIMS) {
        Py_DECREF(fast);
        zcpy_invalid("shape has %zd dimensions, at most %d are allowed", n, NPY_MAXDIMS);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t v = PyNumber_AsSsize_t(PySequence_Fast_GET_ITEM(fast, i), PyExc_OverflowError);
        if (v == -1 && PyErr_Occurred()) {
            Py_DECREF(fast);
            return -1;
        }
        if (v < 0) {
            Py_DECREF(fast);
            zcpy_invalid("shape entries must be non-negative, got %zd", v);
            return -1;
        }
        shape[i] = (npy_intp)v;
    }
    *ndim = (int)n;
    Py_DECREF(fast);
    return 0;
}

static PyObject *pool_empty(PoolObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"shape", "dtype", "zero", NULL};
    PyObject *shape_obj, *dtype_obj = NULL;
    int zero = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|Op", kwlist, &shape_obj, &dtype_obj, &zero))
        return NULL;
    PyArray_Descr *descr = NULL;
    if (!PyArray_DescrConverter2(dtype_obj, &descr))
        return NULL;
    if (!descr)
        descr = PyArray_DescrFromType(NPY_DOUBLE);
    BlockObject *b = PyObject_New(BlockObject, &BlockType);
    if (!b) {
        Py_DECREF(descr);
        return NULL;
    }
    b->ptr = NULL;
    b->descr = descr;
    Py_INCREF(self);
    b->pool = self;
    if (parse_shape(shape_obj, &b->ndim, b->shape) < 0) {
        Py_DECREF(b);
        return NULL;
    }
    if (PyDataType_ELSIZE(descr) == 0 || PyDataType_HASSUBARRAY(descr) || PyDataType_REFCHK(descr)) {
        Py_DECREF(b);
        return zcpy_invalid("dtype %R cannot live in pool memory (flexible, subarray or object dtype)",
                            (PyObject *)descr);
    }
    size_t nbytes = (size_t)PyDataType_ELSIZE(descr);
    for (int i = b->ndim - 1; i >= 0; i--) {
        b->strides[i] = (npy_intp)nbytes;
        if (b->shape[i] && nbytes > (size_t)NPY_MAX_INTP / (size_t)b->shape[i]) {
            Py_DECREF(b);
            return zcpy_invalid("an array of this shape and dtype overflows the address space");
        }
        nbytes *= (size_t)b->shape[i];
    }
    b->nbytes = nbytes;
    zc_status st;
    void *ptr = NULL;
    Py_BEGIN_ALLOW_THREADS
    /* An empty array still owns a block, so every array has pool memory. */
    st = zero ? zc_pool_alloc_zeroed(self->pool, nbytes ? nbytes : 1, &ptr)
              : zc_pool_alloc(self->pool, nbytes ? nbytes : 1, &ptr);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK) {
        Py_DECREF(b);
        return zcpy_raise(st);
    }
    b->ptr = ptr;
    if (!self->info.host_accessible)
        return (PyObject *)b;
    Py_INCREF(descr); /* PyArray_NewFromDescr steals it */
    PyObject *arr = PyArray_NewFromDescr(&PyArray_Type, descr, b->ndim, b->shape, b->strides, ptr,
                                         NPY_ARRAY_CARRAY, NULL);
    if (!arr) {
        Py_DECREF(b);
        return NULL;
    }
    /* Steals the reference to b, also on failure. */
    if (PyArray_SetBaseObject((PyArrayObject *)arr, (PyObject *)b) < 0) {
        Py_DECREF(arr);
        return NULL;
    }
    return arr;
}

static PyObject *counters_dict(const zc_pool_counters *c)
{
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K}", "bytes_in_use",
                         (unsigned long long)c->bytes_in_use, "peak_bytes", (unsigned long long)c->peak_bytes,
                         "reserved_bytes", (unsigned long long)c->reserved_bytes, "allocs",
                         (unsigned long long)c->allocs, "frees", (unsigned long long)c->frees, "failures",
                         (unsigned long long)c->failures, "bad_requests", (unsigned long long)c->bad_requests,
                         "double_frees", (unsigned long long)c->double_frees, "invalid_frees",
                         (unsigned long long)c->invalid_frees, "overruns", (unsigned long long)c->overruns, "handles",
                         (unsigned long long)c->handles, "compactions", (unsigned long long)c->compactions,
                         "background_compactions", (unsigned long long)c->background_compactions, "blocks_moved",
                         (unsigned long long)c->blocks_moved, "bytes_moved", (unsigned long long)c->bytes_moved);
}

static PyObject *pool_snapshot(PoolObject *self, PyObject *noargs)
{
    zc_pool_counters c;
    zc_status st = zc_pool_snapshot(self->pool, &c);
    return st == ZC_OK ? counters_dict(&c) : zcpy_raise(st);
}

static int set_item(PyObject *d, const char *key, PyObject *value)
{
    int rc = value ? PyDict_SetItemString(d, key, value) : -1;
    Py_XDECREF(value);
    return rc;
}

static PyObject *pool_stats(PoolObject *self, PyObject *noargs)
{
    zc_pool_stats *s = PyMem_Malloc(sizeof *s);
    if (!s)
        return PyErr_NoMemory();
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_pool_stats_get(self->pool, s);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK) {
        PyMem_Free(s);
        return zcpy_raise(st);
    }
    PyObject *d = counters_dict(&s->counters);
    PyObject *classes = d ? PyList_New(0) : NULL;
    for (uint32_t i = 0; classes && i < s->nclasses; i++) {
        const zc_pool_class_stats *c = &s->classes[i];
        PyObject *item = Py_BuildValue("{s:n,s:K,s:K,s:K}", "block_bytes", (Py_ssize_t)c->block_bytes, "allocs",
                                       (unsigned long long)c->allocs, "in_use", (unsigned long long)c->in_use,
                                       "reserved", (unsigned long long)c->reserved);
        if (!item || PyList_Append(classes, item) < 0)
            Py_CLEAR(classes);
        Py_XDECREF(item);
    }
    if (!classes || set_item(d, "classes", classes) < 0 ||
        set_item(d, "free_bytes", PyLong_FromUnsignedLongLong(s->free_bytes)) < 0 ||
        set_item(d, "largest_free_block", PyLong_FromUnsignedLongLong(s->largest_free_block)) < 0 ||
        set_item(d, "fragmentation", PyFloat_FromDouble(s->fragmentation)) < 0 ||
        set_item(d, "arena_bytes", PyLong_FromUnsignedLongLong(s->arena_bytes)) < 0 ||
        set_item(d, "arena_free_bytes", PyLong_FromUnsignedLongLong(s->arena_free_bytes)) < 0 ||
        set_item(d, "arena_fragmentation", PyFloat_FromDouble(s->arena_fragmentation)) < 0 ||
        set_item(d, "large_allocs", PyLong_FromUnsignedLongLong(s->large_allocs)) < 0 ||
        set_item(d, "large_bytes_in_use", PyLong_FromUnsignedLongLong(s->large_bytes_in_use)) < 0)
        Py_CLEAR(d);
    PyMem_Free(s);
    return d;
}

static PyObject *pool_compact(PoolObject *self, PyObject *noargs)
{
    zc_compact_report r;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_pool_compact(self->pool, &r);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:d,s:d}", "blocks_moved", (unsigned long long)r.blocks_moved,
                         "bytes_moved", (unsigned long long)r.bytes_moved, "pinned_skipped",
                         (unsigned long long)r.pinned_skipped, "segments_released",
                         (unsigned long long)r.segments_released, "fragmentation_before", r.fragmentation_before,
                         "fragmentation_after", r.fragmentation_after);
}

static PyObject *pool_info(PoolObject *self, PyObject *noargs)
{
    const zc_pool_info *i = &self->info;
    return Py_BuildValue("{s:s,s:s,s:i,s:s,s:n,s:n,s:n,s:I,s:O,s:s}", "type", zc_pool_kind_name(i->kind), "kind",
                         zc_mem_kind_name(i->memory), "device", i->device, "backend", zc_backend_name(i->backend),
                         "alignment", (Py_ssize_t)i->alignment, "object_size", (Py_ssize_t)i->object_size,
                         "max_block", (Py_ssize_t)i->max_block, "flags", i->flags, "host_accessible",
                         i->host_accessible ? Py_True : Py_False, "name", i->name);
}

static PyMethodDef pool_methods[] = {
    {"empty", (PyCFunction)(void (*)(void))pool_empty, METH_VARARGS | METH_KEYWORDS,
     "empty(shape, dtype=float64, zero=False): an array over one block of the pool."},
    {"stats", (PyCFunction)pool_stats, METH_NOARGS, "Counters, per-class histogram and fragmentation."},
    {"snapshot", (PyCFunction)pool_snapshot, METH_NOARGS, "Counters only; cheap enough to poll."},
    {"compact", (PyCFunction)pool_compact, METH_NOARGS, "Compact the handle arena now."},
    {"info", (PyCFunction)pool_info, METH_NOARGS, "Kind, memory, device, alignment and flags."},
    {NULL},
};

static PyTypeObject PoolType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zkclob.Pool",
    .tp_basicsize = sizeof(PoolObject),
    .tp_dealloc = (destructor)pool_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Pool(kind, memory, device, alignment=0, object_size=0, chunk_bytes=0, max_bytes=0, flags=0, "
              "name=None): a zkclob memory pool. Use zkclob.MemoryPool.",
    .tp_weaklistoffset = offsetof(PoolObject, weakrefs),
    .tp_methods = pool_methods,
    .tp_new = pool_new,
};

static PyObject *py_mem_snapshot(PyObject *module, PyObject *noargs)
{
    zc_mem_counters c;
    zc_mem_snapshot(&c);
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K}", "pools",
                         (unsigned long long)c.pools, "pools_created", (unsigned long long)c.pools_created,
                         "bytes_in_use", (unsigned long long)c.bytes_in_use, "peak_bytes",
                         (unsigned long long)c.peak_bytes, "reserved_bytes", (unsigned long long)c.reserved_bytes,
                         "allocs", (unsigned long long)c.allocs, "frees", (unsigned long long)c.frees, "failures",
                         (unsigned long long)c.failures, "bad_frees", (unsigned long long)c.bad_frees,
                         "stale_handles", (unsigned long long)c.stale_handles, "buffers",
                         (unsigned long long)c.buffers, "buffer_copies", (unsigned long long)c.buffer_copies,
                         "buffer_copy_bytes", (unsigned long long)c.buffer_copy_bytes, "zero_copy_maps",
                         (unsigned long long)c.zero_copy_maps, "array_cache_bytes",
                         (unsigned long long)c.array_cache_bytes, "array_cache_hits",
                         (unsigned long long)c.array_cache_hits, "array_cache_misses",
                         (unsigned long long)c.array_cache_misses);
}

static PyObject *py_array_cache_stats(PyObject *module, PyObject *noargs)
{
    zc_array_cache_stats c;
    CHECK(zc_array_cache_stats_get(&c));
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K}", "limit_bytes", (unsigned long long)c.limit_bytes,
                         "cached_bytes", (unsigned long long)c.cached_bytes, "cached_blocks",
                         (unsigned long long)c.cached_blocks, "in_use_bytes", (unsigned long long)c.in_use_bytes,
                         "in_use_blocks", (unsigned long long)c.in_use_blocks, "hits", (unsigned long long)c.hits,
                         "misses", (unsigned long long)c.misses, "evictions", (unsigned long long)c.evictions,
                         "trimmed_bytes", (unsigned long long)c.trimmed_bytes);
}

/* A byte count argument: a non-negative integer that fits size_t. */
static int byte_count(PyObject *arg, const char *name, size_t *out)
{
    if (PyBool_Check(arg) || !PyLong_Check(arg)) {
        zcpy_invalid("%s must be an integer, got %s", name, Py_TYPE(arg)->tp_name);
        return -1;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(arg, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || v < 0) {
        zcpy_invalid("%s must be a byte count in [0, 2**63), got %R", name, arg);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static PyObject *py_array_cache_trim(PyObject *module, PyObject *arg)
{
    size_t keep, released = 0;
    if (byte_count(arg, "keep_bytes", &keep) < 0)
        return NULL;
    CHECK(zc_array_cache_trim(keep, &released));
    return PyLong_FromSize_t(released);
}

static PyObject *py_array_cache_set_limit(PyObject *module, PyObject *arg)
{
    size_t limit;
    if (byte_count(arg, "limit_bytes", &limit) < 0)
        return NULL;
    CHECK(zc_array_cache_set_limit(limit));
    Py_RETURN_NONE;
}

static PyMethodDef mem_functions[] = {
    {"mem_snapshot", py_mem_snapshot, METH_NOARGS, "Totals over every pool and buffer."},
    {"array_cache_stats", py_array_cache_stats, METH_NOARGS, "Statistics of the large-array block cache."},
    {"array_cache_trim", py_array_cache_trim, METH_O, "array_cache_trim(keep_bytes) -> bytes released"},
    {"array_cache_set_limit", py_array_cache_set_limit, METH_O, "array_cache_set_limit(limit_bytes)"},
    {NULL},
};

int zcpy_mem_init(PyObject *m)
{
    if (PyType_Ready(&PoolType) < 0 || PyType_Ready(&BlockType) < 0 ||
        PyModule_AddObjectRef(m, "Pool", (PyObject *)&PoolType) < 0 ||
        PyModule_AddObjectRef(m, "Block", (PyObject *)&BlockType) < 0 || PyModule_AddFunctions(m, mem_functions) < 0)
        return -1;
    static const struct { const char *name; long value; } constants[] = {
        {"MEM_HOST", ZC_MEM_HOST}, {"MEM_PINNED", ZC_MEM_PINNED}, {"MEM_DEVICE", ZC_MEM_DEVICE},
        {"MEM_UNIFIED", ZC_MEM_UNIFIED}, {"POOL_GENERIC", ZC_POOL_GENERIC}, {"POOL_ORDERS", ZC_POOL_ORDERS},
        {"POOL_PRICE_LEVELS", ZC_POOL_PRICE_LEVELS}, {"POOL_MD_RING", ZC_POOL_MD_RING},
        {"POOL_FIELD_VECTORS", ZC_POOL_FIELD_VECTORS}, {"POOL_SECURE", ZC_POOL_SECURE},
        {"POOL_GUARD", ZC_POOL_GUARD}, {"POOL_HUGE_PAGES", ZC_POOL_HUGE_PAGES},
    };
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        if (PyModule_AddIntConstant(m, constants[i].name, constants[i].value) < 0)
            return -1;
    return 0;
}
