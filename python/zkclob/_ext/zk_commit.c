/* _zkclob: commit wrappers. */
#include "ext.h"

static PyMethodDef commit_methods[] = {
    {NULL, NULL, 0, NULL}};

int zcpy_commit_init(PyObject *m) { return PyModule_AddFunctions(m, commit_methods); }
