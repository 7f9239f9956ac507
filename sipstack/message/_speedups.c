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
 * It also builds typed views of the headers nearly every message carries
 * when every element of them is written in the usual shape that the Python
 * parsers' precompiled patterns take (with the same checks of hosts and
 * ports), exactly as those patterns' paths build them: scan_head() the
 * three every receiver reads at once (Call-ID, CSeq, the top Via),
 * fill_views() -- called by validate() -- the Via list, From, To, Contact,
 * Route and Record-Route, and address() and via() single elements for the
 * Python views' fast paths.  A header with any element in another shape is
 * left for the views to parse (and report) when first read, as without the
 * accelerator.
 *
 * Allocating may run the garbage collector, and with it finalizers --
 * Python code -- so nothing here relies on Python objects staying as they
 * were: the input buffer is held exported while it is read (a bytearray
 * cannot be resized meanwhile), and the items of the headers' lists are
 * held by a reference of their own while they are read.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

/* -- character classes ----------------------------------------------------- */

/* 1 for the bytes the line scan must look at: every control character
 * except HT (so CR and LF too), and DEL.  Bytes >= 0x80 are UTF-8, checked
 * by decoding. */
static unsigned char special[256];

/* Character classes of RFC 3261 §25.1, as the Python patterns spell them. */
#define C_TOKEN 1     /* token */
#define C_WORD 2      /* word (Call-ID) */
#define C_HOST 4      /* hostname / IPv4 characters, "_" included */
#define C_PVAL 8      /* a header parameter value: token, ":", "[" and "]" */
#define C_DIGIT 16
#define C_USER_NA 32  /* the user part of a URI in <...> */
#define C_USER_AS 64  /* the user part of an addr-spec (no ";", "?" or ",") */
#define C_UPARAM 128  /* a URI parameter's name or value */
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
            cls[c] |= C_TOKEN | C_WORD | C_HOST | C_PVAL | C_USER_NA | C_USER_AS | C_UPARAM;
        }
        if (c >= '0' && c <= '9') {
            cls[c] |= C_DIGIT;
        }
    }
    set_class("-.!%*_+`'~", C_TOKEN | C_WORD | C_PVAL);
    set_class("()<>:\\\"/[]?{}", C_WORD);
    set_class(":[]", C_PVAL);
    set_class("_-.", C_HOST);
    set_class("-_.!~*'()&=+$/", C_USER_NA | C_USER_AS);
    set_class(",;?", C_USER_NA);
    set_class("-_.!~*'()[]/:&+$", C_UPARAM);
}

static Py_ssize_t
span(const unsigned char *d, Py_ssize_t i, Py_ssize_t end, unsigned char flag)
{
    while (i < end && (cls[d[i]] & flag)) {
        i++;
    }
    return i;
}

static Py_ssize_t
skip_ws(const unsigned char *d, Py_ssize_t i, Py_ssize_t end)
{
    while (i < end && (d[i] == ' ' || d[i] == '\t')) {
        i++;
    }
    return i;
}

/* [*a, *b) without the SP and HT around it (as .strip(" \t") does). */
static void
strip_span(const unsigned char *d, Py_ssize_t *a, Py_ssize_t *b)
{
    Py_ssize_t j = *b;
    *a = skip_ws(d, *a, j);
    while (j > *a && (d[j - 1] == ' ' || d[j - 1] == '\t')) {
        j--;
    }
    *b = j;
}

/* -- the classes of the typed views ---------------------------------------- */

/* Each view class, set up by setup(), and where each of its slots lives in
 * an instance. */
typedef struct {
    PyTypeObject *type;
    int n;
    const char *names[10];
    Py_ssize_t off[10];
} slotted;

enum { CSEQ_SEQ, CSEQ_METHOD };
static slotted cseq_cls = {NULL, 2, {"_seq", "_method"}, {0}};
enum {
    VIA_BRANCH, VIA_HOST, VIA_PARAMS, VIA_PORT, VIA_PROTOCOL, VIA_PTEXT, VIA_RAW, VIA_TIGHT,
    VIA_TRANSPORT
};
static slotted via_cls = {
    NULL, 9,
    {"_branch", "_host", "_params", "_port", "_protocol", "_ptext", "_raw", "_tight", "_transport"},
    {0},
};
enum { ADDR_DISPLAY, ADDR_PARAMS, ADDR_RAW, ADDR_TAG, ADDR_URI };
static slotted addr_cls = {
    NULL, 5, {"_display_name", "_params", "_raw", "_tag", "_uri"}, {0},
};
enum { URI_HEADERS, URI_HOST, URI_PARAMS, URI_PASSWORD, URI_PORT, URI_RAW, URI_SCHEME, URI_USER };
static slotted uri_cls = {
    NULL, 8,
    {"_headers", "_host", "_params", "_password", "_port", "_raw", "_scheme", "_user"},
    {0},
};
enum { PARAMS_IT, PARAMS_TEXT };
static slotted params_cls = {NULL, 2, {"_it", "_text"}, {0}};
static PyObject *empty_params = NULL;
enum { HDR_CACHE, HDR_DIRTY, HDR_KEYS, HDR_LINES, HDR_PRESENT, HDR_RAWS };
static slotted headers_cls = {
    NULL, 6, {"_cache", "_dirty", "_keys", "_lines", "_present", "_raws"}, {0},
};
enum { REQ_METHOD, REQ_URI, REQ_URI_TEXT };
static slotted request_cls = {NULL, 3, {"_method", "_uri", "_uri_text"}, {0}};
enum { RESP_STATUS, RESP_REASON };
static slotted response_cls = {NULL, 2, {"_status", "_reason"}, {0}};
enum { CT_TYPE, CT_SUBTYPE, CT_PARAMS };
static slotted content_type_cls = {NULL, 3, {"type", "subtype", "params"}, {0}};
enum { EVENT_PACKAGE, EVENT_PARAMS };
static slotted event_cls = {NULL, 2, {"package", "params"}, {0}};
/* The slots Request and Response inherit from Message. */
enum { MSG_HEADERS, MSG_CONTENT_LENGTH };
static slotted message_cls = {NULL, 2, {"headers", "_content_length"}, {0}};
#define message_off message_cls.off

/* The offsets of a class's __slots__, checked to be plain object slots
 * defined by that class itself (a subclass or a property would not do). */
static int
setup_class(slotted *s, PyObject *type)
{
    int i;
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "setup() needs classes");
        return -1;
    }
    for (i = 0; i < s->n; i++) {
        PyObject *d = PyDict_GetItemString(((PyTypeObject *)type)->tp_dict, s->names[i]);
        PyMemberDef *m;
        if (d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type)
            || ((PyMemberDescrObject *)d)->d_common.d_type != (PyTypeObject *)type) {
            PyErr_Format(PyExc_TypeError, "%R has no slot %s", type, s->names[i]);
            return -1;
        }
        m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type != T_OBJECT_EX || (m->flags & READONLY)) {
            PyErr_Format(PyExc_TypeError, "%R.%s is not a plain slot", type, s->names[i]);
            return -1;
        }
        s->off[i] = m->offset;
    }
    Py_INCREF(type);
    Py_XSETREF(s->type, (PyTypeObject *)type);
    return 0;
}

/* Sets an empty slot of a new instance (the reference is stolen). */
static void
set_slot(PyObject *obj, Py_ssize_t offset, PyObject *value)
{
    *(PyObject **)((char *)obj + offset) = value;
}

/* A new instance with its slots set from values[] (references stolen,
 * also on failure, when NULL is returned).  values[] may hold NULLs after
 * a failed allocation: then nothing is built. */
static PyObject *
build(slotted *s, PyObject **values)
{
    PyObject *obj = NULL;
    int i;
    for (i = 0; i < s->n; i++) {
        if (values[i] == NULL) {
            goto fail;
        }
    }
    /* As object.__new__ makes it: no __init__ runs. */
    obj = s->type->tp_alloc(s->type, 0);
    if (obj == NULL) {
        goto fail;
    }
    for (i = 0; i < s->n; i++) {
        *(PyObject **)((char *)obj + s->off[i]) = values[i];
    }
    return obj;
fail:
    for (i = 0; i < s->n; i++) {
        Py_XDECREF(values[i]);
    }
    return NULL;
}

static PyObject *key_call_id, *key_cseq, *key_via, *key_from, *key_to, *key_contact, *key_route,
    *key_record_route, *key_content_length, *key_max_forwards, *key_expires, *key_min_expires,
    *key_content_type, *key_event, *key_allow, *key_supported, *key_require, *key_proxy_require,
    *key_unsupported;
static PyObject *ckey_allow, *ckey_supported, *ckey_require, *ckey_proxy_require,
    *ckey_unsupported;
static PyObject *ckey_vias, *ckey_contacts, *ckey_routes, *ckey_record_routes;
static PyObject *sip_2_0, *scheme_sip, *scheme_sips, *empty_tuple;

static const char *transports[] = {"UDP", "TCP", "TLS", "SCTP", "WS", "WSS", "TLS-SCTP", "DTLS"};
#define N_TRANSPORTS (sizeof(transports) / sizeof(transports[0]))
static PyObject *transport_str[N_TRANSPORTS];

PyDoc_STRVAR(setup_doc,
"setup(message, request, response, headers, cseq, via, address, sip_uri, params,\n"
"      content_type, event, empty_params)\n"
"\n"
"Name the classes whose instances this module builds, and the Params\n"
"object that stands for no parameters.  Until then it builds nothing.");

static PyObject *
setup(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    slotted *classes[] = {
        &message_cls, &request_cls, &response_cls, &headers_cls, &cseq_cls, &via_cls, &addr_cls,
        &uri_cls, &params_cls, &content_type_cls, &event_cls,
    };
    size_t k;
    (void)module;
    if (nargs != 12) {
        PyErr_SetString(PyExc_TypeError, "setup() takes 12 arguments");
        return NULL;
    }
    for (k = 0; k < sizeof(classes) / sizeof(classes[0]); k++) {
        if (setup_class(classes[k], args[k]) < 0) {
            return NULL;
        }
    }
    if (!PyType_IsSubtype(request_cls.type, message_cls.type)
        || !PyType_IsSubtype(response_cls.type, message_cls.type)) {
        PyErr_SetString(PyExc_TypeError, "setup() needs Request and Response to be Messages");
        return NULL;
    }
    if (!Py_IS_TYPE(args[11], params_cls.type)) {
        PyErr_SetString(PyExc_TypeError, "setup() needs the empty Params");
        return NULL;
    }
    Py_XSETREF(empty_params, Py_NewRef(args[11]));
    Py_RETURN_NONE;
}

/* -- strings ----------------------------------------------------------------- */

/* Text of the head: valid UTF-8 (its line was decoded), cut at ASCII
 * delimiters, so the slice is valid UTF-8 too. */
static PyObject *
text(const unsigned char *p, Py_ssize_t n)
{
    return PyUnicode_DecodeUTF8((const char *)p, n, NULL);
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

/* What lazy_params() makes of parameter text a pattern has validated. */
static PyObject *
lazy_params(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    PyObject *v[2];
    if (a == b) {
        return Py_NewRef(empty_params);
    }
    v[PARAMS_IT] = Py_NewRef(Py_None);
    v[PARAMS_TEXT] = text(d + a, b - a);
    return build(&params_cls, v);
}

/* -- grammar pieces ----------------------------------------------------------- */

/* *( ";" name [ "=" value ] ) from i, names of name_cls and values of
 * value_cls, as the patterns' possessive parameter groups take them.
 * Returns where the list ends (the caller checks what may follow), or -1
 * when a ";" or "=" starts nothing valid.  When the first parameter is
 * named first_name and has a value, its span is stored in *fa, *fb. */
static Py_ssize_t
params_end(const unsigned char *d, Py_ssize_t i, Py_ssize_t b, unsigned char name_cls,
           unsigned char value_cls, const char *first_name, Py_ssize_t *fa, Py_ssize_t *fb)
{
    size_t first_len = first_name != NULL ? strlen(first_name) : 0;
    int first = 1;
    while (i < b && d[i] == ';') {
        Py_ssize_t na = i + 1, nb = span(d, na, b, name_cls);
        if (nb == na) {
            return -1;
        }
        i = nb;
        if (i < b && d[i] == '=') {
            Py_ssize_t vb = span(d, i + 1, b, value_cls);
            if (vb == i + 1) {
                return -1;
            }
            if (first && first_name != NULL && (size_t)(nb - na) == first_len
                && memcmp(d + na, first_name, first_len) == 0) {
                *fa = i + 1;
                *fb = vb;
            }
            i = vb;
        }
        first = 0;
    }
    return i;
}

/* host [ ":" port ] as the fast patterns take it (no IPv6 reference: that
 * is the general path's), with their checks: no leading dot, no empty
 * label, a port up to 65535.  Returns the end, or -1. */
static Py_ssize_t
host_port(const unsigned char *d, Py_ssize_t i, Py_ssize_t b, Py_ssize_t *host_end, long *port)
{
    Py_ssize_t h = i, p;
    i = span(d, h, b, C_HOST);
    if (i == h || d[h] == '.') {
        return -1;
    }
    for (p = h; p + 1 < i; p++) {
        if (d[p] == '.' && d[p + 1] == '.') {
            return -1;
        }
    }
    *host_end = i;
    *port = -1;
    if (i < b && d[i] == ':') {
        Py_ssize_t j = span(d, i + 1, b, C_DIGIT), t;
        long v = 0;
        if (j == i + 1 || j - i - 1 > 5) {
            return -1;
        }
        for (t = i + 1; t < j; t++) {
            v = v * 10 + (d[t] - '0');
        }
        if (v > 65535) {
            return -1;
        }
        *port = v;
        i = j;
    }
    return i;
}

static PyObject *
port_object(long port)
{
    return port >= 0 ? PyLong_FromLong(port) : Py_NewRef(Py_None);
}

/* -- the views ---------------------------------------------------------------- */

/* The views return a new reference, or NULL: with an exception set on a
 * Python error, without one when the text is not in the usual shape. */

/* Call-ID = word [ "@" word ], the whole value. */
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
    return i == b ? text(d + a, b - a) : NULL;
}

/* "number METHOD": 1 to 10 digits, SP or HT, a token -- the shape the
 * Python fast pattern takes, up to 2**32 - 1. */
static PyObject *
cseq_view(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t i = span(d, a, b, C_DIGIT), m;
    unsigned long long seq = 0;
    PyObject *v[2];
    if (i == a || i - a > 10) {
        return NULL;
    }
    for (m = a; m < i; m++) {
        seq = seq * 10 + (unsigned long long)(d[m] - '0');
    }
    if (seq > 0xFFFFFFFFULL) {
        return NULL;
    }
    m = skip_ws(d, i, b);
    if (m == i || m == b || span(d, m, b, C_TOKEN) != b) {
        return NULL;
    }
    v[CSEQ_SEQ] = PyLong_FromUnsignedLongLong(seq);
    v[CSEQ_METHOD] = text(d + m, b - m);
    return build(&cseq_cls, v);
}

/* One Via element in the usual shape "SIP/2.0/UDP host[:port];params" with
 * plain parameters, the branch perhaps first -- what the Python pattern
 * _VIA_FAST takes. */
static PyObject *
via_view(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t i, t, h, host_end, pa, branch_a = -1, branch_b = -1;
    long port;
    size_t k, tlen;
    PyObject *v[9];

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
    pa = host_port(d, h, b, &host_end, &port);
    if (pa < 0) {
        return NULL;
    }
    if (params_end(d, pa, b, C_TOKEN, C_PVAL, "branch", &branch_a, &branch_b) != b) {
        return NULL;
    }
    v[VIA_HOST] = text(d + h, host_end - h);
    v[VIA_PTEXT] = text(d + pa, b - pa);
    v[VIA_RAW] = text(d + a, b - a);
    v[VIA_BRANCH] = branch_a >= 0 ? text(d + branch_a, branch_b - branch_a) : Py_NewRef(Py_None);
    v[VIA_PORT] = port_object(port);
    v[VIA_PARAMS] = Py_NewRef(Py_None);
    v[VIA_PROTOCOL] = Py_NewRef(sip_2_0);
    v[VIA_TIGHT] = Py_NewRef(Py_True);
    v[VIA_TRANSPORT] = Py_NewRef(transport_str[k]);
    return build(&via_cls, v);
}

/* The SipURI of the spans a fast pattern's groups would give: what
 * fast_sip_uri() builds (no password, headers or escapes). */
static PyObject *
sip_uri_object(const unsigned char *d, int secure, Py_ssize_t user_a, Py_ssize_t user_b,
               Py_ssize_t host_a, Py_ssize_t host_b, long port, Py_ssize_t up_a, Py_ssize_t up_b,
               Py_ssize_t raw_a, Py_ssize_t raw_b)
{
    PyObject *u[8];
    u[URI_HEADERS] = Py_NewRef(empty_tuple);
    u[URI_HOST] = text(d + host_a, host_b - host_a);
    u[URI_PARAMS] = lazy_params(d, up_a, up_b);
    u[URI_PASSWORD] = Py_NewRef(Py_None);
    u[URI_PORT] = port_object(port);
    u[URI_RAW] = text(d + raw_a, raw_b - raw_a);
    u[URI_SCHEME] = Py_NewRef(secure ? scheme_sips : scheme_sip);
    u[URI_USER] = user_b > user_a ? text(d + user_a, user_b - user_a) : Py_NewRef(Py_None);
    return build(&uri_cls, u);
}

/* "sip:" or "sips:" at d[i]: the index after it and *secure, or -1. */
static Py_ssize_t
sip_scheme(const unsigned char *d, Py_ssize_t i, Py_ssize_t b, int *secure)
{
    if (b - i >= 4 && memcmp(d + i, "sip:", 4) == 0) {
        *secure = 0;
        return i + 4;
    }
    if (b - i >= 5 && memcmp(d + i, "sips:", 5) == 0) {
        *secure = 1;
        return i + 5;
    }
    return -1;
}

/* A whole sip or sips URI in the usual shape -- what the Python pattern
 * _SIP_FAST / _SIP_FAST_NO_USER takes after a lower-case scheme. */
static PyObject *
sip_uri_view(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t i, user_a, user_b, host_a, host_end, up_a;
    long port;
    int secure;
    i = sip_scheme(d, a, b, &secure);
    if (i < 0) {
        return NULL;
    }
    user_a = user_b = i;
    if (memchr(d + i, '@', (size_t)(b - i)) != NULL) {
        user_b = span(d, i, b, C_USER_NA);
        if (user_b == i || user_b >= b || d[user_b] != '@') {
            return NULL;
        }
        i = user_b + 1;
    }
    host_a = i;
    up_a = host_port(d, host_a, b, &host_end, &port);
    if (up_a < 0 || params_end(d, up_a, b, C_UPARAM, C_UPARAM, NULL, NULL, NULL) != b) {
        return NULL;
    }
    return sip_uri_object(d, secure, user_a, user_b, host_a, host_end, port, up_a, b, a, b);
}

/* Max-Forwards: 1 to 10 digits, at most 255 (parse_uint). */
static PyObject *
max_forwards_view(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    long v = 0;
    Py_ssize_t i;
    if (a == b || b - a > 10 || span(d, a, b, C_DIGIT) != b) {
        return NULL;
    }
    for (i = a; i < b && v <= 255; i++) {
        v = v * 10 + (d[i] - '0');
    }
    return v <= 255 ? PyLong_FromLong(v) : NULL;
}

/* Expires, Min-Expires: digits, larger values than 2**32 - 1 taken as
 * 2**32 - 1 (RFC 3261 §20.19, _expires). */
static PyObject *
expires_view(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    unsigned long long v = 0;
    Py_ssize_t i;
    if (a == b || span(d, a, b, C_DIGIT) != b) {
        return NULL;
    }
    if (b - a > 10) {
        return PyLong_FromUnsignedLongLong(0xFFFFFFFFULL);
    }
    for (i = a; i < b; i++) {
        v = v * 10 + (unsigned long long)(d[i] - '0');
    }
    return PyLong_FromUnsignedLongLong(v > 0xFFFFFFFFULL ? 0xFFFFFFFFULL : v);
}

/* type/subtype with plain parameters (_CONTENT_TYPE_FAST). */
static PyObject *
content_type_view(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t t = span(d, a, b, C_TOKEN), st;
    PyObject *v[3];
    if (t == a || t >= b || d[t] != '/') {
        return NULL;
    }
    st = span(d, t + 1, b, C_TOKEN);
    if (st == t + 1 || params_end(d, st, b, C_TOKEN, C_PVAL, NULL, NULL, NULL) != b) {
        return NULL;
    }
    v[CT_TYPE] = text(d + a, t - a);
    v[CT_SUBTYPE] = text(d + t + 1, st - t - 1);
    v[CT_PARAMS] = lazy_params(d, st, b);
    return build(&content_type_cls, v);
}

/* Event: a package and parameters written without spaces (what
 * parse_event builds through parse_params' tight pattern). */
static PyObject *
event_view(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t t = span(d, a, b, C_TOKEN);
    PyObject *v[2];
    if (t == a || params_end(d, t, b, C_TOKEN, C_PVAL, NULL, NULL, NULL) != b) {
        return NULL;
    }
    v[EVENT_PACKAGE] = text(d + a, t - a);
    v[EVENT_PARAMS] = lazy_params(d, t, b);
    return build(&event_cls, v);
}

/* One name-addr or addr-spec in the usual shapes -- what the Python
 * patterns _NAME_ADDR, _NAME_ADDR_NO_USER, _ADDR_SPEC and
 * _ADDR_SPEC_NO_USER take: a quoted display name without escapes or
 * token words, a sip or sips URI without password, headers, %-escapes or
 * IPv6 reference, plain parameters, the tag perhaps first. */
static PyObject *
address_view(const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    int angle = memchr(d + a, '<', (size_t)(b - a)) != NULL;
    int has_user = memchr(d + a, '@', (size_t)(b - a)) != NULL;
    Py_ssize_t i = a, disp_a = -1, disp_b = -1, uri_a, uri_b, user_a, user_b, host_a, host_end;
    Py_ssize_t up_a, up_b, hp_a, tag_a = -1, tag_b = -1;
    long port;
    int secure;
    PyObject *v[5];

    if (angle) {
        if (d[i] == '"') {
            Py_ssize_t j = i + 1;
            while (j < b && d[j] != '"') {
                if (d[j] == '\\' || d[j] < 0x20 || d[j] == 0x7f) {
                    return NULL;
                }
                j++;
            }
            if (j == b) {
                return NULL;
            }
            disp_a = i + 1;
            disp_b = j;
            i = skip_ws(d, j + 1, b);
        }
        else if (cls[d[i]] & C_TOKEN) {
            Py_ssize_t j = span(d, i, b, C_TOKEN);
            for (;;) {
                Py_ssize_t k = skip_ws(d, j, b);
                if (k == j || k == b || !(cls[d[k]] & C_TOKEN)) {
                    break;
                }
                j = span(d, k, b, C_TOKEN);
            }
            disp_a = i;
            disp_b = j;
            i = skip_ws(d, j, b);
        }
        if (i >= b || d[i] != '<') {
            return NULL;
        }
        i++;
    }
    uri_a = i;
    i = sip_scheme(d, i, b, &secure);
    if (i < 0) {
        return NULL;
    }
    user_a = user_b = i;
    if (has_user) {
        user_b = span(d, i, b, angle ? C_USER_NA : C_USER_AS);
        if (user_b == i || user_b >= b || d[user_b] != '@') {
            return NULL;
        }
        i = user_b + 1;
    }
    host_a = i;
    i = host_port(d, host_a, b, &host_end, &port);
    if (i < 0) {
        return NULL;
    }
    up_a = up_b = i;
    if (angle) {
        up_b = params_end(d, i, b, C_UPARAM, C_UPARAM, NULL, NULL, NULL);
        if (up_b < 0 || up_b >= b || d[up_b] != '>') {
            return NULL;
        }
        uri_b = up_b;
        hp_a = up_b + 1;
    }
    else {
        uri_b = hp_a = i;
    }
    if (params_end(d, hp_a, b, C_TOKEN, C_PVAL, "tag", &tag_a, &tag_b) != b) {
        return NULL;
    }

    v[ADDR_URI] = sip_uri_object(d, secure, user_a, user_b, host_a, host_end, port, up_a, up_b,
                                 uri_a, uri_b);
    v[ADDR_DISPLAY] = disp_a >= 0 ? text(d + disp_a, disp_b - disp_a) : Py_NewRef(Py_None);
    v[ADDR_PARAMS] = lazy_params(d, hp_a, b);
    v[ADDR_RAW] = text(d + a, b - a);
    v[ADDR_TAG] = tag_a >= 0 ? text(d + tag_a, tag_b - tag_a) : Py_NewRef(Py_None);
    return build(&addr_cls, v);
}

/* -- headers into the cache --------------------------------------------------- */

typedef PyObject *(*view_fn)(const unsigned char *, Py_ssize_t, Py_ssize_t);

/* The views built here, each from the lines of one header: how the lines
 * make the view, and the key it has in the message's view cache. */
enum { K_ONE, K_TOP_VIA, K_LIST, K_TOKENS };

typedef struct {
    PyObject **key;  /* the header's lookup key */
    PyObject **ckey; /* the view's key in the cache */
    int kind;
    view_fn view;
} watch_spec;

/* The first three are what the scan builds; validate() builds them all. */
enum { W_CALL_ID, W_CSEQ, W_TOP_VIA };
static const watch_spec specs[] = {
    {&key_call_id, &key_call_id, K_ONE, call_id_view},
    {&key_cseq, &key_cseq, K_ONE, cseq_view},
    {&key_via, &key_via, K_TOP_VIA, via_view},
    {&key_via, &ckey_vias, K_LIST, via_view},
    {&key_from, &key_from, K_ONE, address_view},
    {&key_to, &key_to, K_ONE, address_view},
    {&key_contact, &ckey_contacts, K_LIST, address_view},
    {&key_route, &ckey_routes, K_LIST, address_view},
    {&key_record_route, &ckey_record_routes, K_LIST, address_view},
    {&key_max_forwards, &key_max_forwards, K_ONE, max_forwards_view},
    {&key_expires, &key_expires, K_ONE, expires_view},
    {&key_min_expires, &key_min_expires, K_ONE, expires_view},
    {&key_content_type, &key_content_type, K_ONE, content_type_view},
    {&key_event, &key_event, K_ONE, event_view},
    {&key_allow, &ckey_allow, K_TOKENS, NULL},
    {&key_supported, &ckey_supported, K_TOKENS, NULL},
    {&key_require, &ckey_require, K_TOKENS, NULL},
    {&key_proxy_require, &ckey_proxy_require, K_TOKENS, NULL},
    {&key_unsupported, &ckey_unsupported, K_TOKENS, NULL},
};
#define W_N ((int)(sizeof(specs) / sizeof(specs[0])))

typedef struct {
    int state;     /* 0 not seen yet, 1 building, -1 not wanted or left to the views */
    PyObject *acc; /* list views: the elements so far */
} watch;

/* A token list's line (Allow, Supported ...): tokens separated by commas
 * with SP or HT around them (_TOKEN_LIST); an empty line has none.
 * Anything else (empty elements too) is the views' business. */
static int
add_tokens(watch *w, const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t i = a;
    w->state = 1;
    if (w->acc == NULL && (w->acc = PyList_New(0)) == NULL) {
        return -1;
    }
    while (i < b) {
        Py_ssize_t j = span(d, i, b, C_TOKEN);
        PyObject *token;
        int rc;
        if (j == i) {
            w->state = -1;
            return 0;
        }
        token = text(d + i, j - i);
        if (token == NULL) {
            return -1;
        }
        rc = PyList_Append(w->acc, token);
        Py_DECREF(token);
        if (rc < 0) {
            return -1;
        }
        i = skip_ws(d, j, b);
        if (i < b) {
            if (d[i] != ',') {
                w->state = -1;
                return 0;
            }
            i = skip_ws(d, i + 1, b);
            if (i == b) {
                w->state = -1;
                return 0;
            }
        }
    }
    return 0;
}

/* A list header's line: each comma-separated element (commas inside <...>
 * do not separate; a quote with a comma is the careful splitter's
 * business), stripped, empty ones dropped -- as split_commas and
 * list_elements give them -- through view() into w->acc.  Returns -1 on a
 * Python error; w->state becomes -1 when an element is not in its shape. */
static int
add_elements(watch *w, view_fn view, const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t i, start;
    int commas = memchr(d + a, ',', (size_t)(b - a)) != NULL;
    w->state = 1;
    if (w->acc == NULL && (w->acc = PyList_New(0)) == NULL) {
        return -1;
    }
    if (commas && memchr(d + a, '"', (size_t)(b - a)) != NULL) {
        w->state = -1;
        return 0;
    }
    start = i = a;
    while (i <= b) {
        if (i < b && d[i] == '<') {
            const unsigned char *gt = memchr(d + i, '>', (size_t)(b - i));
            if (gt == NULL) {
                w->state = -1;
                return 0;
            }
            i = (Py_ssize_t)(gt - d) + 1;
            continue;
        }
        if (i == b || (commas && d[i] == ',')) {
            Py_ssize_t ea = start, eb = i;
            strip_span(d, &ea, &eb);
            if (eb > ea) {
                PyObject *element = view(d, ea, eb);
                int rc;
                if (element == NULL) {
                    if (PyErr_Occurred()) {
                        return -1;
                    }
                    w->state = -1;
                    return 0;
                }
                rc = PyList_Append(w->acc, element);
                Py_DECREF(element);
                if (rc < 0) {
                    return -1;
                }
            }
            start = i + 1;
        }
        i++;
    }
    return 0;
}

/* One-value views: the first line is the view (a second one is an error
 * validate() reports); the top Via is the first line's only element, when
 * it has one (a comma or a quote is the views' business). */
static int
add_one(watch *w, PyObject *cache, PyObject *ckey, view_fn view, const unsigned char *d,
        Py_ssize_t a, Py_ssize_t b)
{
    PyObject *v;
    int rc;
    w->state = 1;
    v = view(d, a, b);
    if (v == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    rc = PyDict_SetItem(cache, ckey, v);
    Py_DECREF(v);
    return rc;
}

/* The value of a header line [a, b) (after the colon, SP and HT around it
 * stripped) into the watches of its key; -1 only on a Python error. */
static int
watch_line(watch *ws, PyObject *cache, PyObject *key, const unsigned char *d, Py_ssize_t a,
           Py_ssize_t b)
{
    int k, rc = 0;
    for (k = 0; k < W_N && rc == 0; k++) {
        const watch_spec *spec = &specs[k];
        watch *w = &ws[k];
        if (*spec->key != key || w->state < 0) {
            continue;
        }
        switch (spec->kind) {
        case K_ONE:
            /* The first line is the view (a second one is an error
             * validate() reports). */
            if (w->state == 0) {
                rc = add_one(w, cache, *spec->ckey, spec->view, d, a, b);
            }
            break;
        case K_TOP_VIA:
            /* The first line's only element, when it has one (a comma or a
             * quote is the views' business). */
            if (w->state == 0) {
                w->state = 1;
                if (!memchr(d + a, ',', (size_t)(b - a)) && !memchr(d + a, '"', (size_t)(b - a))) {
                    rc = add_one(w, cache, *spec->ckey, spec->view, d, a, b);
                }
            }
            break;
        case K_LIST:
            rc = add_elements(w, spec->view, d, a, b);
            break;
        default:
            rc = add_tokens(w, d, a, b);
            break;
        }
    }
    return rc;
}

/* True when some watch still wants lines of key. */
static int
wanted(const watch *ws, PyObject *key)
{
    int k;
    for (k = 0; k < W_N; k++) {
        if (*specs[k].key == key && ws[k].state >= 0) {
            return 1;
        }
    }
    return 0;
}

/* The list views that were built whole go into the cache as tuples (none
 * when cache is NULL: the scan gave up), and every accumulator is
 * released. */
static int
finish_watches(watch *ws, PyObject *cache)
{
    int k, rc = 0;
    for (k = 0; k < W_N && rc == 0; k++) {
        watch *w = &ws[k];
        if (cache != NULL && w->state == 1 && w->acc != NULL) {
            PyObject *tuple = PyList_AsTuple(w->acc);
            rc = tuple == NULL ? -1 : PyDict_SetItem(cache, *specs[k].ckey, tuple);
            Py_XDECREF(tuple);
        }
    }
    for (k = 0; k < W_N; k++) {
        Py_CLEAR(ws[k].acc);
    }
    return rc;
}

/* The value of a header line: after its colon, stripped. */
static void
value_span(const unsigned char *d, Py_ssize_t colon, Py_ssize_t stop, Py_ssize_t *a, Py_ssize_t *b)
{
    *a = colon + 1;
    *b = stop;
    strip_span(d, a, b);
}

/* The UTF-8 text of a str (for an ASCII str, its own buffer).  NULL
 * without an error set for text UTF-8 cannot carry (lone surrogates): the
 * views' business. */
static const unsigned char *
utf8_of(PyObject *s, Py_ssize_t *n)
{
    const char *d;
    if (!PyUnicode_Check(s)) {
        PyErr_SetString(PyExc_TypeError, "str expected");
        return NULL;
    }
    d = PyUnicode_AsUTF8AndSize(s, n);
    if (d == NULL && PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
        PyErr_Clear();
    }
    return (const unsigned char *)d;
}

PyDoc_STRVAR(fill_views_doc,
"fill_views(lines, keys, cache, typed)\n"
"\n"
"Put into cache the typed views it lacks of Call-ID, CSeq, the top Via,\n"
"the Via list, From, To, Contact, Route, Record-Route, Max-Forwards,\n"
"Expires, Min-Expires, Content-Type, Event and the token lists (Allow,\n"
"Supported, Require, Proxy-Require, Unsupported) whose every element is in\n"
"the usual shape; leave the others to the views.  Returns whether any\n"
"header of typed (lookup key -> cache key) is still not in cache.");

static PyObject *
fill_views(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *lines, *keys, *cache;
    Py_ssize_t i;
    watch ws[sizeof(specs) / sizeof(specs[0])];
    int k;

    (void)module;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "fill_views() takes 4 arguments");
        return NULL;
    }
    /* Anything but the headers' own lists is left to the views. */
    if (empty_params == NULL || !PyList_CheckExact(args[0]) || !PyList_CheckExact(args[1])
        || !PyDict_CheckExact(args[2]) || !PyDict_CheckExact(args[3])
        || PyList_GET_SIZE(args[0]) != PyList_GET_SIZE(args[1])) {
        Py_RETURN_TRUE;
    }
    lines = args[0];
    keys = args[1];
    cache = args[2];
    memset(ws, 0, sizeof(ws));
    for (k = 0; k < W_N; k++) {
        int has = PyDict_Contains(cache, *specs[k].ckey);
        if (has < 0) {
            return NULL;
        }
        ws[k].state = has ? -1 : 0;
    }
    /* The lists are read afresh at each step, and each item is held while
     * it is read: a finalizer run by an allocation could change them. */
    for (i = 0; i < PyList_GET_SIZE(lines) && i < PyList_GET_SIZE(keys); i++) {
        PyObject *line = PyList_GET_ITEM(lines, i), *key = PyList_GET_ITEM(keys, i);
        const unsigned char *d, *colon;
        Py_ssize_t len, a, b;
        int rc = 0;
        if (!wanted(ws, key) || !PyUnicode_CheckExact(line)) {
            continue;
        }
        Py_INCREF(line);
        Py_INCREF(key);
        d = utf8_of(line, &len);
        if (d == NULL) {
            rc = PyErr_Occurred() ? -1 : 0;
        }
        else if ((colon = memchr(d, ':', (size_t)len)) != NULL) {
            value_span(d, (Py_ssize_t)(colon - d), len, &a, &b);
            rc = watch_line(ws, cache, key, d, a, b);
        }
        Py_DECREF(line);
        Py_DECREF(key);
        if (rc < 0) {
            finish_watches(ws, NULL);
            return NULL;
        }
    }
    if (finish_watches(ws, cache) < 0) {
        return NULL;
    }
    /* Is any typed header left for the views? */
    for (i = 0; i < PyList_GET_SIZE(keys); i++) {
        PyObject *ckey = PyDict_GetItemWithError(args[3], PyList_GET_ITEM(keys, i));
        int has;
        if (ckey == NULL) {
            if (PyErr_Occurred()) {
                return NULL;
            }
            continue;
        }
        has = PyDict_Contains(cache, ckey);
        if (has <= 0) {
            return has < 0 ? NULL : Py_NewRef(Py_True);
        }
    }
    Py_RETURN_FALSE;
}

/* One view of a str value, for the Python views' fast paths. */
static PyObject *
one_view(PyObject *value, view_fn view)
{
    Py_ssize_t n;
    const unsigned char *d = utf8_of(value, &n);
    PyObject *v;
    if (d == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    if (empty_params == NULL || n == 0) {
        Py_RETURN_NONE;
    }
    v = view(d, 0, n);
    if (v == NULL && !PyErr_Occurred()) {
        Py_RETURN_NONE;
    }
    return v;
}

PyDoc_STRVAR(address_doc,
"address(value)\n"
"\n"
"The Address of one name-addr or addr-spec (without SP or HT around it)\n"
"in the usual shape, as the Python fast path builds it, or None.");

static PyObject *
address(PyObject *module, PyObject *value)
{
    (void)module;
    return one_view(value, address_view);
}

PyDoc_STRVAR(sip_uri_doc,
"sip_uri(text)\n"
"\n"
"The SipURI of a whole sip: or sips: URI in the usual shape, as the\n"
"Python fast path builds it, or None.");

static PyObject *
sip_uri(PyObject *module, PyObject *value)
{
    (void)module;
    return one_view(value, sip_uri_view);
}

PyDoc_STRVAR(via_doc,
"via(value)\n"
"\n"
"The Via of one via-parm (without SP or HT around it) in the usual shape,\n"
"as the Python fast path builds it, or None.");

static PyObject *
via(PyObject *module, PyObject *value)
{
    (void)module;
    return one_view(value, via_view);
}

/* -- parse_head ---------------------------------------------------------------- */

/* What the scan of the header lines gives. */
typedef struct {
    Py_ssize_t first_a, first_b;    /* the start line */
    Py_ssize_t cl_a, cl_b;          /* the first Content-Length value, cl_a < 0 if none */
    int cl_conflict;                /* a later Content-Length says otherwise */
    PyObject *lines, *keys, *present, *cache;
} head;

static void
clear_head(head *h)
{
    Py_CLEAR(h->lines);
    Py_CLEAR(h->keys);
    Py_CLEAR(h->present);
    Py_CLEAR(h->cache);
}

/* The keys of the header names seen lately, by their spelling: most
 * messages use a handful of names, and a hit spares making a str of the
 * name and looking it up.  Entries only ever come from keymap, whose
 * entries never change once made, so a hit answers what the lookup would;
 * another keymap empties the memo. */
#define MEMO_SIZE 64
#define MEMO_NAME 31
typedef struct {
    Py_ssize_t len;
    unsigned char name[MEMO_NAME];
    PyObject *key;
} memo_slot;
static memo_slot memo[MEMO_SIZE];
static PyObject *memo_owner = NULL;

static unsigned int
memo_hash(const unsigned char *p, Py_ssize_t n)
{
    unsigned int h = 2166136261u;
    Py_ssize_t i;
    for (i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return (h ^ (h >> 16)) & (MEMO_SIZE - 1);
}

/* The key of the name d[a:b] (borrowed), NULL without an error when the
 * map has none, NULL with one on a Python error. */
static PyObject *
key_of(PyObject *keymap, const unsigned char *d, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t n = b - a;
    memo_slot *slot = NULL;
    PyObject *name, *key;
    if (keymap != memo_owner) {
        int k;
        for (k = 0; k < MEMO_SIZE; k++) {
            Py_CLEAR(memo[k].key);
            memo[k].len = 0;
        }
        Py_XSETREF(memo_owner, Py_NewRef(keymap));
    }
    if (n <= MEMO_NAME) {
        slot = &memo[memo_hash(d + a, n)];
        if (slot->key != NULL && slot->len == n && memcmp(slot->name, d + a, (size_t)n) == 0) {
            return slot->key;
        }
    }
    /* The map holds ASCII names only: a name with any other byte is not
     * one of them. */
    name = PyUnicode_DecodeLatin1((const char *)d + a, n, NULL);
    if (name == NULL) {
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(name)) {
        Py_DECREF(name);
        return NULL;
    }
    key = PyDict_GetItemWithError(keymap, name);
    Py_DECREF(name);
    if (key != NULL && slot != NULL) {
        Py_XSETREF(slot->key, Py_NewRef(key));
        slot->len = n;
        memcpy(slot->name, d + a, (size_t)n);
    }
    return key;
}

/* Cut, check and key the lines of d[start:end] and build the views every
 * receiver reads at once (Call-ID, CSeq, the top Via).  1 when the head is
 * in the plain common shape, 0 when it is not (the careful path's), -1 on
 * a Python error. */
static int
index_head(const unsigned char *d, Py_ssize_t start, Py_ssize_t end, PyObject *keymap,
           Py_ssize_t max_lines, Py_ssize_t max_len, head *h)
{
    Py_ssize_t i, nlines = 0;
    int first_done = 0, k, rc = 0;
    watch ws[sizeof(specs) / sizeof(specs[0])];

    memset(ws, 0, sizeof(ws));
    for (k = 0; k < W_N; k++) {
        ws[k].state = (empty_params != NULL && (k == W_CALL_ID || k == W_CSEQ || k == W_TOP_VIA))
            ? 0 : -1;
    }
    h->cl_a = h->cl_b = -1;
    h->cl_conflict = 0;
    h->lines = PyList_New(0);
    h->keys = PyList_New(0);
    h->present = PySet_New(NULL);
    h->cache = PyDict_New();
    if (h->lines == NULL || h->keys == NULL || h->present == NULL || h->cache == NULL) {
        rc = -1;
        goto done;
    }

    i = start;
    while (i < end) {
        Py_ssize_t begin = i, colon = -1, n;
        const unsigned char *cr;
        PyObject *line, *key;

        /* The line runs to the next CR; nothing before it may be special. */
        cr = memchr(d + i, '\r', (size_t)(end - i));
        n = (cr != NULL ? (Py_ssize_t)(cr - d) : end) - begin;
        for (; i < begin + n; i++) {
            unsigned char c = d[i];
            if (special[c]) {
                goto done;
            }
            if (c == ':' && colon < 0) {
                colon = i;
            }
        }
        if (cr != NULL) {
            /* A CR must start a CRLF pair that ends a line, never the head. */
            if (i + 1 >= end || d[i + 1] != '\n') {
                goto done;
            }
            i += 2;
        }
        if (n > max_len || n == 0) {
            goto done;
        }
        if (!first_done) {
            h->first_a = begin;
            h->first_b = begin + n;
            first_done = 1;
            continue;
        }
        if (++nlines > max_lines) {
            goto done;
        }
        /* Continuation lines (folding) and lines without a colon are the
         * careful path's business. */
        if (d[begin] == ' ' || d[begin] == '\t' || colon < 0) {
            goto done;
        }
        key = key_of(keymap, d, begin, colon);
        if (key == NULL) {
            rc = PyErr_Occurred() ? -1 : 0;
            goto done;
        }
        line = decode_line((const char *)d + begin, n);
        if (line == NULL) {
            rc = PyErr_Occurred() ? -1 : 0;
            goto done;
        }
        if (PyList_Append(h->lines, line) < 0) {
            Py_DECREF(line);
            rc = -1;
            goto done;
        }
        Py_DECREF(line);
        if (PyList_Append(h->keys, key) < 0 || PySet_Add(h->present, key) < 0) {
            rc = -1;
            goto done;
        }
        if (key == key_via || key == key_call_id || key == key_cseq) {
            Py_ssize_t a, b;
            value_span(d, colon, begin + n, &a, &b);
            if (watch_line(ws, h->cache, key, d, a, b) < 0) {
                rc = -1;
                goto done;
            }
        }
        else if (key == key_content_length) {
            Py_ssize_t a, b;
            value_span(d, colon, begin + n, &a, &b);
            if (h->cl_a < 0) {
                h->cl_a = a;
                h->cl_b = b;
            }
            else if (b - a != h->cl_b - h->cl_a || memcmp(d + a, d + h->cl_a, (size_t)(b - a))) {
                h->cl_conflict = 1;
            }
        }
    }
    rc = first_done;
done:
    /* The views built go into the cache only when the head is taken. */
    if (finish_watches(ws, rc == 1 ? h->cache : NULL) < 0) {
        rc = -1;
    }
    if (rc != 1) {
        clear_head(h);
    }
    return rc;
}

/* The request or response of a start line in its plain shape -- what the
 * Python _request_line / _status_line take without question -- or NULL
 * (no error set) for the careful path. */
static PyObject *
start_line(const unsigned char *d, Py_ssize_t a, Py_ssize_t b, Py_ssize_t max_uri)
{
    Py_ssize_t i, sp1, sp2;
    if (b - a >= 4 && memcmp(d + a, "SIP/", 4) == 0) {
        PyObject *v[2];
        long code;
        if (b - a < 11 || memcmp(d + a, "SIP/2.0 ", 8) != 0) {
            return NULL;
        }
        i = a + 8;
        if (!(cls[d[i]] & C_DIGIT) || !(cls[d[i + 1]] & C_DIGIT) || !(cls[d[i + 2]] & C_DIGIT)) {
            return NULL;
        }
        code = (d[i] - '0') * 100 + (d[i + 1] - '0') * 10 + (d[i + 2] - '0');
        if (code < 100 || code > 699 || (i + 3 < b && d[i + 3] != ' ')) {
            return NULL;
        }
        v[RESP_STATUS] = PyLong_FromLong(code);
        v[RESP_REASON] = i + 4 <= b ? decode_line((const char *)d + i + 4, b - i - 4)
                                    : PyUnicode_New(0, 0);
        return build(&response_cls, v);
    }
    /* METHOD SP Request-URI SP SIP/2.0, single spaces. */
    sp1 = span(d, a, b, C_TOKEN);
    if (sp1 == a || sp1 >= b || d[sp1] != ' ') {
        return NULL;
    }
    sp2 = sp1 + 1;
    while (sp2 < b && d[sp2] != ' ') {
        sp2++;
    }
    if (b - sp2 != 8 || memcmp(d + sp2, " SIP/2.0", 8) != 0 || sp2 - sp1 - 1 > max_uri) {
        return NULL;
    }
    /* The URI starts with a scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
    i = sp1 + 1;
    if (i >= sp2 || !((d[i] | 0x20) >= 'a' && (d[i] | 0x20) <= 'z')) {
        return NULL;
    }
    while (i < sp2 && (((d[i] | 0x20) >= 'a' && (d[i] | 0x20) <= 'z') || (cls[d[i]] & C_DIGIT)
                       || d[i] == '+' || d[i] == '-' || d[i] == '.')) {
        i++;
    }
    if (i >= sp2 || d[i] != ':') {
        return NULL;
    }
    {
        PyObject *v[3];
        v[REQ_METHOD] = text(d + a, sp1 - a);
        v[REQ_URI] = Py_NewRef(Py_None);
        v[REQ_URI_TEXT] = decode_line((const char *)d + sp1 + 1, sp2 - sp1 - 1);
        return build(&request_cls, v);
    }
}

static PyObject *message_of(const unsigned char *d, head *hp, Py_ssize_t max_uri,
                            Py_ssize_t max_body);

PyDoc_STRVAR(parse_head_doc,
"parse_head(data, start, end, keys, max_lines, max_line_length, max_uri_length,\n"
"           max_body_size)\n"
"\n"
"The Request or Response of the start line and header lines of\n"
"data[start:end] (bytes or bytearray, without the empty line that ends the\n"
"head), as the pure-Python _parse_head builds it: headers keyed through\n"
"keys, Content-Length read, the views of Call-ID, CSeq and the top Via\n"
"cached when in their usual shape; body and raw bytes left to the caller.\n"
"None when anything is not in the plain common shape: the careful path\n"
"then parses it and reports what is wrong.");

static PyObject *
parse_head(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    const unsigned char *d;
    Py_ssize_t size, start, end, max_lines, max_len, max_uri, max_body;
    PyObject *keymap, *msg;
    Py_buffer view;
    head h;
    int rc;

    (void)module;
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "parse_head() takes 8 arguments");
        return NULL;
    }
    if (!PyBytes_CheckExact(args[0]) && !PyByteArray_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "parse_head() needs bytes or bytearray");
        return NULL;
    }
    start = PyLong_AsSsize_t(args[1]);
    end = PyLong_AsSsize_t(args[2]);
    max_lines = PyLong_AsSsize_t(args[4]);
    max_len = PyLong_AsSsize_t(args[5]);
    max_uri = PyLong_AsSsize_t(args[6]);
    max_body = PyLong_AsSsize_t(args[7]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    keymap = args[3];
    if (!PyDict_CheckExact(keymap)) {
        PyErr_SetString(PyExc_TypeError, "parse_head() needs a dict of keys");
        return NULL;
    }
    if (empty_params == NULL) {
        Py_RETURN_NONE;
    }
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    d = (const unsigned char *)view.buf;
    size = view.len;
    msg = NULL;
    if (start < 0 || end > size || start >= end) {
        rc = 0;
    }
    else {
        rc = index_head(d, start, end, keymap, max_lines, max_len, &h);
        if (rc > 0) {
            msg = message_of(d, &h, max_uri, max_body);
        }
    }
    PyBuffer_Release(&view);
    if (rc < 0) {
        return NULL;
    }
    if (msg == NULL) {
        return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
    }
    return msg;
}

/* The message of an indexed head (its lists are taken over or released),
 * NULL with no error set when the careful path must look at it. */
static PyObject *
message_of(const unsigned char *d, head *hp, Py_ssize_t max_uri, Py_ssize_t max_body)
{
    head h = *hp;
    PyObject *msg, *hv[6], *cl;
    int rc;

    /* The mandatory headers (RFC 3261 §8.1.1) and a plain Content-Length:
     * without them the careful path says what is missing or wrong. */
    for (rc = 0; rc < 5; rc++) {
        PyObject *need[5] = {key_via, key_from, key_to, key_call_id, key_cseq};
        int has = PySet_Contains(h.present, need[rc]);
        if (has <= 0) {
            clear_head(&h);
            return NULL;
        }
    }
    if (h.cl_a < 0) {
        cl = Py_NewRef(Py_None);
    }
    else {
        Py_ssize_t j;
        long long value = 0;
        if (h.cl_conflict || h.cl_b == h.cl_a || h.cl_b - h.cl_a > 10) {
            clear_head(&h);
            return NULL;
        }
        for (j = h.cl_a; j < h.cl_b; j++) {
            if (!(cls[d[j]] & C_DIGIT)) {
                clear_head(&h);
                return NULL;
            }
            value = value * 10 + (d[j] - '0');
        }
        if (value > max_body) {
            clear_head(&h);
            return NULL;
        }
        cl = PyLong_FromLongLong(value);
        if (cl == NULL) {
            clear_head(&h);
            return NULL;
        }
    }
    msg = start_line(d, h.first_a, h.first_b, max_uri);
    if (msg == NULL) {
        Py_DECREF(cl);
        clear_head(&h);
        return NULL;
    }
    hv[HDR_CACHE] = h.cache;
    hv[HDR_DIRTY] = Py_NewRef(Py_False);
    hv[HDR_KEYS] = h.keys;
    hv[HDR_LINES] = h.lines;
    hv[HDR_PRESENT] = h.present;
    hv[HDR_RAWS] = Py_NewRef(Py_None);
    /* build() takes over the references of the head's lists. */
    h.cache = h.keys = h.lines = h.present = NULL;
    set_slot(msg, message_off[MSG_HEADERS], build(&headers_cls, hv));
    set_slot(msg, message_off[MSG_CONTENT_LENGTH], cl);
    if (*(PyObject **)((char *)msg + message_off[MSG_HEADERS]) == NULL) {
        Py_DECREF(msg);
        return NULL;
    }
    return msg;
}

/* -- the module --------------------------------------------------------------- */

static PyMethodDef speedups_methods[] = {
    {"parse_head", (PyCFunction)(void (*)(void))parse_head, METH_FASTCALL, parse_head_doc},
    {"setup", (PyCFunction)(void (*)(void))setup, METH_FASTCALL, setup_doc},
    {"fill_views", (PyCFunction)(void (*)(void))fill_views, METH_FASTCALL, fill_views_doc},
    {"address", address, METH_O, address_doc},
    {"via", via, METH_O, via_doc},
    {"sip_uri", sip_uri, METH_O, sip_uri_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "sipstack.message._speedups",
    "Optional C accelerator of the message layer: header indexing and the usual typed views.",
    -1,
    speedups_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

static int
intern_all(void)
{
    struct {
        PyObject **target;
        const char *text;
    } names[] = {
        {&key_call_id, "call-id"},
        {&key_cseq, "cseq"},
        {&key_via, "via"},
        {&key_from, "from"},
        {&key_to, "to"},
        {&key_contact, "contact"},
        {&key_route, "route"},
        {&key_record_route, "record-route"},
        {&key_content_length, "content-length"},
        {&key_max_forwards, "max-forwards"},
        {&key_expires, "expires"},
        {&key_min_expires, "min-expires"},
        {&key_content_type, "content-type"},
        {&key_event, "event"},
        {&key_allow, "allow"},
        {&key_supported, "supported"},
        {&key_require, "require"},
        {&key_proxy_require, "proxy-require"},
        {&key_unsupported, "unsupported"},
        {&ckey_allow, "*allow"},
        {&ckey_supported, "*supported"},
        {&ckey_require, "*require"},
        {&ckey_proxy_require, "*proxy-require"},
        {&ckey_unsupported, "*unsupported"},
        {&ckey_vias, "*via"},
        {&ckey_contacts, "*contact"},
        {&ckey_routes, "*route"},
        {&ckey_record_routes, "*record-route"},
        {&sip_2_0, "SIP/2.0"},
        {&scheme_sip, "sip"},
        {&scheme_sips, "sips"},
    };
    size_t k;
    for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        *names[k].target = PyUnicode_InternFromString(names[k].text);
        if (*names[k].target == NULL) {
            return -1;
        }
    }
    for (k = 0; k < N_TRANSPORTS; k++) {
        transport_str[k] = PyUnicode_InternFromString(transports[k]);
        if (transport_str[k] == NULL) {
            return -1;
        }
    }
    empty_tuple = PyTuple_New(0);
    return empty_tuple == NULL ? -1 : 0;
}

PyMODINIT_FUNC
PyInit__speedups(void)
{
    init_tables();
    if (intern_all() < 0) {
        return NULL;
    }
    return PyModule_Create(&speedups_module);
}
