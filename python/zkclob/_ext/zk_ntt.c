/* Fields, NTT and polynomials for zkclob.zk. Inputs are C-contiguous NumPy
 * arrays of the field's dtype (zk.py converts and checks shapes); results
 * are new engine-owned arrays handed to NumPy without copying. Each compute
 * call returns (result, id of the device that ran it). */
#include "ext.h"

#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL zkclob_ARRAY_API
#include <numpy/arrayobject.h>

#include "args.h"

/* `obj` as a C-contiguous, non-empty array of the field's element type with
 * ndim in [min_nd, max_nd] (borrowed); NULL with InvalidArgumentError. */
static PyArrayObject *field_array(PyObject *obj, const zc_field_info *fi, int min_nd, int max_nd, const char *name)
{
    PyArrayObject *a = zcpy_array_arg(obj, fi->elem_size == 4 ? NPY_UINT32 : NPY_UINT64, min_nd, max_nd, name);
    if (a && PyArray_SIZE(a) == 0)
        return (PyArrayObject *)zcpy_invalid("%s is empty", name);
    return a;
}

static int field_of(int field, zc_field_info *fi)
{
    zc_status st = zc_field_info_get((zc_field)field, fi);
    if (st != ZC_OK) {
        zcpy_raise(st);
        return -1;
    }
    return 0;
}

/* A new result array of the field's dtype. */
static zc_array *new_result(const zc_field_info *fi, int ndim, size_t d0, size_t d1)
{
    return zcpy_new_array(fi->elem_size == 4 ? ZC_DTYPE_U32 : ZC_DTYPE_U64, ndim, (size_t[]){d0, d1});
}

/* rows and cols of a 1-D (one column) or 2-D array. */
static void matrix_shape(PyArrayObject *a, size_t *rows, size_t *cols)
{
    *rows = (size_t)PyArray_DIM(a, 0);
    *cols = PyArray_NDIM(a) == 2 ? (size_t)PyArray_DIM(a, 1) : 1;
}

static PyObject *py_ntt(PyObject *self, PyObject *args)
{
    PyObject *obj;
    int field, inverse, order, coset, device;
    if (!PyArg_ParseTuple(args, "Oipipi", &obj, &field, &inverse, &order, &coset, &device))
        return NULL;
    zc_field_info fi;
    if (field_of(field, &fi) < 0)
        return NULL;
    PyArrayObject *in = field_array(obj, &fi, 1, 2, "values");
    if (!in)
        return NULL;
    size_t rows, cols;
    matrix_shape(in, &rows, &cols);
    zc_array *out = new_result(&fi, PyArray_NDIM(in), rows, cols);
    if (!out)
        return NULL;
    zc_ntt_params p = {(zc_field)field, inverse, (zc_ntt_order)order, coset};
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_ntt(&device, &p, PyArray_DATA(in), zc_array_data(out), rows, cols);
    Py_END_ALLOW_THREADS
    return zcpy_device_result(st, out, device);
}

static PyObject *py_lde(PyObject *self, PyObject *args)
{
    PyObject *obj;
    int field, order, coset, device;
    unsigned int blowup;
    if (!PyArg_ParseTuple(args, "OiIipi", &obj, &field, &blowup, &order, &coset, &device))
        return NULL;
    zc_field_info fi;
    if (field_of(field, &fi) < 0)
        return NULL;
    PyArrayObject *in = field_array(obj, &fi, 1, 2, "values");
    if (!in)
        return NULL;
    size_t rows, cols;
    matrix_shape(in, &rows, &cols);
    if (blowup != 2 && blowup != 4 && blowup != 8)
        return zcpy_invalid("blowup must be 2, 4 or 8, got %u", blowup);
    zc_array *out = new_result(&fi, PyArray_NDIM(in), rows * blowup, cols);
    if (!out)
        return NULL;
    zc_ntt_params p = {(zc_field)field, 0, (zc_ntt_order)order, coset};
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_lde(&device, &p, blowup, PyArray_DATA(in), zc_array_data(out), rows, cols);
    Py_END_ALLOW_THREADS
    return zcpy_device_result(st, out, device);
}

/* Parses (x, y, field, device) where x and y are 1-D vectors of the field. */
static int two_vectors(PyObject *args, const char *xname, const char *yname, int *field, int *device,
                       zc_field_info *fi, PyArrayObject **x, PyArrayObject **y)
{
    PyObject *xobj, *yobj;
    if (!PyArg_ParseTuple(args, "OOii", &xobj, &yobj, field, device) || field_of(*field, fi) < 0)
        return -1;
    *x = field_array(xobj, fi, 1, 1, xname);
    *y = *x ? field_array(yobj, fi, 1, 1, yname) : NULL;
    return *y ? 0 : -1;
}

static PyObject *py_poly_eval(PyObject *self, PyObject *args)
{
    int field, device;
    zc_field_info fi;
    PyArrayObject *coeffs, *points;
    if (two_vectors(args, "coeffs", "points", &field, &device, &fi, &coeffs, &points) < 0)
        return NULL;
    size_t n = (size_t)PyArray_DIM(coeffs, 0), m = (size_t)PyArray_DIM(points, 0);
    zc_array *out = new_result(&fi, 1, m, 0);
    if (!out)
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_poly_eval(&device, (zc_field)field, PyArray_DATA(coeffs), n, PyArray_DATA(points), m,
                      zc_array_data(out));
    Py_END_ALLOW_THREADS
    return zcpy_device_result(st, out, device);
}

static PyObject *py_poly_mul(PyObject *self, PyObject *args)
{
    int field, device;
    zc_field_info fi;
    PyArrayObject *a, *b;
    if (two_vectors(args, "a", "b", &field, &device, &fi, &a, &b) < 0)
        return NULL;
    size_t na = (size_t)PyArray_DIM(a, 0), nb = (size_t)PyArray_DIM(b, 0);
    zc_array *out = new_result(&fi, 1, na + nb - 1, 0);
    if (!out)
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_poly_mul(&device, (zc_field)field, PyArray_DATA(a), na, PyArray_DATA(b), nb, zc_array_data(out));
    Py_END_ALLOW_THREADS
    return zcpy_device_result(st, out, device);
}

static PyObject *py_batch_inverse(PyObject *self, PyObject *args)
{
    PyObject *obj;
    int field, device;
    if (!PyArg_ParseTuple(args, "Oii", &obj, &field, &device))
        return NULL;
    zc_field_info fi;
    if (field_of(field, &fi) < 0)
        return NULL;
    PyArrayObject *in = field_array(obj, &fi, 1, 1, "values");
    if (!in)
        return NULL;
    size_t n = (size_t)PyArray_DIM(in, 0);
    zc_array *out = new_result(&fi, 1, n, 0);
    if (!out)
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_batch_inverse(&device, (zc_field)field, PyArray_DATA(in), zc_array_data(out), n);
    Py_END_ALLOW_THREADS
    return zcpy_device_result(st, out, device);
}

static PyObject *py_field_info(PyObject *self, PyObject *arg)
{
    int field = PyLong_AsLong(arg);
    if (field == -1 && PyErr_Occurred())
        return NULL;
    zc_field_info fi;
    if (field_of(field, &fi) < 0)
        return NULL;
    return Py_BuildValue("{s:s,s:K,s:n,s:K,s:I}", "name", fi.name, "modulus", (unsigned long long)fi.modulus,
                         "elem_size", (Py_ssize_t)fi.elem_size, "generator", (unsigned long long)fi.generator,
                         "two_adicity", fi.two_adicity);
}

static PyObject *py_two_adic_generator(PyObject *self, PyObject *args)
{
    int field;
    unsigned int bits;
    if (!PyArg_ParseTuple(args, "iI", &field, &bits))
        return NULL;
    uint64_t g;
    zc_status st = zc_field_two_adic_generator((zc_field)field, bits, &g);
    if (st != ZC_OK)
        return zcpy_raise(st);
    return PyLong_FromUnsignedLongLong(g);
}

static PyObject *py_simd_get(PyObject *self, PyObject *noargs) { return PyLong_FromLong(zc_zk_simd_get()); }

static PyObject *py_simd_best(PyObject *self, PyObject *noargs) { return PyLong_FromLong(zc_zk_simd_best()); }

static PyObject *py_simd_set(PyObject *self, PyObject *arg)
{
    int level = PyLong_AsLong(arg);
    if (level == -1 && PyErr_Occurred())
        return NULL;
    zc_status st = zc_zk_simd_set((zc_simd_level)level);
    if (st != ZC_OK)
        return zcpy_raise(st);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"ntt", py_ntt, METH_VARARGS, "ntt(values, field, inverse, order, coset, device) -> (array, device)."},
    {"lde", py_lde, METH_VARARGS, "lde(values, field, blowup, order, coset, device) -> (array, device)."},
    {"poly_eval", py_poly_eval, METH_VARARGS, "poly_eval(coeffs, points, field, device) -> (array, device)."},
    {"poly_mul", py_poly_mul, METH_VARARGS, "poly_mul(a, b, field, device) -> (array, device)."},
    {"batch_inverse", py_batch_inverse, METH_VARARGS, "batch_inverse(values, field, device) -> (array, device)."},
    {"field_info", py_field_info, METH_O, "Modulus, element size, generator and two-adicity of a field."},
    {"two_adic_generator", py_two_adic_generator, METH_VARARGS, "two_adic_generator(field, bits) -> int."},
    {"zk_simd_get", py_simd_get, METH_NOARGS, "The cpu SIMD level of the field kernels."},
    {"zk_simd_best", py_simd_best, METH_NOARGS, "The best cpu SIMD level this machine has."},
    {"zk_simd_set", py_simd_set, METH_O, "Set the cpu SIMD level of the field kernels."},
    {NULL},
};

int zcpy_ntt_init(PyObject *m)
{
    if (PyModule_AddFunctions(m, methods) < 0)
        return -1;
    static const struct {
        const char *name;
        int value;
    } consts[] = {{"FIELD_BABYBEAR", ZC_FIELD_BABYBEAR}, {"FIELD_GOLDILOCKS", ZC_FIELD_GOLDILOCKS},
                  {"NTT_NN", ZC_NTT_NN},                 {"NTT_NR", ZC_NTT_NR},
                  {"NTT_RN", ZC_NTT_RN},                 {"NTT_RR", ZC_NTT_RR},
                  {"SIMD_SCALAR", ZC_SIMD_SCALAR},       {"SIMD_AVX2", ZC_SIMD_AVX2}};
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++)
        if (PyModule_AddIntConstant(m, consts[i].name, consts[i].value) < 0)
            return -1;
    return 0;
}
