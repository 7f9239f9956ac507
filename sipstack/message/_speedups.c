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
 * It also reads the three headers every receiver needs -- Call-ID, CSeq and
 * the top Via -- when they are written in the usual shape that the Python
 * parsers' precompiled patterns take, and hands them over ready for the
 * message's cache of typed views.  Anything else is left for the views to
 * parse (and report) when first read, as without the accelerator.
 *
 * No Python code runs while the buffer is read (str keys hash and compare
 * in C), so a bytearray cannot change under the scan.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

/* 1 for the bytes the scan must look at: every control character except
 * HT (so CR and LF too), and DEL.  Bytes >= 0x80 are UTF-8, checked by
 * decoding. */
static unsigned char special[256];

/* Character classes of RFC 3261 §25.1, as the Python patterns spell them. */
#define C_TOKEN 1  /* token */
#define C_WORD 2   /* word (Call-ID) */
#define C_HOST 4   /* hostname / IPv4 characters, "_" included */
#define C_PVAL 8   /* a Via parameter value: token, ":", "[" and "]" */
#define C_DIGIT 16
static unsigned char cls[256];

static void
set_class(const char *chars, unsigned char flag)
{
    for (; *chars; chars++) {
        cls[(unsigned char)*chars] |= flag;
    }
}

static void
init_tables(void)
{
    int c;
    for (c = 0; c < 0x20; c++) {
        special[c] = 1;
    }
    special['\t'] = 0;
    special[0x7f] = 1;
    for (c = 0; c < 256; c++) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            cls[c] |= C_TOKEN | C_WORD | C_HOST | C_PVAL;
        }
        if (c >= '0' && c <= '9') {
            cls[c] |= C_DIGIT;
        }
    }
    set_class("-.!%*_+`'~", C_TOKEN | C_WORD | C_PVAL);
    set_class("()<>:\\\"/[]?{}", C_WORD);
    set_class(":[]", C_PVAL);
    set_class("_-.", C_HOST);
}

/* The typed views filled in here, set up by setup(): their classes and
 * where each of their slots lives in an instance. */
enum { CSEQ_SEQ, CSEQ_METHOD, CSEQ_NSLOTS };
static const char *cseq_slots[CSEQ_NSLOTS] = {"_seq", "_method"};
enum {
    VIA_BRANCH, VIA_HOST, VIA_PARAMS, VIA_PORT, VIA_PROTOCOL, VIA_PTEXT, VIA_RAW, VIA_TIGHT,
    VIA_TRANSPORT, VIA_NSLOTS
};
static const char *via_slots[VIA_NSLOTS] = {
    "_branch", "_host", "_params", "_port", "_protocol", "_ptext", "_raw", "_tight", "_transport",
};
static PyTypeObject *cseq_type = NULL, *via_type = NULL;
static Py_ssize_t cseq_off[CSEQ_NSLOTS], via_off[VIA_NSLOTS];
static PyObject *key_call_id, *key_cseq, *key_via, *sip_2_0;

static const char *transports[] = {"UDP", "TCP", "TLS", "SCTP", "WS", "WSS", "TLS-SCTP", "DTLS"};
#define N_TRANSPORTS (sizeof(transports) / sizeof(transports[0]))
static PyObject *transport_str[N_TRANSPORTS];

/* The offsets of a class's __slots__, checked to be plain object slots
 * defined by that class itself (a subclass or a property would not do). */
static int
slot_offsets(PyObject *type, const char **names, Py_ssize_t *offsets, int n)
{
    int i;
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "setup() needs classes");
        return -1;
    }
    for (i = 0; i < n; i++) {
        PyObject *d = PyDict_GetItemString(((PyTypeObject *)type)->tp_dict, names[i]);
        PyMemberDef *m;
        if (d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type)) {
            PyErr_Format(PyExc_TypeError, "%R has no slot %s", type, names[i]);
            return -1;
        }
        m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type != T_OBJECT_EX || (m->flags & READONLY)) {
            PyErr_Format(PyExc_TypeError, "%R.%s is not a plain slot", type, names[i]);
            return -1;
        }
        offsets[i] = m->offset;
    }
    return 0;
}

PyDoc_STRVAR(setup_doc,
"setup(cseq_type, via_type)\n"
"\n"
"Name the CSeq and Via classes whose instances scan_head() may build.");

static PyObject *
setup(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "setup() takes 2 arguments");
        return NULL;
    }
    if (slot_offsets(args[0], cseq_slots, cseq_off, CSEQ_NSLOTS) < 0
        || slot_offsets(args[1], via_slots, via_off, VIA_NSLOTS) < 0) {
        return NULL;
    }
    Py_INCREF(args[0]);
    Py_INCREF(args[1]);
    Py_XSETREF(cseq_type, (PyTypeObject *)args[0]);
    Py_XSETREF(via_type, (PyTypeObject *)args[1]);
    Py_RETURN_NONE;
}

/* A new instance of a slotted class, as object.__new__ makes it. */
static PyObject *
new_instance(PyTypeObject *type)
{
    return type->tp_alloc(type, 0);
}

static void
set_slot(PyObject *obj, Py_ssize_t offset, PyObject *value)
{
    /* Steals the reference to value; the slot is empty in a new object. */
    *(PyObject **)((char *)obj + offset) = value;
}

static PyObject *
ascii_str(const unsigned char *p, Py_ssize_t n)
{
    return PyUnicode_DecodeASCII((const char *)p, n, NULL);
}

/* The value of a header line: after the colon, without the SP and HT
 * around it (as the Python views strip it). */
static void
line_value(const unsigned char *d, Py_ssize_t colon, Py_ssize_t stop, Py_ssize_t *a, Py_ssize_t *b)
{
    Py_ssize_t i = colon + 1, j = stop;
    while (i < j && (d[i] == ' ' || d[i] == '\t')) {
        i++;
    }
    while (j > i && (d[j - 1] == ' ' || d[j - 1] == '\t')) {
        j--;
    }
    *a = i;
    *b = j;
}

static Py_ssize_t
span(const unsigned char *d, Py_ssize_t i, Py_ssize_t end, unsigned char flag)
{
    while (i < end && (cls[d[i]] & flag)) {
        i++;
    }
    return i;
}

/* Call-ID = word [ "@" word ], the whole value.  Returns the value as str,
 * NULL with no error set when it is not in that shape. */
static PyObject *
call_id_view(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t i = span(d, a, b, C_WORD);
    if (i == a) {
        return NULL;
    }
    if (i < b && d[i] == '@') {
        Py_ssize_t j = span(d, i + 1, b, C_WORD);
        if (j == i + 1) {
            return NULL;
        }
        i = j;
    }
    return i == b ? ascii_str(d + a, b - a) : NULL;
}

/* "number METHOD": 1 to 10 digits, SP or HT, a token -- the shape the
 * Python fast pattern takes, up to 2**32 - 1. */
static PyObject *
cseq_view(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t i = span(d, a, b, C_DIGIT), m;
    unsigned long long seq = 0;
    PyObject *obj, *num, *method;
    if (i == a || i - a > 10) {
        return NULL;
    }
    for (m = a; m < i; m++) {
        seq = seq * 10 + (unsigned long long)(d[m] - '0');
    }
    if (seq > 0xFFFFFFFFULL) {
        return NULL;
    }
    m = i;
    while (m < b && (d[m] == ' ' || d[m] == '\t')) {
        m++;
    }
    if (m == i || m == b || span(d, m, b, C_TOKEN) != b) {
        return NULL;
    }
    num = PyLong_FromUnsignedLongLong(seq);
    method = num == NULL ? NULL : ascii_str(d + m, b - m);
    obj = method == NULL ? NULL : new_instance(cseq_type);
    if (obj == NULL) {
        Py_XDECREF(num);
        Py_XDECREF(method);
        return NULL;
    }
    set_slot(obj, cseq_off[CSEQ_SEQ], num);
    set_slot(obj, cseq_off[CSEQ_METHOD], method);
    return obj;
}

/* One Via element in the usual shape "SIP/2.0/UDP host[:port];params" with
 * plain parameters -- what the Python pattern _VIA_FAST takes, with its
 * checks of the host and port -- built as that pattern's path builds it. */
static PyObject *
via_view(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t i, t, h, p, branch_a = -1, branch_b = -1;
    long port = -1;
    size_t k, tlen;
    PyObject *obj, *vals[VIA_NSLOTS];
    int n;

    if (b - a < 10 || memcmp(d + a, "SIP/2.0/", 8) != 0) {
        return NULL;
    }
    t = a + 8;
    i = t;
    while (i < b && d[i] != ' ') {
        i++;
    }
    tlen = (size_t)(i - t);
    for (k = 0; k < N_TRANSPORTS; k++) {
        if (strlen(transports[k]) == tlen && memcmp(d + t, transports[k], tlen) == 0) {
            break;
        }
    }
    if (k == N_TRANSPORTS || i == b) {
        return NULL;
    }
    h = i + 1;
    i = span(d, h, b, C_HOST);
    if (i == h || d[h] == '.') {
        return NULL;
    }
    for (p = h; p + 1 < i; p++) {
        if (d[p] == '.' && d[p + 1] == '.') {
            return NULL;
        }
    }
    p = i;  /* end of host */
    if (i < b && d[i] == ':') {
        Py_ssize_t j = span(d, i + 1, b, C_DIGIT);
        if (j == i + 1 || j - i - 1 > 5) {
            return NULL;
        }
        port = 0;
        for (t = i + 1; t < j; t++) {
            port = port * 10 + (d[t] - '0');
        }
        if (port > 65535) {
            return NULL;
        }
        i = j;
    }
    /* The parameters: ;name[=value] to the end, the first one perhaps the
     * branch. */
    {
        Py_ssize_t q = i;
        int first = 1;
        while (q < b) {
            Py_ssize_t na, nb;
            if (d[q] != ';') {
                return NULL;
            }
            na = q + 1;
            nb = span(d, na, b, C_TOKEN);
            if (nb == na) {
                return NULL;
            }
            q = nb;
            if (q < b && d[q] == '=') {
                Py_ssize_t vb = span(d, q + 1, b, C_PVAL);
                if (vb == q + 1) {
                    return NULL;
                }
                if (first && nb - na == 6 && memcmp(d + na, "branch", 6) == 0) {
                    branch_a = q + 1;
                    branch_b = vb;
                }
                q = vb;
            }
            first = 0;
        }
    }

    memset(vals, 0, sizeof(vals));
    vals[VIA_HOST] = ascii_str(d + h, p - h);
    vals[VIA_PTEXT] = ascii_str(d + i, b - i);
    vals[VIA_RAW] = ascii_str(d + a, b - a);
    if (branch_a >= 0) {
        vals[VIA_BRANCH] = ascii_str(d + branch_a, branch_b - branch_a);
    }
    else {
        vals[VIA_BRANCH] = Py_NewRef(Py_None);
    }
    vals[VIA_PORT] = port >= 0 ? PyLong_FromLong(port) : Py_NewRef(Py_None);
    vals[VIA_PARAMS] = Py_NewRef(Py_None);
    vals[VIA_PROTOCOL] = Py_NewRef(sip_2_0);
    vals[VIA_TIGHT] = Py_NewRef(Py_True);
    vals[VIA_TRANSPORT] = Py_NewRef(transport_str[k]);
    obj = NULL;
    for (n = 0; n < VIA_NSLOTS; n++) {
        if (vals[n] == NULL) {
            goto fail;
        }
    }
    obj = new_instance(via_type);
    if (obj == NULL) {
        goto fail;
    }
    for (n = 0; n < VIA_NSLOTS; n++) {
        set_slot(obj, via_off[n], vals[n]);
    }
    return obj;
fail:
    for (n = 0; n < VIA_NSLOTS; n++) {
        Py_XDECREF(vals[n]);
    }
    return NULL;
}

/* Put the view of one line into the cache when its value is in the usual
 * shape; -1 only on a Python error (memory). */
static int
prefill(PyObject *cache, PyObject *key, const unsigned char *d, Py_ssize_t colon, Py_ssize_t stop)
{
    Py_ssize_t a, b;
    PyObject *view;
    int rc;
    line_value(d, colon, stop, &a, &b);
    if (key == key_call_id) {
        view = call_id_view(d, a, b);
    }
    else if (key == key_cseq) {
        view = cseq_view(d, a, b);
    }
    else {
        /* One element only: a comma or a quote is the views' business. */
        if (memchr(d + a, ',', (size_t)(b - a)) || memchr(d + a, '"', (size_t)(b - a))) {
            return 0;
        }
        view = via_view(d, a, b);
    }
    if (view == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    rc = PyDict_SetItem(cache, key, view);
    Py_DECREF(view);
    return rc;
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
"(start_line, lines, keys, present, cache) -- the header lines as str,\n"
"the lookup key of each (keys[name before the colon]), the set of keys and\n"
"the typed views of Call-ID, CSeq and the top Via that were in their usual\n"
"shape (once setup() has named their classes) -- or None when the head is not in the plain common shape and the careful\n"
"path must look at it.");

static PyObject *
scan_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    const unsigned char *d;
    Py_ssize_t size, start, end, max_lines, max_len;
    PyObject *keymap;
    PyObject *first = NULL, *lines = NULL, *keys = NULL, *present = NULL, *cache = NULL;
    Py_ssize_t i, nlines = 0;
    int first_done = 0, todo = via_type != NULL ? 3 : 0;

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
    cache = PyDict_New();
    if (lines == NULL || keys == NULL || present == NULL || cache == NULL) {
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
        if (todo && (key == key_call_id || key == key_cseq || key == key_via)) {
            /* Only a key's first line is its view (a second one is an
             * error validate() reports, or the rest of a list). */
            int seen = PySet_Contains(present, key);
            if (seen < 0 || (!seen && prefill(cache, key, d, colon, begin + n) < 0)) {
                goto error;
            }
            todo -= !seen;
        }
        if (PyList_Append(keys, key) < 0 || PySet_Add(present, key) < 0) {
            goto error;
        }
    }
    if (first == NULL) {
        goto decline;
    }
    {
        PyObject *result = PyTuple_Pack(5, first, lines, keys, present, cache);
        Py_DECREF(first);
        Py_DECREF(lines);
        Py_DECREF(keys);
        Py_DECREF(present);
        Py_DECREF(cache);
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
    Py_XDECREF(cache);
    Py_RETURN_NONE;

error:
    Py_XDECREF(first);
    Py_XDECREF(lines);
    Py_XDECREF(keys);
    Py_XDECREF(present);
    Py_XDECREF(cache);
    return NULL;
}

static PyMethodDef speedups_methods[] = {
    {"scan_head", (PyCFunction)(void (*)(void))scan_head, METH_FASTCALL, scan_head_doc},
    {"setup", (PyCFunction)(void (*)(void))setup, METH_FASTCALL, setup_doc},
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
    size_t k;
    init_tables();
    key_call_id = PyUnicode_InternFromString("call-id");
    key_cseq = PyUnicode_InternFromString("cseq");
    key_via = PyUnicode_InternFromString("via");
    sip_2_0 = PyUnicode_InternFromString("SIP/2.0");
    if (key_call_id == NULL || key_cseq == NULL || key_via == NULL || sip_2_0 == NULL) {
        return NULL;
    }
    for (k = 0; k < N_TRANSPORTS; k++) {
        transport_str[k] = PyUnicode_InternFromString(transports[k]);
        if (transport_str[k] == NULL) {
            return NULL;
        }
    }
    return PyModule_Create(&speedups_module);
}
