/* Poseidon2, SHA-256, Keccak-256 and Merkle trees for zkclob.hashes and
 * zkclob.merkle. Inputs are C-contiguous NumPy arrays of the exact dtype
 * (the Python modules convert and check shapes); results are engine-owned
 * arrays handed to NumPy without copying. Compute calls return (result, id of
 * the device that ran it). A tree is a capsule named "zkclob.MerkleTree". */
#include "ext.h"

#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL zkclob_ARRAY_API
#include <numpy/arrayobject.h>

#include "args.h"

#define TREE_CAPSULE "zkclob.MerkleTree"

static int instance_info(int inst, zc_poseidon2_info *info)
{
    zc_status st = zc_poseidon2_info_get((zc_poseidon2_instance)inst, info);
    if (st != ZC_OK) {
        zcpy_raise(st);
        return -1;
    }
    return 0;
}

static int elem_type(const zc_poseidon2_info *info) { return info->goldilocks ? NPY_UINT64 : NPY_UINT32; }

/* A new (n, width) array of the instance's element type. */
static zc_array *new_rows(const zc_poseidon2_info *info, size_t n, size_t width)
{
    return zcpy_new_array(info->goldilocks ? ZC_DTYPE_U64 : ZC_DTYPE_U32, 2, (size_t[]){n, width});
}

/* Parses (rows, instance, device) where rows is a 2-D array of the
 * instance's element type. */
static PyArrayObject *rows_of_instance(PyObject *args, const char *name, int *inst, int *device,
                                       zc_poseidon2_info *info)
{
    PyObject *obj;
    if (!PyArg_ParseTuple(args, "Oii", &obj, inst, device) || instance_info(*inst, info) < 0)
        return NULL;
    return zcpy_rows_arg(obj, elem_type(info), 0, name);
}

static PyObject *py_poseidon2_info(PyObject *self, PyObject *arg)
{
    int inst = PyLong_AsLong(arg);
    zc_poseidon2_info info;
    if ((inst == -1 && PyErr_Occurred()) || instance_info(inst, &info) < 0)
        return NULL;
    return Py_BuildValue("{s:s,s:O,s:K,s:n,s:n,s:n,s:n}", "name", info.name, "goldilocks",
                         info.goldilocks ? Py_True : Py_False, "modulus", (unsigned long long)info.modulus,
                         "elem_size", (Py_ssize_t)info.elem_size, "width", (Py_ssize_t)info.width, "rate",
                         (Py_ssize_t)info.rate, "digest", (Py_ssize_t)info.digest);
}

static PyObject *py_poseidon2_permute(PyObject *self, PyObject *args)
{
    int inst, device;
    zc_poseidon2_info info;
    PyArrayObject *a = rows_of_instance(args, "states", &inst, &device, &info);
    if (!a)
        return NULL;
    if ((size_t)PyArray_DIM(a, 1) != info.width)
        return zcpy_invalid("states of %s have %zu elements, got %zd", info.name, info.width, PyArray_DIM(a, 1));
    size_t n = (size_t)PyArray_DIM(a, 0);
    zc_array *out = new_rows(&info, n, info.width);
    if (!out)
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_poseidon2_permute(&device, (zc_poseidon2_instance)inst, PyArray_DATA(a), zc_array_data(out), n);
    Py_END_ALLOW_THREADS
    return zcpy_device_result(st, out, device);
}

static PyObject *py_poseidon2_hash(PyObject *self, PyObject *args)
{
    int inst, device;
    zc_poseidon2_info info;
    PyArrayObject *a = rows_of_instance(args, "rows", &inst, &device, &info);
    if (!a)
        return NULL;
    size_t n = (size_t)PyArray_DIM(a, 0), len = (size_t)PyArray_DIM(a, 1);
    zc_array *out = new_rows(&info, n, info.digest);
    if (!out)
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_poseidon2_hash(&device, (zc_poseidon2_instance)inst, PyArray_DATA(a), n, len, zc_array_data(out));
    Py_END_ALLOW_THREADS
    return zcpy_device_result(st, out, device);
}

static PyObject *py_poseidon2_compress(PyObject *self, PyObject *args)
{
    PyObject *lobj, *robj;
    int inst, device;
    zc_poseidon2_info info;
    if (!PyArg_ParseTuple(args, "OOii", &lobj, &robj, &inst, &device) || instance_info(inst, &info) < 0)
        return NULL;
    PyArrayObject *l = zcpy_rows_arg(lobj, elem_type(&info), 0, "left");
    PyArrayObject *r = l ? zcpy_rows_arg(robj, elem_type(&info), 0, "right") : NULL;
    if (!r)
        return NULL;
    if ((size_t)PyArray_DIM(l, 1) != info.digest || (size_t)PyArray_DIM(r, 1) != info.digest ||
        PyArray_DIM(l, 0) != PyArray_DIM(r, 0))
        return zcpy_invalid("left and right must both have shape (n, %zu) for %s", info.digest, info.name);
    size_t n = (size_t)PyArray_DIM(l, 0);
    zc_array *out = new_rows(&info, n, info.digest);
    if (!out)
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_poseidon2_compress(&device, (zc_poseidon2_instance)inst, PyArray_DATA(l), PyArray_DATA(r), n,
                               zc_array_data(out));
    Py_END_ALLOW_THREADS
    return zcpy_device_result(st, out, device);
}

/* data (1-D uint8) and offsets (1-D uint64, n + 1 entries). */
static int byte_strings(PyObject *dobj, PyObject *oobj, PyArrayObject **data, PyArrayObject **offsets, size_t *n)
{
    *data = zcpy_array_arg(dobj, NPY_UINT8, 1, 1, "data");
    *offsets = *data ? zcpy_array_arg(oobj, NPY_UINT64, 1, 1, "offsets") : NULL;
    if (!*offsets)
        return -1;
    if (PyArray_DIM(*offsets, 0) < 1) {
        zcpy_invalid("offsets needs n + 1 entries, got none");
        return -1;
    }
    *n = (size_t)PyArray_DIM(*offsets, 0) - 1;
    return 0;
}

static PyObject *py_bytes_hash(PyObject *self, PyObject *args)
{
    PyObject *dobj, *oobj;
    int hash, device;
    PyArrayObject *data, *offsets;
    size_t n;
    if (!PyArg_ParseTuple(args, "iOOi", &hash, &dobj, &oobj, &device) ||
        byte_strings(dobj, oobj, &data, &offsets, &n) < 0)
        return NULL;
    if (hash != ZC_MERKLE_HASH_SHA256 && hash != ZC_MERKLE_HASH_KECCAK256)
        return zcpy_invalid("hash must be sha256 or keccak256");
    zc_array *out = zcpy_new_array(ZC_DTYPE_U8, 2, (size_t[]){n, ZC_DIGEST_BYTES});
    if (!out)
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = (hash == ZC_MERKLE_HASH_SHA256 ? zc_sha256_batch : zc_keccak256_batch)(
        &device, PyArray_DATA(data), (size_t)PyArray_DIM(data, 0), PyArray_DATA(offsets), n, zc_array_data(out));
    Py_END_ALLOW_THREADS
    return zcpy_device_result(st, out, device);
}

/* ---- Merkle trees ---- */

static void tree_destructor(PyObject *capsule)
{
    zc_merkle_free(PyCapsule_GetPointer(capsule, TREE_CAPSULE));
}

static zc_merkle_tree *tree_of(PyObject *capsule)
{
    return PyCapsule_GetPointer(capsule, TREE_CAPSULE); /* sets an error on anything else */
}

static PyObject *tree_result(zc_status st, zc_merkle_tree *t, int device)
{
    if (st != ZC_OK)
        return zcpy_raise(st);
    zcpy_flush_log();
    PyObject *capsule = PyCapsule_New(t, TREE_CAPSULE, tree_destructor);
    if (!capsule) {
        zc_merkle_free(t);
        return NULL;
    }
    return Py_BuildValue("(Ni)", capsule, device);
}

static PyObject *py_merkle_build_rows(PyObject *self, PyObject *args)
{
    int inst, device;
    zc_poseidon2_info info;
    PyArrayObject *a = rows_of_instance(args, "leaves", &inst, &device, &info);
    if (!a)
        return NULL;
    zc_merkle_tree *t = NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_merkle_build_rows(&device, (zc_poseidon2_instance)inst, PyArray_DATA(a), (size_t)PyArray_DIM(a, 0),
                              (size_t)PyArray_DIM(a, 1), &t);
    Py_END_ALLOW_THREADS
    return tree_result(st, t, device);
}

static PyObject *py_merkle_build_bytes(PyObject *self, PyObject *args)
{
    PyObject *dobj, *oobj;
    int hash, device;
    PyArrayObject *data, *offsets;
    size_t n;
    if (!PyArg_ParseTuple(args, "iOOi", &hash, &dobj, &oobj, &device) ||
        byte_strings(dobj, oobj, &data, &offsets, &n) < 0)
        return NULL;
    zc_merkle_tree *t = NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_merkle_build_bytes(&device, (zc_merkle_hash)hash, PyArray_DATA(data), (size_t)PyArray_DIM(data, 0),
                               PyArray_DATA(offsets), n, &t);
    Py_END_ALLOW_THREADS
    return tree_result(st, t, device);
}

static PyObject *py_merkle_info(PyObject *self, PyObject *capsule)
{
    zc_merkle_tree *t = tree_of(capsule);
    if (!t)
        return NULL;
    unsigned depth = zc_merkle_depth(t);
    PyObject *levels = PyList_New(depth + 1);
    for (unsigned k = 0; levels && k <= depth; k++) {
        PyObject *item = Py_BuildValue("(nn)", (Py_ssize_t)zc_merkle_level_offset(t, k),
                                       (Py_ssize_t)zc_merkle_level_size(t, k));
        if (!item)
            Py_CLEAR(levels);
        else
            PyList_SET_ITEM(levels, k, item);
    }
    if (!levels)
        return NULL;
    return Py_BuildValue("{s:i,s:i,s:n,s:K,s:I,s:N}", "hash", (int)zc_merkle_hash_kind(t), "instance",
                         (int)zc_merkle_instance(t), "row_len", (Py_ssize_t)zc_merkle_row_len(t), "num_leaves",
                         (unsigned long long)zc_merkle_num_leaves(t), "depth", depth, "levels", levels);
}

static PyObject *py_merkle_root(PyObject *self, PyObject *capsule)
{
    zc_merkle_tree *t = tree_of(capsule);
    if (!t)
        return NULL;
    uint8_t root[ZC_DIGEST_BYTES];
    zc_merkle_root(t, root);
    return PyBytes_FromStringAndSize((const char *)root, ZC_DIGEST_BYTES);
}

static PyObject *py_merkle_nodes(PyObject *self, PyObject *capsule)
{
    zc_merkle_tree *t = tree_of(capsule);
    if (!t)
        return NULL;
    zc_array *nodes = zc_merkle_nodes(t);
    zc_array_retain(nodes);
    return zcpy_array_from(nodes);
}

static PyObject *py_merkle_proof(PyObject *self, PyObject *args)
{
    PyObject *capsule;
    unsigned long long index;
    if (!PyArg_ParseTuple(args, "OK", &capsule, &index))
        return NULL;
    zc_merkle_tree *t = tree_of(capsule);
    if (!t)
        return NULL;
    zc_array *out = zcpy_new_array(ZC_DTYPE_U8, 2, (size_t[]){zc_merkle_depth(t), ZC_DIGEST_BYTES});
    if (!out)
        return NULL;
    zc_status st = zc_merkle_proof(t, index, zc_array_data(out));
    if (st != ZC_OK) {
        zc_array_release(out);
        return zcpy_raise(st);
    }
    return zcpy_array_from(out);
}

static PyObject *py_merkle_multiproof(PyObject *self, PyObject *args)
{
    PyObject *capsule, *iobj;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &iobj))
        return NULL;
    zc_merkle_tree *t = tree_of(capsule);
    PyArrayObject *idx = t ? zcpy_array_arg(iobj, NPY_UINT64, 1, 1, "indices") : NULL;
    if (!idx)
        return NULL;
    zc_array *out = NULL;
    zc_status st = zc_merkle_multiproof(t, PyArray_DATA(idx), (size_t)PyArray_DIM(idx, 0), &out);
    if (st != ZC_OK)
        return zcpy_raise(st);
    return zcpy_array_from(out);
}

static PyObject *py_merkle_update_rows(PyObject *self, PyObject *args)
{
    PyObject *capsule, *iobj, *robj;
    int device;
    if (!PyArg_ParseTuple(args, "OOOi", &capsule, &iobj, &robj, &device))
        return NULL;
    zc_merkle_tree *t = tree_of(capsule);
    zc_poseidon2_info info;
    if (!t || instance_info((int)zc_merkle_instance(t), &info) < 0)
        return NULL;
    PyArrayObject *idx = zcpy_array_arg(iobj, NPY_UINT64, 1, 1, "indices");
    PyArrayObject *rows = idx ? zcpy_rows_arg(robj, elem_type(&info), 0, "leaves") : NULL;
    if (!rows)
        return NULL;
    if (PyArray_DIM(rows, 0) != PyArray_DIM(idx, 0) || (size_t)PyArray_DIM(rows, 1) != zc_merkle_row_len(t))
        return zcpy_invalid("leaves must have shape (%zd, %zu) for %zd indices, got (%zd, %zd)", PyArray_DIM(idx, 0),
                            zc_merkle_row_len(t), PyArray_DIM(idx, 0), PyArray_DIM(rows, 0), PyArray_DIM(rows, 1));
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_merkle_update_rows(&device, t, PyArray_DATA(idx), (size_t)PyArray_DIM(idx, 0), PyArray_DATA(rows));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    zcpy_flush_log();
    return PyLong_FromLong(device);
}

static PyObject *py_merkle_update_bytes(PyObject *self, PyObject *args)
{
    PyObject *capsule, *iobj, *dobj, *oobj;
    int device;
    PyArrayObject *data, *offsets;
    size_t n;
    if (!PyArg_ParseTuple(args, "OOOOi", &capsule, &iobj, &dobj, &oobj, &device))
        return NULL;
    zc_merkle_tree *t = tree_of(capsule);
    PyArrayObject *idx = t ? zcpy_array_arg(iobj, NPY_UINT64, 1, 1, "indices") : NULL;
    if (!idx || byte_strings(dobj, oobj, &data, &offsets, &n) < 0)
        return NULL;
    if (n != (size_t)PyArray_DIM(idx, 0))
        return zcpy_invalid("%zd indices but %zu leaves", PyArray_DIM(idx, 0), n);
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_merkle_update_bytes(&device, t, PyArray_DATA(idx), n, PyArray_DATA(data), (size_t)PyArray_DIM(data, 0),
                                PyArray_DATA(offsets));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return zcpy_raise(st);
    zcpy_flush_log();
    return PyLong_FromLong(device);
}

static PyObject *py_merkle_verify(PyObject *self, PyObject *args)
{
    int hash, inst;
    const char *root;
    Py_ssize_t root_len;
    unsigned long long num_leaves;
    PyObject *iobj, *lobj, *pobj;
    if (!PyArg_ParseTuple(args, "iiy#KOOO", &hash, &inst, &root, &root_len, &num_leaves, &iobj, &lobj, &pobj))
        return NULL;
    if (root_len != ZC_DIGEST_BYTES)
        return zcpy_invalid("root must be %d bytes, got %zd", ZC_DIGEST_BYTES, root_len);
    PyArrayObject *idx = zcpy_array_arg(iobj, NPY_UINT64, 1, 1, "indices");
    PyArrayObject *leaves = idx ? zcpy_rows_arg(lobj, NPY_UINT8, 0, "leaf digests") : NULL;
    PyArrayObject *proof = leaves ? zcpy_rows_arg(pobj, NPY_UINT8, 0, "proof") : NULL;
    if (!proof)
        return NULL;
    if (PyArray_DIM(leaves, 0) != PyArray_DIM(idx, 0) || PyArray_DIM(leaves, 1) != ZC_DIGEST_BYTES)
        return zcpy_invalid("leaf digests must have shape (%zd, 32)", PyArray_DIM(idx, 0));
    if (PyArray_DIM(proof, 1) != ZC_DIGEST_BYTES)
        return zcpy_invalid("proof must have shape (nodes, 32), got (%zd, %zd)", PyArray_DIM(proof, 0),
                            PyArray_DIM(proof, 1));
    int valid = 0;
    zc_status st = zc_merkle_verify((zc_merkle_hash)hash, (zc_poseidon2_instance)inst, (const uint8_t *)root,
                                    num_leaves, PyArray_DATA(idx), (size_t)PyArray_DIM(idx, 0), PyArray_DATA(leaves),
                                    PyArray_DATA(proof), (size_t)PyArray_DIM(proof, 0), &valid);
    if (st != ZC_OK)
        return zcpy_raise(st);
    return PyBool_FromLong(valid);
}

static PyObject *py_merkle_proof_size(PyObject *self, PyObject *args)
{
    unsigned long long num_leaves;
    PyObject *iobj;
    if (!PyArg_ParseTuple(args, "KO", &num_leaves, &iobj))
        return NULL;
    PyArrayObject *idx = zcpy_array_arg(iobj, NPY_UINT64, 1, 1, "indices");
    if (!idx)
        return NULL;
    size_t nodes = 0;
    zc_status st = zc_merkle_proof_size(num_leaves, PyArray_DATA(idx), (size_t)PyArray_DIM(idx, 0), &nodes);
    if (st != ZC_OK)
        return zcpy_raise(st);
    return PyLong_FromSize_t(nodes);
}

static PyMethodDef methods[] = {
    {"poseidon2_info", py_poseidon2_info, METH_O, "Name, field, width, rate and digest of a Poseidon2 instance."},
    {"poseidon2_permute", py_poseidon2_permute, METH_VARARGS,
     "poseidon2_permute(states, instance, device) -> (array, device)."},
    {"poseidon2_hash", py_poseidon2_hash, METH_VARARGS, "poseidon2_hash(rows, instance, device) -> (array, device)."},
    {"poseidon2_compress", py_poseidon2_compress, METH_VARARGS,
     "poseidon2_compress(left, right, instance, device) -> (array, device)."},
    {"bytes_hash", py_bytes_hash, METH_VARARGS, "bytes_hash(hash, data, offsets, device) -> (array, device)."},
    {"merkle_build_rows", py_merkle_build_rows, METH_VARARGS,
     "merkle_build_rows(rows, instance, device) -> (tree, device)."},
    {"merkle_build_bytes", py_merkle_build_bytes, METH_VARARGS,
     "merkle_build_bytes(hash, data, offsets, device) -> (tree, device)."},
    {"merkle_info", py_merkle_info, METH_O, "Hash, instance, row length, leaves, depth and levels of a tree."},
    {"merkle_root", py_merkle_root, METH_O, "The 32-byte root of a tree."},
    {"merkle_nodes", py_merkle_nodes, METH_O, "Every node digest of a tree, (nodes, 32) uint8, without a copy."},
    {"merkle_proof", py_merkle_proof, METH_VARARGS, "merkle_proof(tree, index) -> (depth, 32) uint8."},
    {"merkle_multiproof", py_merkle_multiproof, METH_VARARGS,
     "merkle_multiproof(tree, indices) -> (nodes, 32) uint8."},
    {"merkle_update_rows", py_merkle_update_rows, METH_VARARGS,
     "merkle_update_rows(tree, indices, rows, device) -> device."},
    {"merkle_update_bytes", py_merkle_update_bytes, METH_VARARGS,
     "merkle_update_bytes(tree, indices, data, offsets, device) -> device."},
    {"merkle_verify", py_merkle_verify, METH_VARARGS,
     "merkle_verify(hash, instance, root, num_leaves, indices, leaf_digests, proof) -> bool."},
    {"merkle_proof_size", py_merkle_proof_size, METH_VARARGS,
     "merkle_proof_size(num_leaves, indices) -> proof nodes."},
    {NULL},
};

int zcpy_hash_init(PyObject *m)
{
    if (PyModule_AddFunctions(m, methods) < 0)
        return -1;
    static const struct {
        const char *name;
        int value;
    } consts[] = {{"MERKLE_POSEIDON2", ZC_MERKLE_HASH_POSEIDON2},
                  {"MERKLE_SHA256", ZC_MERKLE_HASH_SHA256},
                  {"MERKLE_KECCAK256", ZC_MERKLE_HASH_KECCAK256},
                  {"POSEIDON2_INSTANCES", ZC_POSEIDON2_INSTANCE_COUNT}};
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++)
        if (PyModule_AddIntConstant(m, consts[i].name, consts[i].value) < 0)
            return -1;
    return 0;
}
