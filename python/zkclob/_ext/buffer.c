/* zkclob.Buffer: engine-owned memory exposed without copies through the
 * buffer protocol, __array_interface__ and DLPack (kDLCPU). */
#include "dlpack.h"
#include "ext.h"

#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL zkclob_ARRAY_API
#include <numpy/arrayobject.h>

typedef struct {
    PyObject_HEAD
    zc_array *arr;
    Py_ssize_t shape[ZC_ARRAY_MAX_DIMS];
    Py_ssize_t strides[ZC_ARRAY_MAX_DIMS];
} BufferObject;


typedef struct {
    DLManagedTensor managed;
    zc_array *arr;
    int64_t shape[ZC_ARRAY_MAX_DIMS];
} DLHolder;

static const struct {
    const char *format; /* PEP 3118 */
    int npy_type;
    uint8_t dl_code;
} dtype_map[ZC_DTYPE_COUNT] = {
    {"B", NPY_UINT8, kDLUInt}, {"I", NPY_UINT32, kDLUInt}, {"Q", NPY_UINT64, kDLUInt},
    {"i", NPY_INT32, kDLInt},  {"q", NPY_INT64, kDLInt},   {"d", NPY_FLOAT64, kDLFloat},
};

static void buffer_dealloc(BufferObject *self)
{
    zc_array_release(self->arr);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int buffer_getbuffer(BufferObject *self, Py_buffer *view, int flags)
{
    zc_dtype t = zc_array_dtype(self->arr);
    view->obj = (PyObject *)self;
    Py_INCREF(self);
    view->buf = zc_array_data(self->arr);
    view->len = (Py_ssize_t)zc_array_nbytes(self->arr);
    view->readonly = 0;
    view->itemsize = (Py_ssize_t)zc_dtype_size(t);
    view->format = (flags & PyBUF_FORMAT) ? (char *)dtype_map[t].format : NULL;
    view->ndim = zc_array_ndim(self->arr);
    view->shape = (flags & PyBUF_ND) ? self->shape : NULL;
    view->strides = (flags & PyBUF_STRIDES) ? self->strides : NULL;
    view->suboffsets = NULL;
    view->internal = NULL;
    return 0;
}

static PyBufferProcs buffer_as_buffer = {(getbufferproc)buffer_getbuffer, NULL};

static PyObject *buffer_address(BufferObject *self, void *closure)
{
    return PyLong_FromVoidPtr(zc_array_data(self->arr));
}

static PyObject *buffer_nbytes(BufferObject *self, void *closure)
{
    return PyLong_FromSize_t(zc_array_nbytes(self->arr));
}

static PyObject *shape_tuple(BufferObject *self)
{
    int nd = zc_array_ndim(self->arr);
    PyObject *t = PyTuple_New(nd);
    for (int i = 0; t && i < nd; i++)
        PyTuple_SET_ITEM(t, i, PyLong_FromSsize_t(self->shape[i]));
    return t;
}

static PyObject *buffer_array_interface(BufferObject *self, void *closure)
{
    PyObject *shape = shape_tuple(self);
    if (!shape)
        return NULL;
    return Py_BuildValue("{s:N,s:s,s:(NO),s:O,s:i}", "shape", shape, "typestr",
                         zc_dtype_typestr(zc_array_dtype(self->arr)), "data",
                         PyLong_FromVoidPtr(zc_array_data(self->arr)), Py_False, "strides", Py_None, "version", 3);
}

static void dl_deleter(DLManagedTensor *self)
{
    DLHolder *h = (DLHolder *)self;
    zc_array_release(h->arr);
    PyMem_RawFree(h);
}

static PyObject *buffer_dlpack(BufferObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"stream", "max_version", "dl_device", "copy", NULL};
    PyObject *stream = Py_None, *max_version = Py_None, *dl_device = Py_None, *copy = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$OOOO", kwlist, &stream, &max_version, &dl_device, &copy))
        return NULL;
    if (stream != Py_None)
        return zcpy_invalid("host memory takes no stream, got %R", stream);
    if (copy == Py_True)
        return zcpy_invalid("zkclob buffers are exported without copies (copy=True)");
    DLHolder *h = PyMem_RawCalloc(1, sizeof *h);
    if (!h)
        return PyErr_NoMemory();
    zc_dtype t = zc_array_dtype(self->arr);
    int nd = zc_array_ndim(self->arr);
    for (int i = 0; i < nd; i++)
        h->shape[i] = self->shape[i];
    zc_array_retain(self->arr);
    h->arr = self->arr;
    DLTensor *tensor = &h->managed.dl_tensor;
    tensor->data = zc_array_data(self->arr);
    tensor->device.device_type = kDLCPU;
    tensor->device.device_id = 0;
    tensor->ndim = nd;
    tensor->dtype.code = dtype_map[t].dl_code;
    tensor->dtype.bits = (uint8_t)(8 * zc_dtype_size(t));
    tensor->dtype.lanes = 1;
    tensor->shape = h->shape;
    tensor->strides = NULL; /* compact row-major */
    h->managed.manager_ctx = h;
    h->managed.deleter = dl_deleter;
    PyObject *capsule = PyCapsule_New(&h->managed, "dltensor", zcpy_dlpack_capsule_destructor);
    if (!capsule)
        dl_deleter(&h->managed);
    return capsule;
}

static PyObject *buffer_dlpack_device(BufferObject *self, PyObject *noargs)
{
    return Py_BuildValue("(ii)", kDLCPU, 0);
}

static PyObject *buffer_repr(BufferObject *self)
{
    PyObject *shape = shape_tuple(self);
    if (!shape)
        return NULL;
    PyObject *r = PyUnicode_FromFormat("<zkclob.Buffer %s shape=%R at %p>",
                                       zc_dtype_typestr(zc_array_dtype(self->arr)), shape, zc_array_data(self->arr));
    Py_DECREF(shape);
    return r;
}

static PyGetSetDef buffer_getset[] = {
    {"address", (getter)buffer_address, NULL, "Address of the first byte.", NULL},
    {"nbytes", (getter)buffer_nbytes, NULL, "Size in bytes.", NULL},
    {"__array_interface__", (getter)buffer_array_interface, NULL, "NumPy array interface (version 3).", NULL},
    {NULL},
};

static PyMethodDef buffer_methods[] = {
    {"__dlpack__", (PyCFunction)(void (*)(void))buffer_dlpack, METH_VARARGS | METH_KEYWORDS,
     "Export as a DLPack capsule (no copy)."},
    {"__dlpack_device__", (PyCFunction)buffer_dlpack_device, METH_NOARGS, "(kDLCPU, 0)."},
    {NULL},
};

PyTypeObject zcpy_BufferType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "zkclob.Buffer",
    .tp_basicsize = sizeof(BufferObject),
    .tp_dealloc = (destructor)buffer_dealloc,
    .tp_repr = (reprfunc)buffer_repr,
    .tp_as_buffer = &buffer_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Engine-owned memory. NumPy arrays returned by zkclob view it without copying.",
    .tp_getset = buffer_getset,
    .tp_methods = buffer_methods,
};

static PyObject *buffer_new(zc_array *arr)
{
    BufferObject *b = PyObject_New(BufferObject, &zcpy_BufferType);
    if (!b) {
        zc_array_release(arr);
        return NULL;
    }
    b->arr = arr;
    int nd = zc_array_ndim(arr);
    const size_t *shape = zc_array_shape(arr);
    Py_ssize_t stride = (Py_ssize_t)zc_dtype_size(zc_array_dtype(arr));
    for (int i = nd - 1; i >= 0; i--) {
        b->shape[i] = (Py_ssize_t)shape[i];
        b->strides[i] = stride;
        stride *= (Py_ssize_t)shape[i];
    }
    return (PyObject *)b;
}

PyObject *zcpy_array_from(zc_array *arr)
{
    PyObject *owner = buffer_new(arr);
    if (!owner)
        return NULL;
    BufferObject *b = (BufferObject *)owner;
    npy_intp dims[ZC_ARRAY_MAX_DIMS];
    int nd = zc_array_ndim(arr);
    for (int i = 0; i < nd; i++)
        dims[i] = b->shape[i];
    PyObject *a = PyArray_SimpleNewFromData(nd, dims, dtype_map[zc_array_dtype(arr)].npy_type, zc_array_data(arr));
    if (!a) {
        Py_DECREF(owner);
        return NULL;
    }
    /* Steals the reference to owner, also on failure. */
    if (PyArray_SetBaseObject((PyArrayObject *)a, owner) < 0) {
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

int zcpy_buffer_init(PyObject *module)
{
    if (PyType_Ready(&zcpy_BufferType) < 0)
        return -1;
    return PyModule_AddObjectRef(module, "Buffer", (PyObject *)&zcpy_BufferType);
}

PyObject *zcpy_device_result(zc_status st, zc_array *out, int device)
{
    if (st != ZC_OK) {
        zc_array_release(out);
        return zcpy_raise(st);
    }
    zcpy_flush_log();
    PyObject *a = zcpy_array_from(out);
    if (!a)
        return NULL;
    return Py_BuildValue("(Ni)", a, device);
}
