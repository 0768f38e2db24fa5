/* _zkclob: risk wrappers. */
#include "ext.h"

static PyMethodDef risk_methods[] = {
    {NULL, NULL, 0, NULL}};

int zcpy_risk_init(PyObject *m) { return PyModule_AddFunctions(m, risk_methods); }
