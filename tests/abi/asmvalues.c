/*
 * asmvalues.c - reads the assembly that probe.c compiles to (GNU as syntax,
 * as written by GCC for ELF or PE targets and by Clang) and prints one line
 * per probe entry:
 *
 *     <kind> <Type>[.<Field>] = 0x<hex> (<n> bytes)
 *
 * The value is the object's bytes read as a little-endian integer, printed
 * with all 2n digits. Only labels starting with "whvabi_" are read; their
 * data directives (.byte .value .short .word .long .int .quad, their .Nbyte
 * forms, .zero/.space/.skip and .ascii/.asciz/.string) are decoded until the
 * next label or other directive.
 *
 * Exit status 0 only if at least one entry was found, every entry has data,
 * and the entry count equals whvabi_meta__entries (which the probe computes
 * with __COUNTER__ and which is not itself printed).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OBJ 512
#define MAX_LINE 4096
#define PREFIX "whvabi_"

struct object {
    char name[256];
    unsigned char bytes[MAX_OBJ];
    size_t len;
    int overflow;
};

static const char *g_file;
static unsigned long g_lineno;
static int g_errors;
static unsigned long long g_entries;
static unsigned long long g_expected;
static int g_have_expected;

static void fail(const char *msg, const char *detail)
{
    fprintf(stderr, "%s:%lu: %s%s%s\n", g_file, g_lineno, msg, detail ? ": " : "",
            detail ? detail : "");
    g_errors++;
}

static void put_bytes(struct object *o, unsigned long long v, size_t width)
{
    for (size_t i = 0; i < width; i++) {
        if (o->len >= MAX_OBJ) {
            o->overflow = 1;
            return;
        }
        o->bytes[o->len++] = (unsigned char)(v >> (8 * i));
    }
}

static int parse_int(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (*s == '-') {
        long long v = strtoll(s, &end, 0);
        *out = (unsigned long long)v;
    } else {
        *out = strtoull(s, &end, 0);
    }
    if (end == s || errno)
        return -1;
    while (isspace((unsigned char)*end))
        end++;
    return *end ? -1 : 0;
}

/* Removes a '#' comment that is not inside a string. */
static void strip_comment(char *s)
{
    int in_str = 0;
    for (char *p = s; *p; p++) {
        if (in_str && *p == '\\' && p[1]) {
            p++;
        } else if (*p == '"') {
            in_str = !in_str;
        } else if (!in_str && *p == '#') {
            *p = '\0';
            return;
        }
    }
}

static int parse_string(struct object *o, const char *p, int nul)
{
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != '"')
        return -1;
    while (*p && *p != '"') {
        unsigned long long c = (unsigned char)*p++;
        if (c == '\\') {
            if (*p >= '0' && *p <= '7') {
                c = 0;
                for (int i = 0; i < 3 && *p >= '0' && *p <= '7'; i++)
                    c = c * 8 + (unsigned long long)(*p++ - '0');
            } else {
                switch (*p++) {
                case 'n': c = '\n'; break;
                case 't': c = '\t'; break;
                case 'r': c = '\r'; break;
                case 'f': c = '\f'; break;
                case 'b': c = '\b'; break;
                case '\\': c = '\\'; break;
                case '"': c = '"'; break;
                default: return -1;
                }
            }
        }
        put_bytes(o, c, 1);
    }
    if (*p != '"')
        return -1;
    if (nul)
        put_bytes(o, 0, 1);
    return 0;
}

/* Returns 1 if the line was a data directive (and appends its bytes),
 * 0 if it is something else. */
static int data_directive(struct object *o, char *line)
{
    static const struct {
        const char *name;
        size_t width; /* 0: fill, 100/101: string without/with NUL */
    } dirs[] = {
        {".byte", 1}, {".value", 2}, {".short", 2}, {".hword", 2}, {".word", 2},
        {".2byte", 2}, {".long", 4}, {".int", 4}, {".4byte", 4}, {".quad", 8},
        {".8byte", 8}, {".zero", 0}, {".space", 0}, {".skip", 0},
        {".ascii", 100}, {".asciz", 101}, {".string", 101},
    };
    char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]))
        n++;
    size_t width = 0;
    int found = 0;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (strlen(dirs[i].name) == n && memcmp(dirs[i].name, p, n) == 0) {
            width = dirs[i].width;
            found = 1;
            break;
        }
    }
    if (!found)
        return 0;
    char *args = p + n;
    if (width >= 100) {
        if (parse_string(o, args, width == 101) != 0)
            fail("cannot parse string", line);
        return 1;
    }
    /* Split the comma-separated operands. */
    unsigned long long vals[64];
    size_t count = 0;
    for (char *tok = strtok(args, ","); tok; tok = strtok(NULL, ",")) {
        while (isspace((unsigned char)*tok))
            tok++;
        if (count == 64 || parse_int(tok, &vals[count]) != 0) {
            fail("cannot parse operand", tok);
            return 1;
        }
        count++;
    }
    if (count == 0) {
        fail("directive without operands", p);
        return 1;
    }
    if (width == 0) {
        /* .zero N / .space N[, fill] */
        if (count > 2 || vals[0] > MAX_OBJ) {
            fail("unsupported fill directive", p);
            return 1;
        }
        unsigned long long fill = count == 2 ? vals[1] : 0;
        for (unsigned long long i = 0; i < vals[0]; i++)
            put_bytes(o, fill, 1);
        return 1;
    }
    for (size_t i = 0; i < count; i++)
        put_bytes(o, vals[i], width);
    return 1;
}

static void finish(struct object *o)
{
    if (!o->name[0])
        return;
    const char *key = o->name + strlen(PREFIX);
    if (o->overflow) {
        fail("object too large", o->name);
    } else if (o->len == 0) {
        fail("no data for", o->name);
    } else if (strcmp(key, "meta__entries") == 0) {
        unsigned long long v = 0;
        for (size_t i = o->len; i-- > 0;)
            v = (v << 8) | o->bytes[i];
        g_expected = v;
        g_have_expected = 1;
    } else {
        /* "kind__Type__Field" -> "kind Type.Field" */
        char out[300];
        size_t j = 0;
        int first = 1;
        for (const char *p = key; *p && j < sizeof out - 1; p++) {
            if (p[0] == '_' && p[1] == '_') {
                out[j++] = first ? ' ' : '.';
                first = 0;
                p++;
            } else {
                out[j++] = *p;
            }
        }
        out[j] = '\0';
        printf("%s = 0x", out);
        for (size_t i = o->len; i-- > 0;)
            printf("%02x", o->bytes[i]);
        printf(" (%zu bytes)\n", o->len);
        g_entries++;
    }
    o->name[0] = '\0';
    o->len = 0;
    o->overflow = 0;
}

/* If the line is a label definition "name:", copies the name and returns 1. */
static int label(const char *line, char *name, size_t size)
{
    size_t n = 0;
    while (line[n] && (isalnum((unsigned char)line[n]) || line[n] == '_' || line[n] == '.' ||
                       line[n] == '$'))
        n++;
    if (n == 0 || line[n] != ':' || n >= size)
        return 0;
    memcpy(name, line, n);
    name[n] = '\0';
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s probe.s\n", argv[0]);
        return 2;
    }
    g_file = argv[1];
    FILE *f = fopen(g_file, "r");
    if (!f) {
        perror(g_file);
        return 2;
    }
    static struct object obj;
    char line[MAX_LINE];
    char name[256];
    while (fgets(line, sizeof line, f)) {
        g_lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            fail("line too long", NULL);
            break;
        }
        strip_comment(line);
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        if (label(line, name, sizeof name)) {
            finish(&obj);
            /* Some targets prefix C names with an underscore. */
            const char *n = name;
            if (strncmp(n, PREFIX, strlen(PREFIX)) != 0 && n[0] == '_')
                n++;
            if (strncmp(n, PREFIX, strlen(PREFIX)) == 0)
                snprintf(obj.name, sizeof obj.name, "%s", n);
            continue;
        }
        if (obj.name[0] && !data_directive(&obj, line))
            finish(&obj);
    }
    finish(&obj);
    if (ferror(f))
        fail("read error", NULL);
    fclose(f);

    if (!g_have_expected) {
        fprintf(stderr, "%s: whvabi_meta__entries not found\n", g_file);
        g_errors++;
    } else if (g_expected != g_entries) {
        fprintf(stderr, "%s: parsed %llu entries but the probe defines %llu\n", g_file, g_entries,
                g_expected);
        g_errors++;
    }
    if (g_entries == 0) {
        fprintf(stderr, "%s: no entries found\n", g_file);
        g_errors++;
    }
    return g_errors ? 1 : 0;
}
