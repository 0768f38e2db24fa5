/* Batch polynomial commitments for zkclob.zk (commit, open, verify). Inputs
 * are C-contiguous NumPy arrays of the exact dtype (zk.py converts and checks
 * shapes); results are engine-owned arrays handed to NumPy without copying.
 * A commitment is a capsule named "zkclob.Commitment". */
#include "ext.h"

#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL zkclob_ARRAY_API
#include <numpy/arrayobject.h>

#include "args.h"

#define COMMITMENT_CAPSULE "zkclob.Commitment"

static void commitment_destructor(PyObject *capsule)
{
    zc_commitment_free(PyCapsule_GetPointer(capsule, COMMITMENT_CAPSULE));
}

static zc_commitment *commitment_of(PyObject *capsule)
{
    return PyCapsule_GetPointer(capsule, COMMITMENT_CAPSULE); /* sets an error on anything else */
}

/* commit(columns, field, blowup, order, coset, instance, device) -> (commitment, device) */
static PyObject *py_commit(PyObject *self, PyObject *args)
{
    PyObject *obj;
    int field, order, coset, inst, device;
    unsigned int blowup;
    if (!PyArg_ParseTuple(args, "OiIipii", &obj, &field, &blowup, &order, &coset, &inst, &device))
        return NULL;
    zc_field_info fi;
    zc_status st = zc_field_info_get((zc_field)field, &fi);
    if (st != ZC_OK)
        return zcpy_raise(st);
    PyArrayObject *a = zcpy_rows_arg(obj, fi.elem_size == 4 ? NPY_UINT32 : NPY_UINT64, 0, "columns");
    if (!a)
        return NULL;
    zc_ntt_params p = {(zc_field)field, 0, (zc_ntt_order)order, coset};
    zc_commitment *c = NULL;
    Py_BEGIN_ALLOW_THREADS
    st = zc_commit(&device, &p, blowup, (zc_poseidon2_instance)inst, PyArray_DATA(a), (size_t)PyArray_DIM(a, 0),
                   (size_t)PyArray_DIM(a, 1), &c);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    zcpy_flush_log();
    PyObject *capsule = PyCapsule_New(c, COMMITMENT_CAPSULE, commitment_destructor);
    if (!capsule) {
        zc_commitment_free(c);
        return NULL;
    }
    return Py_BuildValue("(Ni)", capsule, device);
}

static PyObject *py_commitment_root(PyObject *self, PyObject *capsule)
{
    zc_commitment *c = commitment_of(capsule);
    if (!c)
        return NULL;
    uint8_t root[ZC_DIGEST_BYTES];
    zc_commitment_root(c, root);
    return PyBytes_FromStringAndSize((const char *)root, ZC_DIGEST_BYTES);
}

static PyObject *py_commitment_lde(PyObject *self, PyObject *capsule)
{
    zc_commitment *c = commitment_of(capsule);
    if (!c)
        return NULL;
    zc_array *lde = zc_commitment_lde(c);
    zc_array_retain(lde);
    return zcpy_array_from(lde);
}

/* commit_open(commitment, indices) -> (rows, proof) */
static PyObject *py_commit_open(PyObject *self, PyObject *args)
{
    PyObject *capsule, *iobj;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &iobj))
        return NULL;
    zc_commitment *c = commitment_of(capsule);
    PyArrayObject *idx = c ? zcpy_array_arg(iobj, NPY_UINT64, 1, 1, "indices") : NULL;
    if (!idx)
        return NULL;
    zc_array *rows = NULL, *proof = NULL;
    zc_status st = zc_commit_open(c, PyArray_DATA(idx), (size_t)PyArray_DIM(idx, 0), &rows, &proof);
    if (st != ZC_OK)
        return zcpy_raise(st);
    return zcpy_pair_result(rows, proof);
}

/* commit_verify(instance, root, lde_rows, indices, rows, proof) -> bool */
static PyObject *py_commit_verify(PyObject *self, PyObject *args)
{
    int inst;
    const char *root;
    Py_ssize_t root_len;
    unsigned long long lde_rows;
    PyObject *iobj, *robj, *pobj;
    if (!PyArg_ParseTuple(args, "iy#KOOO", &inst, &root, &root_len, &lde_rows, &iobj, &robj, &pobj))
        return NULL;
    zc_poseidon2_info info;
    zc_status st = zc_poseidon2_info_get((zc_poseidon2_instance)inst, &info);
    if (st != ZC_OK)
        return zcpy_raise(st);
    if (root_len != ZC_DIGEST_BYTES)
        return zcpy_invalid("root must be %d bytes, got %zd", ZC_DIGEST_BYTES, root_len);
    PyArrayObject *idx = zcpy_array_arg(iobj, NPY_UINT64, 1, 1, "indices");
    PyArrayObject *rows = idx ? zcpy_rows_arg(robj, info.goldilocks ? NPY_UINT64 : NPY_UINT32, 0, "rows") : NULL;
    PyArrayObject *proof = rows ? zcpy_rows_arg(pobj, NPY_UINT8, 0, "proof") : NULL;
    if (!proof)
        return NULL;
    if (PyArray_DIM(rows, 0) != PyArray_DIM(idx, 0))
        return zcpy_invalid("%zd indices but %zd opened rows", PyArray_DIM(idx, 0), PyArray_DIM(rows, 0));
    if (PyArray_DIM(proof, 1) != ZC_DIGEST_BYTES)
        return zcpy_invalid("proof must have shape (nodes, 32), got (%zd, %zd)", PyArray_DIM(proof, 0),
                            PyArray_DIM(proof, 1));
    int valid = 0;
    st = zc_commit_verify((zc_poseidon2_instance)inst, (const uint8_t *)root, lde_rows, (size_t)PyArray_DIM(rows, 1),
                          PyArray_DATA(idx), (size_t)PyArray_DIM(idx, 0), PyArray_DATA(rows), PyArray_DATA(proof),
                          (size_t)PyArray_DIM(proof, 0), &valid);
    if (st != ZC_OK)
        return zcpy_raise(st);
    return PyBool_FromLong(valid);
}

static PyMethodDef commit_methods[] = {
    {"commit", py_commit, METH_VARARGS,
     "commit(columns, field, blowup, order, coset, instance, device) -> (commitment, device)."},
    {"commitment_root", py_commitment_root, METH_O, "The 32-byte root of a commitment."},
    {"commitment_lde", py_commitment_lde, METH_O, "The LDE matrix of a commitment, without a copy."},
    {"commit_open", py_commit_open, METH_VARARGS, "commit_open(commitment, indices) -> (rows, proof)."},
    {"commit_verify", py_commit_verify, METH_VARARGS,
     "commit_verify(instance, root, lde_rows, indices, rows, proof) -> bool."},
    {NULL, NULL, 0, NULL}};

int zcpy_commit_init(PyObject *m) { return PyModule_AddFunctions(m, commit_methods); }
