/*
 * replay.c - whvemu replay FILE: runs a recording (docs/trace-format.md)
 * through the library again. The callbacks answer from the recording and
 * check that the emulator asks exactly what it asked when the recording was
 * made, in the same order; each call must end with the recorded HRESULT and
 * status. Exit status: 0 exact match, 1 divergence, 2 unreadable recording
 * or bad usage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "trace.h"
#include "whvemu.h"

enum ftype { F_NUM, F_BYTES, F_REGS };

struct fspec {
    const char *name;
    enum ftype type;
    unsigned max; /* F_NUM: bits; F_BYTES: bytes */
    int optional;
};

struct kspec {
    const char *kind;
    const struct fspec *f;
};

#define VP_FIELDS                                                                                  \
    {"exec", F_NUM, 16, 0}, {"ilen", F_NUM, 4, 0}, {"cr8", F_NUM, 4, 0},                           \
        {"vp.rsvd", F_NUM, 8, 1}, {"vp.rsvd2", F_NUM, 32, 1}, SEG_FIELDS("cs"),                    \
        {"rip", F_NUM, 64, 0}, {"rflags", F_NUM, 64, 0}, {"count", F_NUM, 8, 0},                   \
        {"rsvd", F_BYTES, 3, 1}, {"bytes", F_BYTES, 16, 0}, {"access", F_NUM, 32, 0}
#define SEG_FIELDS(s)                                                                              \
    {s ".base", F_NUM, 64, 0}, {s ".limit", F_NUM, 32, 0}, {s ".sel", F_NUM, 16, 0},               \
        {s ".attr", F_NUM, 16, 0}

static const struct fspec f_options[] = {
    {"rep_limit", F_NUM, 32, 0}, {"xstate", F_NUM, 1, 0}, {NULL, F_NUM, 0, 0}};
static const struct fspec f_mmio_exit[] = {
    VP_FIELDS, {"gpa", F_NUM, 64, 0}, {"gva", F_NUM, 64, 0}, {NULL, F_NUM, 0, 0}};
static const struct fspec f_io_exit[] = {VP_FIELDS,
                                         {"port", F_NUM, 16, 0},
                                         {"rsvd2", F_BYTES, 6, 1},
                                         {"rax", F_NUM, 64, 0},
                                         {"rcx", F_NUM, 64, 0},
                                         {"rsi", F_NUM, 64, 0},
                                         {"rdi", F_NUM, 64, 0},
                                         SEG_FIELDS("ds"),
                                         SEG_FIELDS("es"),
                                         {NULL, F_NUM, 0, 0}};
static const struct fspec f_regs[] = {{"hr", F_NUM, 32, 0}, {NULL, F_REGS, 0, 0}};
static const struct fspec f_memory[] = {{"gpa", F_NUM, 64, 0},  {"dir", F_NUM, 8, 0},
                                        {"size", F_NUM, 8, 0},  {"data", F_BYTES, 8, 0},
                                        {"hr", F_NUM, 32, 0},   {NULL, F_NUM, 0, 0}};
static const struct fspec f_translate[] = {{"gva", F_NUM, 64, 0},    {"flags", F_NUM, 32, 0},
                                           {"hr", F_NUM, 32, 0},     {"result", F_NUM, 32, 0},
                                           {"gpa", F_NUM, 64, 0},    {NULL, F_NUM, 0, 0}};
static const struct fspec f_io[] = {{"port", F_NUM, 16, 0}, {"size", F_NUM, 16, 0},
                                    {"dir", F_NUM, 8, 0},   {"data", F_NUM, 32, 0},
                                    {"hr", F_NUM, 32, 0},   {NULL, F_NUM, 0, 0}};
static const struct fspec f_xstate[] = {{"component", F_NUM, 32, 0}, {"write", F_NUM, 32, 0},
                                        {"size", F_NUM, 32, 0},      {"hr", F_NUM, 32, 0},
                                        {"data", F_BYTES, 4096, 0},  {NULL, F_NUM, 0, 0}};
static const struct fspec f_result[] = {
    {"hr", F_NUM, 32, 0}, {"status", F_NUM, 32, 0}, {NULL, F_NUM, 0, 0}};

static const struct kspec kinds[] = {
    {"options", f_options}, {"mmio-exit", f_mmio_exit}, {"io-exit", f_io_exit},
    {"get", f_regs},        {"set", f_regs},            {"memory", f_memory},
    {"translate", f_translate}, {"io", f_io},           {"xstate", f_xstate},
    {"result", f_result},
};

struct fld {
    char *key;
    char *val;
};

struct rec {
    unsigned line;
    char *text; /* the line as written, for messages */
    const struct kspec *k;
    unsigned nf;
    struct fld *f;
};

struct replay {
    struct rec *r;
    size_t n, pos;
    unsigned end_line; /* the line number after the last line */
    int quiet;
    int diverged;
    unsigned calls, callbacks;
};

/* --- reading the recording --- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A number of at most `bits` bits, "0x" optional; 0 on success. */
static int parse_num(const char *s, unsigned bits, uint64_t *hi, uint64_t *lo)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    if (!*s)
        return -1;
    uint64_t h = 0, l = 0;
    for (; *s; s++) {
        int d = hexval(*s);
        if (d < 0 || (h >> 60))
            return -1;
        h = h << 4 | l >> 60;
        l = l << 4 | (uint64_t)d;
    }
    if (bits < 128 && (h || (bits < 64 && (l >> bits))))
        return -1;
    if (hi)
        *hi = h;
    *lo = l;
    return 0;
}

/* Byte pairs; the count, or -1. */
static int parse_bytes(const char *s, uint8_t *out, size_t max)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);
        if (a < 0 || b < 0)
            return -1;
        out[i] = (uint8_t)(a << 4 | b);
    }
    return (int)(n / 2);
}

static int is_reg_key(const char *k)
{
    WHV_REGISTER_NAME n;
    uint64_t v;
    if (k[0] == '0' && k[1] == 'x')
        return parse_num(k, 32, NULL, &v) == 0;
    return trace_reg_lookup(k, strlen(k), &n);
}

/* Checks a record against its kind's fields; a message on failure. */
static int validate(const struct rec *r, char *msg, size_t len)
{
    uint8_t scratch[4096];
    for (unsigned i = 0; i < r->nf; i++) {
        const struct fld *f = &r->f[i];
        const struct fspec *s = r->k->f;
        for (; s->name; s++)
            if (!strcmp(s->name, f->key))
                break;
        for (unsigned j = 0; j < i; j++)
            if (!strcmp(r->f[j].key, f->key)) {
                snprintf(msg, len, "field %s given twice", f->key);
                return -1;
            }
        uint64_t lo;
        if (!s->name) {
            if (s->type != F_REGS || !is_reg_key(f->key)) {
                snprintf(msg, len, "unknown field '%s' in a %s record", f->key, r->k->kind);
                return -1;
            }
            if (parse_num(f->val, 128, NULL, &lo)) {
                snprintf(msg, len, "register %s: '%s' is not a hex value of up to 128 bits",
                         f->key, f->val);
                return -1;
            }
        } else if (s->type == F_NUM && parse_num(f->val, s->max, NULL, &lo)) {
            snprintf(msg, len, "field %s: '%s' is not a hex value of up to %u bits", f->key,
                     f->val, s->max);
            return -1;
        } else if (s->type == F_BYTES && parse_bytes(f->val, scratch, s->max) < 0) {
            snprintf(msg, len, "field %s: '%s' is not a string of up to %u hex byte pairs",
                     f->key, f->val, s->max);
            return -1;
        }
    }
    for (const struct fspec *s = r->k->f; s->name; s++) {
        if (s->optional)
            continue;
        unsigned i = 0;
        while (i < r->nf && strcmp(r->f[i].key, s->name))
            i++;
        if (i == r->nf) {
            snprintf(msg, len, "%s record without field %s", r->k->kind, s->name);
            return -1;
        }
    }
    return 0;
}

/* The next blank-separated token of *p (terminated in place), or NULL. */
static char *next_token(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return NULL;
    char *t = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    if (*s)
        *s++ = 0;
    *p = s;
    return t;
}

/* Splits one line (modified in place) into a record; a message on failure. */
static int parse_line(char *line, struct rec *r, char *msg, size_t len)
{
    size_t n = strlen(line);
    r->text = malloc(n + 1);
    r->f = calloc(n / 2 + 1, sizeof(*r->f));
    if (!r->text || !r->f) {
        snprintf(msg, len, "out of memory");
        return -1;
    }
    memcpy(r->text, line, n + 1);
    r->nf = 0;
    char *save = line;
    char *tok = next_token(&save);
    r->k = NULL;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (!strcmp(kinds[i].kind, tok))
            r->k = &kinds[i];
    if (!r->k) {
        snprintf(msg, len, "unknown record '%s'", tok);
        return -1;
    }
    while ((tok = next_token(&save)) != NULL) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok) {
            snprintf(msg, len, "'%s' is not a name=value field", tok);
            return -1;
        }
        *eq = 0;
        r->f[r->nf].key = tok;
        r->f[r->nf].val = eq + 1;
        r->nf++;
    }
    return validate(r, msg, len);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t k = fread(b + n, 1, cap - n, f);
        n += k;
        if (n < cap)
            break;
        char *nb = realloc(b, 2 * cap + 1);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!b || err) {
        free(b);
        return NULL;
    }
    b[n] = 0;
    *len = n;
    return b;
}

/* 0, or 2 after printing why the recording cannot be read. */
static int load(struct replay *rp, const char *path, char **textp)
{
    size_t len;
    char *text = read_all(path, &len);
    if (!text) {
        fprintf(stderr, "whvemu replay: cannot read %s\n", path);
        return 2;
    }
    *textp = text;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    rp->r = calloc(lines, sizeof(*rp->r));
    if (!rp->r) {
        fprintf(stderr, "whvemu replay: out of memory\n");
        return 2;
    }
    char *p = text;
    unsigned lineno = 0;
    while (*p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        lineno++;
        size_t n = strlen(p);
        if (n && p[n - 1] == '\r')
            p[--n] = 0;
        if (lineno == 1) {
            if (strcmp(p, TRACE_HEADER)) {
                if (!strncmp(p, "whvemu-trace ", 13))
                    fprintf(stderr,
                            "whvemu replay: %s:1: recording format '%s'; this replay reads "
                            "'" TRACE_HEADER "'\n",
                            path, p);
                else
                    fprintf(stderr,
                            "whvemu replay: %s:1: not a whvemu recording (the first line must "
                            "be '" TRACE_HEADER "')\n",
                            path);
                return 2;
            }
        } else {
            char *s = p;
            while (*s == ' ' || *s == '\t')
                s++;
            if (*s && *s != '#') {
                char msg[256];
                struct rec *r = &rp->r[rp->n++];
                r->line = lineno;
                if (parse_line(s, r, msg, sizeof(msg))) {
                    fprintf(stderr, "whvemu replay: %s:%u: %s\n", path, lineno, msg);
                    return 2;
                }
            }
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (lineno == 0) {
        fprintf(stderr, "whvemu replay: %s:1: empty file, not a whvemu recording\n", path);
        return 2;
    }
    rp->end_line = lineno + 1;
    return 0;
}

static const char *fval(const struct rec *r, const char *key)
{
    for (unsigned i = 0; i < r->nf; i++)
        if (!strcmp(r->f[i].key, key))
            return r->f[i].val;
    return NULL;
}

/* A validated number field (0 when an optional field is absent). */
static uint64_t num(const struct rec *r, const char *key)
{
    uint64_t v = 0;
    const char *s = fval(r, key);
    if (s)
        parse_num(s, 64, NULL, &v);
    return v;
}

/* A validated byte field into out (zero-filled to max); the count. */
static int bytes(const struct rec *r, const char *key, void *out, size_t max)
{
    memset(out, 0, max);
    const char *s = fval(r, key);
    return s ? parse_bytes(s, out, max) : 0;
}

/* --- divergence --- */

static void diverge(struct replay *rp, const struct rec *r, const char *what, const char *actual)
{
    if (rp->diverged)
        return;
    rp->diverged = 1;
    if (r)
        printf("DIVERGENCE at line %u: %s\n  recorded: %s\n  emulator: %s\n", r->line, what,
               r->text, actual);
    else
        printf("DIVERGENCE at line %u (end of recording): %s\n  emulator: %s\n", rp->end_line,
               what, actual);
}

/* The next record, which must be a callback of `kind`; NULL (and the
 * divergence reported) otherwise. */
static const struct rec *next_cb(struct replay *rp, const char *kind, const char *actual)
{
    if (rp->diverged)
        return NULL;
    if (rp->pos >= rp->n) {
        diverge(rp, NULL, "the recording ends, but the emulator made another callback", actual);
        return NULL;
    }
    const struct rec *r = &rp->r[rp->pos];
    if (strcmp(r->k->kind, kind)) {
        char what[128];
        snprintf(what, sizeof(what), "the recording has a %s record, the emulator made a %s call",
                 r->k->kind, kind);
        diverge(rp, r, what, actual);
        return NULL;
    }
    rp->pos++;
    return r;
}

/* A callback that matched its record: shown, counted, answered with the
 * recorded HRESULT. */
static HRESULT matched(struct replay *rp, const struct rec *r)
{
    rp->callbacks++;
    if (!rp->quiet)
        printf("%5u    %s\n", r->line, r->text);
    return (HRESULT)(uint32_t)num(r, "hr");
}

/* Mismatch of one field: the divergence. */
static int differs(struct replay *rp, const struct rec *r, const char *field, uint64_t recorded,
                   uint64_t actual, const char *call)
{
    if (recorded == actual)
        return 0;
    char what[160];
    snprintf(what, sizeof(what), "%s differs: recorded 0x%llx, emulator 0x%llx", field,
             (unsigned long long)recorded, (unsigned long long)actual);
    diverge(rp, r, what, call);
    return 1;
}

static int bytes_differ(struct replay *rp, const struct rec *r, const uint8_t *want, int nwant,
                        const uint8_t *have, size_t nhave, const char *call)
{
    if ((size_t)nwant == nhave && !memcmp(want, have, nhave))
        return 0;
    diverge(rp, r, "the data written differs", call);
    return 1;
}

static void put_hex(char *out, const uint8_t *b, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = 0;
}

/* --- the callbacks, answering from the recording --- */

static HRESULT CALLBACK rp_io(VOID *c, WHV_EMULATOR_IO_ACCESS_INFO *a)
{
    struct replay *rp = c;
    char call[160];
    snprintf(call, sizeof(call), "io port=0x%x size=0x%x dir=0x%x", a->Port, a->AccessSize,
             a->Direction);
    if (a->Direction)
        snprintf(call + strlen(call), sizeof(call) - strlen(call), " data=0x%x", a->Data);
    const struct rec *r = next_cb(rp, "io", call);
    if (!r || differs(rp, r, "port", num(r, "port"), a->Port, call) ||
        differs(rp, r, "size", num(r, "size"), a->AccessSize, call) ||
        differs(rp, r, "dir", num(r, "dir"), a->Direction, call) ||
        (a->Direction && differs(rp, r, "data", num(r, "data"), a->Data, call)))
        return E_FAIL;
    if (!a->Direction)
        a->Data = (UINT32)num(r, "data");
    return matched(rp, r);
}

static HRESULT CALLBACK rp_memory(VOID *c, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    struct replay *rp = c;
    size_t n = a->AccessSize > 8 ? 8 : a->AccessSize;
    char call[160], hex[17];
    put_hex(hex, a->Data, n);
    snprintf(call, sizeof(call), "memory gpa=0x%llx dir=0x%x size=0x%x%s%s",
             (unsigned long long)a->GpaAddress, a->Direction, a->AccessSize,
             a->Direction ? " data=" : "", a->Direction ? hex : "");
    const struct rec *r = next_cb(rp, "memory", call);
    uint8_t data[8];
    if (!r || differs(rp, r, "gpa", num(r, "gpa"), a->GpaAddress, call) ||
        differs(rp, r, "dir", num(r, "dir"), a->Direction, call) ||
        differs(rp, r, "size", num(r, "size"), a->AccessSize, call))
        return E_FAIL;
    int nd = bytes(r, "data", data, sizeof(data));
    if (a->Direction) {
        if (bytes_differ(rp, r, data, nd, a->Data, n, call))
            return E_FAIL;
    } else {
        memcpy(a->Data, data, n);
    }
    return matched(rp, r);
}

/* "Name=0xVALUE" for the actual call's message. */
static void append_regs(char *call, size_t len, const WHV_REGISTER_NAME *names, UINT32 n,
                        const WHV_REGISTER_VALUE *vals)
{
    for (UINT32 i = 0; i < n; i++) {
        size_t at = strlen(call);
        if (at + 80 >= len)
            break;
        const char *name = trace_reg_name(names[i]);
        char num_name[16];
        if (!name) {
            snprintf(num_name, sizeof(num_name), "0x%x", (unsigned)names[i]);
            name = num_name;
        }
        if (!vals)
            snprintf(call + at, len - at, " %s", name);
        else if (vals[i].Reg128.High64)
            snprintf(call + at, len - at, " %s=0x%llx%016llx", name,
                     (unsigned long long)vals[i].Reg128.High64,
                     (unsigned long long)vals[i].Reg128.Low64);
        else
            snprintf(call + at, len - at, " %s=0x%llx", name,
                     (unsigned long long)vals[i].Reg128.Low64);
    }
}

/* The register fields of a get or set record must name the call's
 * registers in order; with `vals` their values must match too. */
static int regs_differ(struct replay *rp, const struct rec *r, const WHV_REGISTER_NAME *names,
                       UINT32 n, const WHV_REGISTER_VALUE *vals, const char *call)
{
    UINT32 k = 0;
    for (unsigned i = 0; i < r->nf; i++) {
        const char *key = r->f[i].key;
        if (!strcmp(key, "hr"))
            continue;
        WHV_REGISTER_NAME want;
        uint64_t v;
        if (key[0] == '0' && key[1] == 'x') {
            parse_num(key, 32, NULL, &v);
            want = (WHV_REGISTER_NAME)v;
        } else {
            trace_reg_lookup(key, strlen(key), &want);
        }
        char what[160];
        if (k >= n || names[k] != want) {
            snprintf(what, sizeof(what), "register %u of the call: recorded %s, emulator %s",
                     k + 1, key,
                     k >= n ? "(no more)"
                            : (trace_reg_name(names[k]) ? trace_reg_name(names[k]) : "unnamed"));
            goto bad;
        }
        if (vals) {
            uint64_t hi, lo;
            parse_num(r->f[i].val, 128, &hi, &lo);
            if (vals[k].Reg128.High64 != hi || vals[k].Reg128.Low64 != lo) {
                snprintf(what, sizeof(what), "the value written to %s differs", key);
                goto bad;
            }
        }
        k++;
        continue;
    bad:
        diverge(rp, r, what, call);
        return 1;
    }
    if (k != n) {
        diverge(rp, r, "the emulator names more registers than recorded", call);
        return 1;
    }
    return 0;
}

static HRESULT CALLBACK rp_get(VOID *c, const WHV_REGISTER_NAME *names, UINT32 n,
                               WHV_REGISTER_VALUE *vals)
{
    struct replay *rp = c;
    char call[4096] = "get";
    append_regs(call, sizeof(call), names, n, NULL);
    const struct rec *r = next_cb(rp, "get", call);
    if (!r || regs_differ(rp, r, names, n, NULL, call))
        return E_FAIL;
    UINT32 k = 0;
    for (unsigned i = 0; i < r->nf; i++) {
        if (!strcmp(r->f[i].key, "hr"))
            continue;
        uint64_t hi, lo;
        parse_num(r->f[i].val, 128, &hi, &lo);
        vals[k].Reg128.Low64 = lo;
        vals[k].Reg128.High64 = hi;
        k++;
    }
    return matched(rp, r);
}

static HRESULT CALLBACK rp_set(VOID *c, const WHV_REGISTER_NAME *names, UINT32 n,
                               const WHV_REGISTER_VALUE *vals)
{
    struct replay *rp = c;
    char call[4096] = "set";
    append_regs(call, sizeof(call), names, n, vals);
    const struct rec *r = next_cb(rp, "set", call);
    if (!r || regs_differ(rp, r, names, n, vals, call))
        return E_FAIL;
    return matched(rp, r);
}

static HRESULT CALLBACK rp_translate(VOID *c, WHV_GUEST_VIRTUAL_ADDRESS gva,
                                     WHV_TRANSLATE_GVA_FLAGS flags,
                                     WHV_TRANSLATE_GVA_RESULT_CODE *result,
                                     WHV_GUEST_PHYSICAL_ADDRESS *gpa)
{
    struct replay *rp = c;
    char call[96];
    snprintf(call, sizeof(call), "translate gva=0x%llx flags=0x%x", (unsigned long long)gva,
             (unsigned)flags);
    const struct rec *r = next_cb(rp, "translate", call);
    if (!r || differs(rp, r, "gva", num(r, "gva"), gva, call) ||
        differs(rp, r, "flags", num(r, "flags"), (uint32_t)flags, call))
        return E_FAIL;
    *result = (WHV_TRANSLATE_GVA_RESULT_CODE)num(r, "result");
    *gpa = num(r, "gpa");
    return matched(rp, r);
}

static HRESULT CALLBACK rp_xstate(VOID *c, UINT32 component, BOOL write, VOID *buf, UINT32 size)
{
    struct replay *rp = c;
    char call[128];
    snprintf(call, sizeof(call), "xstate component=0x%x write=0x%x size=0x%x%s", component,
             (unsigned)write, size, write ? " data=(as written)" : "");
    const struct rec *r = next_cb(rp, "xstate", call);
    uint8_t data[4096];
    if (!r || differs(rp, r, "component", num(r, "component"), component, call) ||
        differs(rp, r, "write", num(r, "write"), (uint32_t)write, call) ||
        differs(rp, r, "size", num(r, "size"), size, call))
        return E_FAIL;
    int nd = bytes(r, "data", data, sizeof(data));
    size_t n = size > sizeof(data) ? sizeof(data) : size;
    if (write) {
        if (bytes_differ(rp, r, data, nd, buf, n, call))
            return E_FAIL;
    } else {
        memcpy(buf, data, n);
    }
    return matched(rp, r);
}

/* --- the calls --- */

static void seg_of(const struct rec *r, const char *p, WHV_X64_SEGMENT_REGISTER *s)
{
    char k[16];
    snprintf(k, sizeof(k), "%s.base", p);
    s->Base = num(r, k);
    snprintf(k, sizeof(k), "%s.limit", p);
    s->Limit = (UINT32)num(r, k);
    snprintf(k, sizeof(k), "%s.sel", p);
    s->Selector = (UINT16)num(r, k);
    snprintf(k, sizeof(k), "%s.attr", p);
    s->Attributes = (UINT16)num(r, k);
}

static void vp_of(const struct rec *r, WHV_VP_EXIT_CONTEXT *vp)
{
    memset(vp, 0, sizeof(*vp));
    vp->ExecutionState.AsUINT16 = (UINT16)num(r, "exec");
    vp->InstructionLength = (UINT8)(num(r, "ilen") & 15);
    vp->Cr8 = (UINT8)(num(r, "cr8") & 15);
    vp->Reserved = (UINT8)num(r, "vp.rsvd");
    vp->Reserved2 = (UINT32)num(r, "vp.rsvd2");
    seg_of(r, "cs", &vp->Cs);
    vp->Rip = num(r, "rip");
    vp->Rflags = num(r, "rflags");
}

/* One recorded Try call; 0 when it matched. */
static int run_call(struct replay *rp, WHV_EMULATOR_HANDLE h, const struct rec *x)
{
    WHV_VP_EXIT_CONTEXT vp;
    WHV_EMULATOR_STATUS st;
    HRESULT hr;
    vp_of(x, &vp);
    rp->calls++;
    if (!rp->quiet)
        printf("%5u  %s\n", x->line, x->text);
    if (!strcmp(x->k->kind, "mmio-exit")) {
        WHV_MEMORY_ACCESS_CONTEXT mc;
        memset(&mc, 0, sizeof(mc));
        mc.InstructionByteCount = (UINT8)num(x, "count");
        bytes(x, "rsvd", mc.Reserved, sizeof(mc.Reserved));
        bytes(x, "bytes", mc.InstructionBytes, sizeof(mc.InstructionBytes));
        mc.AccessInfo.AsUINT32 = (UINT32)num(x, "access");
        mc.Gpa = num(x, "gpa");
        mc.Gva = num(x, "gva");
        hr = WHvEmulatorTryMmioEmulation(h, rp, &vp, &mc, &st);
    } else {
        WHV_X64_IO_PORT_ACCESS_CONTEXT ioc;
        memset(&ioc, 0, sizeof(ioc));
        ioc.InstructionByteCount = (UINT8)num(x, "count");
        bytes(x, "rsvd", ioc.Reserved, sizeof(ioc.Reserved));
        bytes(x, "bytes", ioc.InstructionBytes, sizeof(ioc.InstructionBytes));
        ioc.AccessInfo.AsUINT32 = (UINT32)num(x, "access");
        ioc.PortNumber = (UINT16)num(x, "port");
        bytes(x, "rsvd2", ioc.Reserved2, sizeof(ioc.Reserved2));
        ioc.Rax = num(x, "rax");
        ioc.Rcx = num(x, "rcx");
        ioc.Rsi = num(x, "rsi");
        ioc.Rdi = num(x, "rdi");
        seg_of(x, "ds", &ioc.Ds);
        seg_of(x, "es", &ioc.Es);
        hr = WHvEmulatorTryIoEmulation(h, rp, &vp, &ioc, &st);
    }
    if (rp->diverged)
        return 1;
    char actual[96];
    snprintf(actual, sizeof(actual), "result hr=0x%x status=0x%x", (unsigned)(uint32_t)hr,
             (unsigned)st.AsUINT32);
    if (rp->pos >= rp->n) {
        diverge(rp, NULL, "the recording ends before the call's result", actual);
        return 1;
    }
    const struct rec *r = &rp->r[rp->pos];
    if (strcmp(r->k->kind, "result")) {
        char what[128];
        snprintf(what, sizeof(what),
                 "the recording has a %s record, the emulator made no further call and returned",
                 r->k->kind);
        diverge(rp, r, what, actual);
        return 1;
    }
    rp->pos++;
    if (differs(rp, r, "hr", num(r, "hr"), (uint32_t)hr, actual) ||
        differs(rp, r, "status", num(r, "status"), st.AsUINT32, actual))
        return 1;
    if (!rp->quiet)
        printf("%5u  %s\n", r->line, r->text);
    return 0;
}

static int replay_usage(void)
{
    fprintf(stderr, "usage: whvemu replay [-q] FILE\n"
                    "  runs a recording (docs/trace-format.md) through the emulator again;\n"
                    "  exit 0 when the emulator behaves exactly as recorded, 1 at the first\n"
                    "  divergence (its line is printed), 2 for an unreadable recording.\n");
    return 2;
}

int replay_main(int argc, char **argv)
{
    struct replay rp;
    const char *path = NULL;
    memset(&rp, 0, sizeof(rp));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
            rp.quiet = 1;
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else
            return replay_usage();
    }
    if (!path)
        return replay_usage();

    char *text = NULL;
    int rc = load(&rp, path, &text);
    if (rc == 0) {
        static const WHV_EMULATOR_CALLBACKS cb = {
            sizeof(WHV_EMULATOR_CALLBACKS), 0, rp_io, rp_memory, rp_get, rp_set, rp_translate};
        WHV_EMULATOR_HANDLE h = NULL;
        if (WHvEmulatorCreateEmulator(&cb, &h) != S_OK) {
            fprintf(stderr, "whvemu replay: cannot create an emulator\n");
            rc = 2;
        }
        while (rc == 0 && rp.pos < rp.n) {
            const struct rec *x = &rp.r[rp.pos++];
            const char *k = x->k->kind;
            if (!strcmp(k, "options")) {
                if (!rp.quiet)
                    printf("%5u  %s\n", x->line, x->text);
                whvemu_set_rep_limit(h, (UINT32)num(x, "rep_limit"));
                whvemu_set_xstate_callback(h, num(x, "xstate") ? rp_xstate : NULL);
            } else if (!strcmp(k, "mmio-exit") || !strcmp(k, "io-exit")) {
                rc = run_call(&rp, h, x);
            } else {
                fprintf(stderr, "whvemu replay: %s:%u: a %s record outside a call (no exit "
                                "record before it)\n",
                        path, x->line, k);
                rc = 2;
            }
        }
        if (rc == 0)
            printf("replay: %u calls, %u callbacks: the emulator behaved exactly as recorded\n",
                   rp.calls, rp.callbacks);
        if (h)
            WHvEmulatorDestroyEmulator(h);
    }
    for (size_t i = 0; i < rp.n; i++) {
        free(rp.r[i].text);
        free(rp.r[i].f);
    }
    free(rp.r);
    free(text);
    return rc;
}
