/* Array-argument checks shared by the _zkclob wrappers. Include after
 * <numpy/arrayobject.h>. Each returns obj as a borrowed PyArrayObject, or
 * NULL with InvalidArgumentError naming the argument; none converts, since
 * the Python modules convert first and a copy here would hide their bugs. */
#ifndef ZC_PY_ARGS_H
#define ZC_PY_ARGS_H

#include "ext.h"

/* An aligned, C-contiguous, native-order array of `type` with min_nd to
 * max_nd dimensions. */
PyArrayObject *zcpy_array_arg(PyObject *obj, int type, int min_nd, int max_nd, const char *name);
/* zcpy_array_arg for a 2-D array of rows of `width` elements (any width when
 * width is 0), e.g. uint8 (n, 32) digests. */
PyArrayObject *zcpy_rows_arg(PyObject *obj, int type, npy_intp width, const char *name);
/* An aligned, C-contiguous 1-D array of `itemsize`-byte records (the Python
 * module checks the record dtype). */
PyArrayObject *zcpy_records_arg(PyObject *obj, size_t itemsize, const char *name);

#endif
