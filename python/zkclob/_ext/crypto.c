/* _zkclob: secp256k1 ECDSA wrappers for zkclob.crypto. Array inputs are
 * C-contiguous uint8 (uint32 for key indices) NumPy arrays of the exact shape
 * (the Python module converts and checks first); results are engine-owned
 * arrays handed to NumPy without copying. */
#include "ext.h"

#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL zkclob_ARRAY_API
#include <numpy/arrayobject.h>

#include "args.h"

static PyObject *py_ecdsa_verify_batch(PyObject *self, PyObject *args)
{
    PyObject *pobj, *dobj, *sobj;
    unsigned flags;
    int device;
    if (!PyArg_ParseTuple(args, "OOOIi", &pobj, &dobj, &sobj, &flags, &device))
        return NULL;
    PyArrayObject *pk = zcpy_rows_arg(pobj, NPY_UINT8, ZC_SECP256K1_PUBKEY_BYTES, "pubkeys");
    PyArrayObject *dg = pk ? zcpy_rows_arg(dobj, NPY_UINT8, 32, "digests") : NULL;
    PyArrayObject *sg = dg ? zcpy_rows_arg(sobj, NPY_UINT8, ZC_SECP256K1_SIG_BYTES, "signatures") : NULL;
    if (!sg)
        return NULL;
    size_t n = (size_t)PyArray_DIM(pk, 0);
    if ((size_t)PyArray_DIM(dg, 0) != n || (size_t)PyArray_DIM(sg, 0) != n)
        return zcpy_invalid("pubkeys, digests and signatures need the same number of rows: %zu, %zd and %zd", n,
                            (Py_ssize_t)PyArray_DIM(dg, 0), (Py_ssize_t)PyArray_DIM(sg, 0));
    zc_array *out = zcpy_new_array(ZC_DTYPE_U8, 1, &n);
    if (!out)
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_ecdsa_verify_batch(&device, PyArray_DATA(pk), PyArray_DATA(dg), PyArray_DATA(sg), n, flags,
                               zc_array_data(out));
    Py_END_ALLOW_THREADS
    return zcpy_device_result(st, out, device);
}

/* (parsed (n, 64), ok (n,)) */
static PyObject *py_pubkey_parse(PyObject *self, PyObject *arg)
{
    PyArrayObject *in = zcpy_rows_arg(arg, NPY_UINT8, 0, "pubkeys");
    if (!in)
        return NULL;
    size_t n = (size_t)PyArray_DIM(in, 0), len = (size_t)PyArray_DIM(in, 1);
    zc_array *out = zcpy_new_array(ZC_DTYPE_U8, 2, (size_t[]){n, ZC_SECP256K1_PUBKEY_BYTES});
    zc_array *ok = out ? zcpy_new_array(ZC_DTYPE_U8, 1, &n) : NULL;
    if (!ok) {
        zc_array_release(out);
        return NULL;
    }
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_secp256k1_pubkey_parse(PyArray_DATA(in), n, len, zc_array_data(out), zc_array_data(ok));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK) {
        zc_array_release(out);
        zc_array_release(ok);
        return zcpy_raise(st);
    }
    return zcpy_pair_result(out, ok);
}

static PyObject *py_pubkey_create(PyObject *self, PyObject *arg)
{
    PyArrayObject *sk = zcpy_rows_arg(arg, NPY_UINT8, 32, "seckeys");
    if (!sk)
        return NULL;
    size_t n = (size_t)PyArray_DIM(sk, 0);
    zc_array *out = zcpy_new_array(ZC_DTYPE_U8, 2, (size_t[]){n, ZC_SECP256K1_PUBKEY_BYTES});
    if (!out)
        return NULL;
    const uint8_t *keys = PyArray_DATA(sk);
    uint8_t *pk = zc_array_data(out);
    zc_status st = ZC_OK;
    Py_BEGIN_ALLOW_THREADS
    for (size_t i = 0; i < n && st == ZC_OK; i++)
        st = zc_secp256k1_pubkey_create(keys + 32 * i, pk + 64 * i);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK) {
        zc_array_release(out);
        return zcpy_raise(st);
    }
    return zcpy_array_from(out);
}

static PyObject *py_sign_batch(PyObject *self, PyObject *args)
{
    PyObject *kobj, *iobj, *dobj;
    if (!PyArg_ParseTuple(args, "OOO", &kobj, &iobj, &dobj))
        return NULL;
    PyArrayObject *sk = zcpy_rows_arg(kobj, NPY_UINT8, 32, "seckeys");
    PyArrayObject *dg = sk ? zcpy_rows_arg(dobj, NPY_UINT8, 32, "digests") : NULL;
    if (!dg)
        return NULL;
    size_t n = (size_t)PyArray_DIM(dg, 0), nkeys = (size_t)PyArray_DIM(sk, 0);
    const uint32_t *index = NULL;
    if (iobj != Py_None) {
        PyArrayObject *ix = zcpy_array_arg(iobj, NPY_UINT32, 1, 1, "key_index");
        if (!ix)
            return NULL;
        if ((size_t)PyArray_DIM(ix, 0) != n)
            return zcpy_invalid("key_index needs one entry per digest: %zd for %zu", (Py_ssize_t)PyArray_DIM(ix, 0),
                                n);
        index = PyArray_DATA(ix);
    }
    zc_array *out = zcpy_new_array(ZC_DTYPE_U8, 2, (size_t[]){n, ZC_SECP256K1_SIG_BYTES});
    if (!out)
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_ecdsa_sign_batch(PyArray_DATA(sk), nkeys, index, PyArray_DATA(dg), n, zc_array_data(out));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK) {
        zc_array_release(out);
        return zcpy_raise(st);
    }
    return zcpy_array_from(out);
}

/* A sequence of bytes-like DER encodings -> (sigs (n, 64), ok (n,)). */
static PyObject *py_sig_parse_der(PyObject *self, PyObject *arg)
{
    PyObject *seq = PySequence_Fast(arg, "der must be a sequence of bytes objects");
    if (!seq)
        return NULL;
    size_t n = (size_t)PySequence_Fast_GET_SIZE(seq);
    zc_array *out = zcpy_new_array(ZC_DTYPE_U8, 2, (size_t[]){n, ZC_SECP256K1_SIG_BYTES});
    zc_array *ok = out ? zcpy_new_array(ZC_DTYPE_U8, 1, &n) : NULL;
    if (!ok) {
        zc_array_release(out);
        Py_DECREF(seq);
        return NULL;
    }
    uint8_t *sigs = zc_array_data(out), *oks = zc_array_data(ok);
    for (size_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, (Py_ssize_t)i);
        Py_buffer view;
        if (PyObject_GetBuffer(item, &view, PyBUF_SIMPLE) < 0) {
            PyErr_Clear();
            zcpy_invalid("der[%zu] must be bytes-like, got %s", i, Py_TYPE(item)->tp_name);
            break;
        }
        zc_status st = zc_ecdsa_sig_parse_der(view.buf, (size_t)view.len, sigs + 64 * i, oks + i);
        PyBuffer_Release(&view);
        if (st != ZC_OK) {
            zcpy_raise(st);
            break;
        }
    }
    Py_DECREF(seq);
    if (PyErr_Occurred()) {
        zc_array_release(out);
        zc_array_release(ok);
        return NULL;
    }
    return zcpy_pair_result(out, ok);
}

static PyMethodDef crypto_methods[] = {
    {"ecdsa_verify_batch", py_ecdsa_verify_batch, METH_VARARGS,
     "ecdsa_verify_batch(pubkeys64, digests, signatures, flags, device) -> (valid uint8 array, device)."},
    {"secp256k1_pubkey_parse", py_pubkey_parse, METH_O,
     "secp256k1_pubkey_parse(sec1 (n, 33 or 65) uint8) -> (pubkeys64 (n, 64), ok (n,))."},
    {"secp256k1_pubkey_create", py_pubkey_create, METH_O, "secp256k1_pubkey_create(seckeys (n, 32)) -> (n, 64)."},
    {"ecdsa_sign_batch", py_sign_batch, METH_VARARGS,
     "ecdsa_sign_batch(seckeys (k, 32), key_index (n,) uint32 or None, digests (n, 32)) -> (n, 64)."},
    {"ecdsa_sig_parse_der", py_sig_parse_der, METH_O,
     "ecdsa_sig_parse_der(sequence of bytes) -> (signatures (n, 64), ok (n,))."},
    {NULL, NULL, 0, NULL}};

int zcpy_crypto_init(PyObject *m)
{
    if (PyModule_AddIntConstant(m, "ECDSA_LOW_S", ZC_ECDSA_LOW_S) < 0)
        return -1;
    return PyModule_AddFunctions(m, crypto_methods);
}
