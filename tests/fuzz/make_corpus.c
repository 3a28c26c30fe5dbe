/*
 * make_corpus.c - the seed corpus of the fuzz target (tests/fuzz/corpus/)
 * and its check.
 *
 *   make_corpus write DIR   writes the seeds into DIR
 *   make_corpus check DIR   fails unless the seeds in DIR cover every row of
 *                           the opcode table, every CPU mode, a failure of
 *                           every callback kind, and every translate answer
 *   make_corpus dict        prints the libFuzzer dictionary
 *
 * Seeds (layout in fuzz_input.h):
 *   row-*    one per opcode-table row: an encoding of that row with a memory
 *            operand (or its port exit), in the first mode where it is valid;
 *   mode-*   MOV load/store, ALU read-modify-write, REP MOVSB, a page-crossing
 *            store and a fetch with no bytes in the exit, in every mode;
 *   fail-*   each callback kind failing at positions 1..6 with several
 *            HRESULTs, on instructions that call it that often;
 *   xlate-*  every translate result code (defined and out of range), with an
 *            aligned and an unaligned GPA, as a call answer and as a page's
 *            answer;
 *   replimit-*  REP MOVSB over more than a page with each REP limit.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "fuzz_input.h"
#include "fuzz_mutate.h"

enum { SEEDKIND_ROW, SEEDKIND_MODE, SEEDKIND_FAIL, SEEDKIND_XLATE };

static const char *const mode_names[] = {"long64", "compat32", "compat16", "prot32",
                                         "prot16", "real",     "v86",      "raw"};

/* A record for `mode` whose memory operands address the data page:
 * [rbx] (or [bx]) and rSI point into it, rDI 0x40 bytes further, rCX 3,
 * rAX 5, rDX the port; the exit is a write exit at that page. */
static void base_record(uint8_t *r, unsigned mode)
{
    memset(r, 0, FZ_SIZE);
    r[FZ_CTRL] = (uint8_t)(mode << 1);
    r[FZ_CTRL2] = 0x02; /* EFER.NXE */
    r[FZ_RFLAGS] = 0x02;
    r[FZ_MEMFILL] = 0x11;
    bool wide = mode == FZ_MODE_LONG64;
    unsigned data = wide ? FZ_E_DATA0 : fz_mode32(mode) ? FZ_E_1F000 : FZ_E_PAGE;
    for (unsigned g = 0; g < 16; g++)
        fz_put_edge(r, FZ_V_GPR + g, FZ_E_ZERO, (int)g);
    fz_put_edge(r, FZ_V_GPR + 0, FZ_E_ZERO, 5);
    fz_put_edge(r, FZ_V_GPR + 1, FZ_E_ZERO, 3);
    fz_put_raw(r, FZ_V_GPR + 2, 0x3F8);
    fz_put_edge(r, FZ_V_GPR + 3, data, 0);
    fz_put_edge(r, FZ_V_GPR + 6, data, 0);
    fz_put_edge(r, FZ_V_GPR + 7, data, 0x40);
    fz_put_edge(r, FZ_V_RIP, (wide || fz_mode32(mode)) ? FZ_E_RIP0 : 6 /* 0x100 */, 0);
    fz_put_edge(r, FZ_V_GVA, data, 0);
    fz_put_edge(r, FZ_V_GPA, FZ_E_MMIO_GPA, 0);
    r[FZ_ACCESS] = 0x08 | WHvMemoryAccessWrite; /* GvaValid */
    uint16_t dattr = mode == FZ_MODE_V86 ? 0x00F3 : fz_mode32(mode) || wide ? 0xC093 : 0x0093;
    if (wide || mode == FZ_MODE_COMPAT16)
        dattr = 0xC093;
    for (unsigned s = 0; s < 6; s++) {
        r[FZ_SEGATTR + 2 * s] = (uint8_t)dattr;
        r[FZ_SEGATTR + 2 * s + 1] = (uint8_t)(dattr >> 8);
        fz_put_edge(r, FZ_V_SEG_BASE + s, FZ_E_ZERO, 0);
        bool big = wide || fz_mode32(mode) || mode == FZ_MODE_COMPAT16;
        fz_put_edge(r, FZ_V_SEG_LIMIT + s, big ? FZ_E_U32MAX : FZ_E_FFFF, 0);
    }
    if (mode == FZ_MODE_RAW) { /* 32-bit protected mode, spelled out */
        r[FZ_EXEC] = 0x10;
        r[FZ_SEGATTR + 2] = 0x9B;
        r[FZ_SEGATTR + 3] = 0xC0;
        fz_put_edge(r, FZ_V_RIP, FZ_E_RIP0, 0);
        fz_put_edge(r, FZ_V_GPR + 3, FZ_E_1F000, 0);
        fz_put_edge(r, FZ_V_GVA, FZ_E_1F000, 0);
        for (unsigned s = 0; s < 6; s++)
            fz_put_edge(r, FZ_V_SEG_LIMIT + s, FZ_E_U32MAX, 0);
    }
    for (unsigned k = 0; k < 2; k++)
        r[FZ_INJECT + 3 * k] = 7; /* no injection */
}

static void set_insn(uint8_t *r, const uint8_t *b, unsigned n, bool in_exit)
{
    memset(r + FZ_BYTES, 0, 16);
    memset(r + FZ_CODE, 0, 16);
    memcpy(r + FZ_CODE, b, n > 16 ? 16 : n);
    if (in_exit) {
        memcpy(r + FZ_BYTES, b, n > 16 ? 16 : n);
        r[FZ_NBYTES] = (uint8_t)(n > 16 ? 16 : n);
    } else {
        r[FZ_NBYTES] = 0;
    }
}

static int write_seed(const char *dir, const char *name, const uint8_t *r)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(r, 1, FZ_SIZE, f) != FZ_SIZE) {
        fprintf(stderr, "cannot write %s\n", path);
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

static const unsigned row_modes[] = {FZ_MODE_LONG64, FZ_MODE_PROT32, FZ_MODE_PROT16};

static int write_rows(const char *dir)
{
    unsigned nrows;
    const struct op_row *rows = dec_rows(&nrows);
    int bad = 0;
    for (unsigned i = 0; i < nrows; i++) {
        uint8_t b[16];
        unsigned n = 0, mode = 0;
        for (unsigned m = 0; m < 3 && !n; m++) {
            mode = row_modes[m];
            n = fz_encode_row(&rows[i], mode, 0, b);
        }
        if (!n) {
            fprintf(stderr, "no encoding found for row %u (%s)\n", i, rows[i].mnem);
            bad = 1;
            continue;
        }
        uint8_t r[FZ_SIZE];
        base_record(r, mode);
        set_insn(r, b, n, true);
        struct insn in;
        struct dec_mode dm;
        fz_dec_mode(mode, &dm);
        dec_decode(&dm, b, n, &in);
        if (rows[i].traits & T_IO)
            fz_io_exit(r, &in);
        else if (rows[i].traits & T_NOWRITE)
            r[FZ_ACCESS] = 0x08 | WHvMemoryAccessRead;
        char name[96];
        snprintf(name, sizeof(name), "row-%03u-%s", i, rows[i].mnem);
        if (write_seed(dir, name, r))
            return -1;
        /* The 64-bit operand size too, where REX.W gives it: the signed
         * extremes of 64-bit values are one mutation away. */
        if (mode != FZ_MODE_LONG64 || (b[0] & 0xF0) == 0x40)
            continue;
        uint8_t w[16];
        unsigned p = 0, k = 0;
        while (k < n && (b[k] == 0x66 || b[k] == 0xF2 || b[k] == 0xF3))
            w[p++] = b[k++];
        w[p++] = 0x48;
        memcpy(w + p, b + k, n - k);
        struct insn win;
        if (n + 1 > 15 || dec_decode(&dm, w, n + 1, &win) != DEC_OK || win.row != &rows[i] ||
            (win.op[0].size == in.op[0].size && win.op[1].size == in.op[1].size))
            continue;
        set_insn(r, w, n + 1, true);
        snprintf(name, sizeof(name), "row-%03u-%s-w", i, rows[i].mnem);
        if (write_seed(dir, name, r))
            return -1;
    }
    return bad ? -1 : 0;
}

static int write_modes(const char *dir)
{
    static const struct {
        const char *name;
        uint8_t b[8];
        unsigned n;
        bool in_exit;
    } forms[] = {
        {"mov-load", {0x8B, 0x07}, 2, true}, /* ModRM rm set per mode below */
        {"mov-store", {0x89, 0x07}, 2, true},
        {"add-rmw", {0x01, 0x07}, 2, true},
        {"rep-movsb", {0xF3, 0xA4}, 2, true},
        {"fetch", {0x89, 0x07}, 2, false},         /* no bytes in the exit */
        {"cross-page", {0xC7, 0x07, 1, 2, 3, 4}, 6, true},
    };
    for (unsigned mode = 0; mode < 8; mode++) {
        struct dec_mode dm;
        fz_dec_mode(mode == FZ_MODE_RAW ? FZ_MODE_PROT32 : mode, &dm);
        for (unsigned f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
            uint8_t r[FZ_SIZE], b[8];
            base_record(r, mode);
            memcpy(b, forms[f].b, sizeof(b));
            /* [rbx]/[ebx]: rm 3; 16-bit addressing [bx]: rm 7. */
            if (forms[f].b[0] != 0xF3)
                b[1] = (uint8_t)((b[1] & ~7u) | (dm.addrsize == 2 ? 7 : 3));
            set_insn(r, b, forms[f].n, forms[f].in_exit);
            if (f == 0)
                r[FZ_ACCESS] = 0x08 | WHvMemoryAccessRead;
            if (f == 5) { /* a store that starts on the last byte of a page */
                unsigned data = mode == FZ_MODE_LONG64 ? FZ_E_DATA0
                                : (fz_mode32(mode) || mode == FZ_MODE_RAW) ? FZ_E_1F000
                                                                        : FZ_E_PAGE;
                fz_put_edge(r, FZ_V_GPR + 3, data, -1);
                fz_put_edge(r, FZ_V_GVA, data, -1);
                fz_put_edge(r, FZ_V_GPA, FZ_E_MMIO_GPA, -1);
            }
            char name[96];
            snprintf(name, sizeof(name), "mode-%s-%s", mode_names[mode], forms[f].name);
            if (write_seed(dir, name, r))
                return -1;
        }
    }
    return 0;
}

/* Instructions that call a kind of callback several times. */
static int write_failures(const char *dir)
{
    static const struct {
        const char *name;
        unsigned kind; /* fvmm_cb_kind order: io memory get set translate */
        uint8_t b[4];
        unsigned n;
        bool port;
        uint8_t access;
    } cases[] = {
        {"io-rep-insb", 0, {0xF3, 0x6C}, 2, true, 0x10 | 0x20 | 2},
        {"io-rep-outsb", 0, {0xF3, 0x6E}, 2, true, 0x10 | 0x20 | 2 | 1},
        {"memory-rep-movsb", 1, {0xF3, 0xA4}, 2, false, 0},
        {"memory-fetch", 1, {0x89, 0x03}, 2, false, 0},
        {"get-mov", 2, {0x89, 0x03}, 2, false, 0},
        {"set-mov", 3, {0x89, 0x03}, 2, false, 0},
        {"translate-rep-movsb", 4, {0xF3, 0xA4}, 2, false, 0},
        {"translate-fetch", 4, {0x89, 0x03}, 2, false, 0},
    };
    static const unsigned hr_sel[] = {0, 1, 3, 5}; /* E_FAIL S_FALSE 0x80370309 0x7FFFFFFF */
    for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        unsigned maxpos = (cases[c].kind == 2 || cases[c].kind == 3) ? 1 : 6;
        for (unsigned pos = 1; pos <= maxpos; pos++) {
            for (unsigned h = 0; h < 4; h++) {
                uint8_t r[FZ_SIZE];
                base_record(r, FZ_MODE_LONG64);
                bool fetch = strstr(cases[c].name, "fetch") != NULL;
                set_insn(r, cases[c].b, cases[c].n, !fetch);
                if (cases[c].port) {
                    r[FZ_CTRL] |= 1;
                    r[FZ_ACCESS] = cases[c].access;
                    r[FZ_PORT] = 0xF8;
                    r[FZ_PORT + 1] = 0x03;
                }
                if (cases[c].kind == 4)
                    r[FZ_ACCESS] = WHvMemoryAccessWrite; /* GvaValid 0: translate */
                fz_put_edge(r, FZ_V_GPR + 1, FZ_E_ZERO, 8); /* rCX 8 */
                fz_put_edge(r, FZ_V_GPR + 6, FZ_E_CROSS, 0); /* rSI crosses a page */
                r[FZ_INJECT] = (uint8_t)cases[c].kind;
                r[FZ_INJECT + 1] = (uint8_t)(pos - 1);
                r[FZ_INJECT + 2] = (uint8_t)hr_sel[h];
                char name[96];
                snprintf(name, sizeof(name), "fail-%s-%u-%u", cases[c].name, pos, h);
                if (write_seed(dir, name, r))
                    return -1;
            }
        }
    }
    return 0;
}

static int write_translate_answers(const char *dir)
{
    static const uint8_t mov[] = {0x48, 0x8B, 0x03}; /* mov rax, [rbx] */
    for (unsigned res = 0; res < FZ_NRESULTS; res++) {
        for (unsigned off = 0; off < 2; off++) {
            uint8_t r[FZ_SIZE];
            /* As one call's answer. */
            base_record(r, FZ_MODE_LONG64);
            set_insn(r, mov, sizeof(mov), true);
            r[FZ_ACCESS] = WHvMemoryAccessRead; /* GvaValid 0: translate */
            r[FZ_INJECT] = FZ_INJECT_TRANSLATE_ANSWER;
            r[FZ_INJECT + 2] = (uint8_t)(res | (off << 4));
            char name[96];
            snprintf(name, sizeof(name), "xlate-call-%02u-%u", res, off);
            if (write_seed(dir, name, r))
                return -1;
            /* As the data page's own answer. */
            base_record(r, FZ_MODE_LONG64);
            set_insn(r, mov, sizeof(mov), true);
            r[FZ_ACCESS] = WHvMemoryAccessRead;
            r[FZ_ODD] = (uint8_t)res;
            r[FZ_ODD + 1] = FZ_E_ZERO | 0xF;
            fz_put_edge(r, FZ_V_ODD_GVA, FZ_E_DATA0, 0);
            fz_put_edge(r, FZ_V_ODD_GPA, FZ_E_MMIO_GPA, off ? 0x10 : 0);
            snprintf(name, sizeof(name), "xlate-page-%02u-%u", res, off);
            if (write_seed(dir, name, r))
                return -1;
        }
    }
    return 0;
}

/* REP MOVSB over more than a page with each REP limit. */
static int write_rep_limits(const char *dir)
{
    static const uint8_t movsb[] = {0xF3, 0xA4};
    for (unsigned l = 0; l < FZ_NREPLIMITS; l++) {
        uint8_t r[FZ_SIZE];
        base_record(r, FZ_MODE_LONG64);
        set_insn(r, movsb, sizeof(movsb), true);
        r[FZ_ACCESS] = WHvMemoryAccessWrite; /* GvaValid 0: translate */
        fz_put_edge(r, FZ_V_GPR + 1, FZ_E_PAGE, 5);
        r[FZ_REPLIMIT] = (uint8_t)l;
        char name[96];
        snprintf(name, sizeof(name), "replimit-%u", fz_rep_limits[l]);
        if (write_seed(dir, name, r))
            return -1;
    }
    return 0;
}

static int check(const char *dir)
{
    unsigned nrows;
    const struct op_row *rows = dec_rows(&nrows);
    unsigned char *row_hit = calloc(nrows, 1);
    unsigned mode_hit = 0, fail_hit = 0;
    unsigned char result_hit[FZ_NRESULTS] = {0};
    unsigned nfiles = 0;
    DIR *d = opendir(dir);
    if (!d || !row_hit) {
        fprintf(stderr, "cannot read %s\n", dir);
        return 1;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        uint8_t r[FZ_SIZE];
        memset(r, 0, sizeof(r));
        size_t got = fread(r, 1, sizeof(r), f);
        fclose(f);
        (void)got;
        nfiles++;
        mode_hit |= 1u << ((r[FZ_CTRL] >> 1) & 7);
        struct dec_mode dm;
        fz_dec_mode(fz_record_mode(r), &dm);
        const uint8_t *b = r[FZ_NBYTES] % 18 ? r + FZ_BYTES : r + FZ_CODE;
        unsigned n = r[FZ_NBYTES] % 18 ? r[FZ_NBYTES] % 18 : 16;
        if (n > 16)
            n = 16;
        struct insn in;
        if (dec_decode(&dm, b, n > 15 ? 15 : n, &in) == DEC_OK)
            row_hit[in.row - rows] = 1;
        for (unsigned k = 0; k < 2; k++) {
            unsigned kind = r[FZ_INJECT + 3 * k] % 8;
            if (kind < 5)
                fail_hit |= 1u << kind;
            if (kind == FZ_INJECT_TRANSLATE_ANSWER)
                result_hit[r[FZ_INJECT + 3 * k + 2] % FZ_NRESULTS] |= 1;
        }
        for (unsigned k = 0; k < 2; k++)
            if (r[FZ_ODD + 2 * k] || r[FZ_ODD + 2 * k + 1])
                result_hit[r[FZ_ODD + 2 * k] % FZ_NRESULTS] |= 2;
    }
    closedir(d);
    int bad = 0;
    for (unsigned i = 0; i < nrows; i++)
        if (!row_hit[i]) {
            printf("no seed for row %u (%s, handler %s)\n", i, rows[i].mnem, rows[i].fn_name);
            bad = 1;
        }
    for (unsigned m = 0; m < 8; m++)
        if (!(mode_hit & (1u << m))) {
            printf("no seed in mode %s\n", mode_names[m]);
            bad = 1;
        }
    for (unsigned k = 0; k < 5; k++)
        if (!(fail_hit & (1u << k))) {
            printf("no seed fails callback kind %u\n", k);
            bad = 1;
        }
    for (unsigned i = 0; i < FZ_NRESULTS; i++)
        if (result_hit[i] != 3) {
            printf("translate result 0x%x is not both a call's and a page's answer\n",
                   fz_results[i]);
            bad = 1;
        }
    printf("%u seeds; %u rows, 8 modes, 5 callback kinds, %u translate answers %s\n", nfiles,
           nrows, (unsigned)FZ_NRESULTS, bad ? "NOT all covered (run make_corpus write)" :
                                               "covered");
    free(row_hit);
    return bad;
}

/* Prefixes, escapes and every opcode of the table, as libFuzzer dictionary
 * entries. */
static void dict(void)
{
    static const uint8_t prefixes[] = {0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x26, 0x2E,
                                       0x36, 0x3E, 0x64, 0x65, 0x40, 0x41, 0x44,
                                       0x48, 0x49, 0x4C, 0x4D, 0x4F, 0xC4, 0xC5, 0x62};
    printf("# libFuzzer dictionary for fuzz_emulate (make_corpus dict)\n");
    for (unsigned i = 0; i < sizeof(prefixes); i++)
        printf("pfx_%02x=\"\\x%02X\"\n", prefixes[i], prefixes[i]);
    printf("esc_0f=\"\\x0F\"\nesc_0f38=\"\\x0F\\x38\"\nesc_0f3a=\"\\x0F\\x3A\"\n");
    unsigned nrows;
    const struct op_row *rows = dec_rows(&nrows);
    uint32_t last = ~0u;
    for (unsigned i = 0; i < nrows; i++) {
        unsigned map = OPC_MAP(rows[i].key), op = OPC_OP(rows[i].key);
        uint32_t k = (uint32_t)(map << 8 | op);
        if (k == last)
            continue;
        last = k;
        const char *esc = map == MAP_0F ? "\\x0F" : map == MAP_0F38 ? "\\x0F\\x38"
                        : map == MAP_0F3A ? "\\x0F\\x3A" : "";
        printf("op_%u_%02x=\"%s\\x%02X\"\n", map, op, esc, op);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "write")) {
        if (write_rows(argv[2]) || write_modes(argv[2]) || write_failures(argv[2]) ||
            write_translate_answers(argv[2]) || write_rep_limits(argv[2]))
            return 1;
        return check(argv[2]);
    }
    if (argc == 3 && !strcmp(argv[1], "check"))
        return check(argv[2]);
    if (argc == 2 && !strcmp(argv[1], "dict")) {
        dict();
        return 0;
    }
    fprintf(stderr, "usage: make_corpus write DIR | check DIR | dict\n");
    return 2;
}
