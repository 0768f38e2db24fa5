/* Shared declarations of the _zkclob extension. */
#ifndef ZC_PY_EXT_H
#define ZC_PY_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "zkclob/zkclob.h"

/* Raise the zkclob.Error subclass of st's class with the thread's last error. */
PyObject *zcpy_raise(zc_status st);
/* Return from a wrapper with the typed exception when a C call fails. */
#define CHECK(call)                                                                                            \
    do {                                                                                                       \
        zc_status st_ = (call);                                                                                \
        if (st_ != ZC_OK)                                                                                      \
            return zcpy_raise(st_);                                                                            \
    } while (0)

/* Raise InvalidArgumentError with a message. */
PyObject *zcpy_invalid(const char *fmt, ...);
/* Hand queued C log records to Python's logging (needs the GIL). */
void zcpy_flush_log(void);

/* Buffer: owns a reference to a zc_array and exposes it through the buffer
 * protocol, __array_interface__ and DLPack. */
extern PyTypeObject zcpy_BufferType;
/* A NumPy array viewing `arr` (steals the caller's reference to arr); its base
 * is a Buffer, so the memory lives as long as any view of it. */
PyObject *zcpy_array_from(zc_array *arr);

/* (array, device id that ran it) on success, taking the caller's reference to
 * out; on failure releases out and raises st. */
PyObject *zcpy_device_result(zc_status st, zc_array *out, int device);
/* A new engine-owned array (zc_array_new), NULL with the typed error raised. */
zc_array *zcpy_new_array(zc_dtype dtype, int ndim, const size_t *shape);
/* (array of a, array of b), taking the caller's references to both. */
PyObject *zcpy_pair_result(zc_array *a, zc_array *b);

int zcpy_buffer_init(PyObject *module);
int zcpy_errors_init(PyObject *module);
int zcpy_mem_init(PyObject *module);
int zcpy_ntt_init(PyObject *module);
int zcpy_hash_init(PyObject *module);
int zcpy_book_init(PyObject *module);
/* The C engine of a zkclob.Engine (borrowed), or NULL with a typed error. */
zc_engine *zcpy_engine_of(PyObject *obj);
int zcpy_md_init(PyObject *m);
int zcpy_risk_init(PyObject *m);
int zcpy_risk_tracker_init(PyObject *m);
int zcpy_crypto_init(PyObject *m);
int zcpy_commit_init(PyObject *m);
int zcpy_pipeline_init(PyObject *m);

#endif
