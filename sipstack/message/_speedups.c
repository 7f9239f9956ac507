/* Optional accelerator of the message layer.
 *
 * scan_head() does in one C pass what the pure-Python parser's fast path
 * does with decode/split/translate/partition: it cuts the header section
 * into lines, checks that it holds no control character, no bare CR or LF
 * and no folding, decodes each line as UTF-8 and maps each header name to
 * its lookup key through the same dictionary as the Python code.
 *
 * It never decides that a message is bad.  Whenever the input is not the
 * plain common case (invalid UTF-8, a control character, a continuation
 * line, a line without a colon, a header name the dictionary does not
 * know, a limit exceeded) it returns None and the pure-Python path, which
 * gives every error its message and status, takes over.  So the two paths
 * agree by construction on everything this function declines, and a
 * property test holds them equal on everything it accepts.
 *
 * No Python code runs while the buffer is read (str keys hash and compare
 * in C), so a bytearray cannot change under the scan.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* 1 for the bytes the scan must look at: every control character except
 * HT (so CR and LF too), and DEL.  Bytes >= 0x80 are UTF-8, checked by
 * decoding. */
static unsigned char special[256];

static void
init_tables(void)
{
    int c;
    for (c = 0; c < 0x20; c++) {
        special[c] = 1;
    }
    special['\t'] = 0;
    special[0x7f] = 1;
}

static PyObject *
decode_line(const char *p, Py_ssize_t n)
{
    PyObject *s = PyUnicode_DecodeUTF8(p, n, NULL);
    if (s == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        /* Not ours to report: the Python path says which byte. */
        PyErr_Clear();
    }
    return s;
}

PyDoc_STRVAR(scan_head_doc,
"scan_head(data, start, end, keys, max_lines, max_line_length)\n"
"\n"
"Index the start line and header lines of data[start:end] (bytes or\n"
"bytearray, without the empty line that ends the head).  Returns\n"
"(start_line, lines, keys, present) -- the header lines as str, the\n"
"lookup key of each (keys[name before the colon]) and the set of keys --\n"
"or None when the head is not in the plain common shape and the careful\n"
"path must look at it.");

static PyObject *
scan_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    const unsigned char *d;
    Py_ssize_t size, start, end, max_lines, max_len;
    PyObject *keymap;
    PyObject *first = NULL, *lines = NULL, *keys = NULL, *present = NULL;
    Py_ssize_t i, nlines = 0;
    int first_done = 0;

    (void)module;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "scan_head() takes 6 arguments");
        return NULL;
    }
    if (PyBytes_CheckExact(args[0])) {
        d = (const unsigned char *)PyBytes_AS_STRING(args[0]);
        size = PyBytes_GET_SIZE(args[0]);
    }
    else if (PyByteArray_CheckExact(args[0])) {
        d = (const unsigned char *)PyByteArray_AS_STRING(args[0]);
        size = PyByteArray_GET_SIZE(args[0]);
    }
    else {
        PyErr_SetString(PyExc_TypeError, "scan_head() needs bytes or bytearray");
        return NULL;
    }
    start = PyLong_AsSsize_t(args[1]);
    end = PyLong_AsSsize_t(args[2]);
    max_lines = PyLong_AsSsize_t(args[4]);
    max_len = PyLong_AsSsize_t(args[5]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    keymap = args[3];
    if (!PyDict_CheckExact(keymap)) {
        PyErr_SetString(PyExc_TypeError, "scan_head() needs a dict of keys");
        return NULL;
    }
    if (start < 0 || end > size || start >= end) {
        Py_RETURN_NONE;
    }

    lines = PyList_New(0);
    keys = PyList_New(0);
    present = PySet_New(NULL);
    if (lines == NULL || keys == NULL || present == NULL) {
        goto error;
    }

    i = start;
    while (i < end) {
        Py_ssize_t begin = i, colon = -1, n;
        const unsigned char *cr;
        PyObject *line, *name, *key;

        /* The line runs to the next CR; nothing before it may be special. */
        cr = memchr(d + i, '\r', (size_t)(end - i));
        n = (cr != NULL ? (Py_ssize_t)(cr - d) : end) - begin;
        for (; i < begin + n; i++) {
            unsigned char c = d[i];
            if (special[c]) {
                goto decline;
            }
            if (c == ':' && colon < 0) {
                colon = i;
            }
        }
        if (cr != NULL) {
            /* A CR must start a CRLF pair that ends a line, never the head. */
            if (i + 1 >= end || d[i + 1] != '\n') {
                goto decline;
            }
            i += 2;
        }
        if (n > max_len || n == 0) {
            goto decline;
        }
        if (!first_done) {
            first = decode_line((const char *)d + begin, n);
            if (first == NULL) {
                goto decline_or_error;
            }
            first_done = 1;
            continue;
        }
        if (++nlines > max_lines) {
            goto decline;
        }
        /* Continuation lines (folding) and lines without a colon are the
         * careful path's business. */
        if (d[begin] == ' ' || d[begin] == '\t' || colon < 0) {
            goto decline;
        }
        /* The dictionary holds ASCII names only: a name with any other
         * byte is not one of them. */
        name = PyUnicode_DecodeLatin1((const char *)d + begin, colon - begin, NULL);
        if (name == NULL) {
            goto error;
        }
        if (!PyUnicode_IS_ASCII(name)) {
            Py_DECREF(name);
            goto decline;
        }
        key = PyDict_GetItemWithError(keymap, name);
        Py_DECREF(name);
        if (key == NULL) {
            if (PyErr_Occurred()) {
                goto error;
            }
            goto decline;
        }
        line = decode_line((const char *)d + begin, n);
        if (line == NULL) {
            goto decline_or_error;
        }
        if (PyList_Append(lines, line) < 0) {
            Py_DECREF(line);
            goto error;
        }
        Py_DECREF(line);
        if (PyList_Append(keys, key) < 0 || PySet_Add(present, key) < 0) {
            goto error;
        }
    }
    if (first == NULL) {
        goto decline;
    }
    {
        PyObject *result = PyTuple_Pack(4, first, lines, keys, present);
        Py_DECREF(first);
        Py_DECREF(lines);
        Py_DECREF(keys);
        Py_DECREF(present);
        return result;
    }

decline_or_error:
    if (PyErr_Occurred()) {
        goto error;
    }
decline:
    Py_XDECREF(first);
    Py_XDECREF(lines);
    Py_XDECREF(keys);
    Py_XDECREF(present);
    Py_RETURN_NONE;

error:
    Py_XDECREF(first);
    Py_XDECREF(lines);
    Py_XDECREF(keys);
    Py_XDECREF(present);
    return NULL;
}

static PyMethodDef speedups_methods[] = {
    {"scan_head", (PyCFunction)(void (*)(void))scan_head, METH_FASTCALL, scan_head_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "sipstack.message._speedups",
    "Optional C accelerator of the message layer's header indexing.",
    -1,
    speedups_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    init_tables();
    return PyModule_Create(&speedups_module);
}
