/* _zkclob: pipeline wrappers. */
#include "ext.h"

static PyMethodDef pipeline_methods[] = {
    {NULL, NULL, 0, NULL}};

int zcpy_pipeline_init(PyObject *m) { return PyModule_AddFunctions(m, pipeline_methods); }
