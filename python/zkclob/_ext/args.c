/* Array-argument checks (see args.h) and result builders (ext.h) shared by
 * the _zkclob wrappers. */
#include "ext.h"

#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL zkclob_ARRAY_API
#include <numpy/arrayobject.h>

#include "args.h"

PyArrayObject *zcpy_array_arg(PyObject *obj, int type, int min_nd, int max_nd, const char *name)
{
    if (!PyArray_Check(obj))
        return (PyArrayObject *)zcpy_invalid("%s must be a NumPy array, got %s", name, Py_TYPE(obj)->tp_name);
    PyArrayObject *a = (PyArrayObject *)obj;
    if (PyArray_TYPE(a) != type || !PyArray_ISNOTSWAPPED(a)) {
        PyArray_Descr *want = PyArray_DescrFromType(type);
        zcpy_invalid("%s must have dtype %S, got %S", name, (PyObject *)want, (PyObject *)PyArray_DESCR(a));
        Py_XDECREF(want);
        return NULL;
    }
    int nd = PyArray_NDIM(a);
    if (nd < min_nd || nd > max_nd) {
        if (min_nd == max_nd)
            return (PyArrayObject *)zcpy_invalid("%s must have %d dimension(s), got %d", name, min_nd, nd);
        return (PyArrayObject *)zcpy_invalid("%s must have %d to %d dimensions, got %d", name, min_nd, max_nd, nd);
    }
    if (!PyArray_IS_C_CONTIGUOUS(a) || !PyArray_ISALIGNED(a))
        return (PyArrayObject *)zcpy_invalid("%s must be C-contiguous and aligned", name);
    return a;
}

PyArrayObject *zcpy_rows_arg(PyObject *obj, int type, npy_intp width, const char *name)
{
    PyArrayObject *a = zcpy_array_arg(obj, type, 2, 2, name);
    if (a && width && PyArray_DIM(a, 1) != width)
        return (PyArrayObject *)zcpy_invalid("%s must have shape (n, %zd), got (%zd, %zd)", name, (Py_ssize_t)width,
                                             (Py_ssize_t)PyArray_DIM(a, 0), (Py_ssize_t)PyArray_DIM(a, 1));
    return a;
}

PyArrayObject *zcpy_records_arg(PyObject *obj, size_t itemsize, const char *name)
{
    if (!PyArray_Check(obj))
        return (PyArrayObject *)zcpy_invalid("%s must be a NumPy array, got %s", name, Py_TYPE(obj)->tp_name);
    PyArrayObject *a = (PyArrayObject *)obj;
    if (PyArray_NDIM(a) != 1 || (size_t)PyArray_ITEMSIZE(a) != itemsize || !PyArray_IS_C_CONTIGUOUS(a) ||
        !PyArray_ISALIGNED(a))
        return (PyArrayObject *)zcpy_invalid("%s must be a 1-D C-contiguous array of %zu-byte records", name, itemsize);
    return a;
}

zc_array *zcpy_new_array(zc_dtype dtype, int ndim, const size_t *shape)
{
    zc_array *out = NULL;
    zc_status st = zc_array_new(dtype, ndim, shape, &out);
    if (st != ZC_OK)
        zcpy_raise(st);
    return out;
}

PyObject *zcpy_pair_result(zc_array *a, zc_array *b)
{
    PyObject *pa = zcpy_array_from(a);
    if (!pa) {
        zc_array_release(b);
        return NULL;
    }
    PyObject *pb = zcpy_array_from(b);
    if (!pb) {
        Py_DECREF(pa);
        return NULL;
    }
    return Py_BuildValue("(NN)", pa, pb);
}
