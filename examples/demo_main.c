/*
 * demo_main.c - whvemu-demo: runs sample_driver.c against the emulated
 * message-port device and uart_driver.c against the emulated port-I/O
 * UART, prints what the devices saw, and checks the result.
 *
 * Each round is the driver's packet-RAM test (run once on ordinary memory,
 * natively, and once on the device; the two result logs must be equal),
 * one message transaction, checked against the device's documented
 * behaviour, and one serial-console run on COM1 (board bring-up,
 * UART set-up, a greeting, reading what the other end typed, a REP OUTSB
 * burst), checked against the UART's state. Every thread has its own
 * UART; the console of thread 0's first round is echoed to stdout live.
 *
 *   whvemu-demo [--threads N] [--rounds N] [--bytes alternate|none|all]
 *               [--verbose] [--record FILE]
 *
 * --record FILE records every emulator call of thread 0 (whvemu_set_trace);
 * `whvemu replay FILE` runs it again and checks it call for call.
 *
 * Exit status: 0 when every round of every thread produced exactly the
 * expected device traffic, 1 on a mismatch, 2 on a usage or setup error.
 * An emulation failure aborts the process after printing what happened.
 */
#define _GNU_SOURCE

#include <cpuid.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo_ports.h"
#include "demo_regs.h"
#include "device.h"
#include "ports.h"
#include "sample_driver.h"
#include "sandbox.h"
#include "uart_driver.h"
#include "whvemu.h"

#define MAX_THREADS 16u
#define MAX_ROUNDS 100000u

#define EXPECTED_CONTROL                                                   \
    ((((DEMO_CTL_RESET_VALUE | DEMO_CTL_ENABLE) & ~DEMO_CTL_IRQ_RX) ^       \
      DEMO_CTL_PARITY) |                                                   \
     DEMO_CTL_FIFO)

struct worker {
    unsigned index;
    unsigned rounds;
    struct device dev;
    struct sandbox sb;

    /* The last round. */
    unsigned char msg[DEMO_MSG_LEN + 1];
    unsigned char reply[2 * DEMO_MSG_LEN];
    int copied;
    uint64_t stamp;
    struct driver_result res;

    int have_movbe;
    struct memtest_log mt_native, mt_device;
    uint64_t memtest_emulations, transaction_emulations;
    uint64_t log_from; /* first device log entry of the last transaction */

    /* The serial console of the last round. */
    struct port_bus ports;
    struct uart_driver_result ures;
    int uart_rc;
    unsigned baud;
    uint64_t uart_emulations;    /* port I/O emulations, last round */
    uint64_t uart_accesses;      /* port accesses, last round */
    uint64_t uart_emulations_all;

    unsigned failed_rounds;
    char first_failure[256];
};

/* Ordinary memory for the string instructions of the packet RAM test. */
static const unsigned char memtest_ram16[16] = "0123456789abcdef";

static void usage(FILE *f)
{
    fprintf(f, "usage: whvemu-demo [--threads N] [--rounds N] "
               "[--bytes alternate|none|all] [--verbose] [--record FILE]\n"
               "  --threads N  run N sandboxes at once, one emulator each "
               "(default 1, max %u)\n"
               "  --rounds N   transactions per thread (default 1)\n"
               "  --bytes M    instruction bytes in the exit context: every "
               "other exit\n"
               "               (alternate, default), never (none) or always "
               "(all)\n"
               "  --verbose    print every device access of the last transaction\n"
               "  --record F   record thread 0's emulator calls into file F\n"
               "               (docs/trace-format.md; check it with whvemu replay F)\n",
            MAX_THREADS);
}

/* The recording's writer: write(2) is async-signal-safe, and the emulator
 * runs in the sandbox's signal handler. */
static void CALLBACK record_write(VOID *ctx, const char *text, UINT32 len)
{
    int fd = *(const int *)ctx;
    while (len) {
        ssize_t n = write(fd, text, len);
        if (n <= 0)
            return;
        text += n;
        len -= (UINT32)n;
    }
}

static int parse_count(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* The 64-byte message of one round. */
static void make_message(unsigned thread, unsigned round, unsigned char *m)
{
    char text[DEMO_MSG_LEN + 32];
    size_t n;

    snprintf(text, sizeof(text),
             "hello from the sandboxed driver (thread %02u, round %05u): ping",
             thread, round % 100000u);
    n = strlen(text);
    for (size_t i = 0; i < DEMO_MSG_LEN; i++)
        m[i] = (unsigned char)(i < n ? text[i] : '.');
    m[DEMO_MSG_LEN] = 0;
}

/* The reply the device documentation promises, computed independently of
 * the device model: letters change case, everything else is echoed. */
static void expected_reply(const unsigned char *m, unsigned char *r)
{
    for (unsigned i = 0; i < DEMO_MSG_LEN; i++) {
        unsigned char c = m[i];
        if (c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 'a' + 'A');
        else if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        r[i] = c;
    }
}

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            if (w->failed_rounds == 0 && !failed)                          \
                snprintf(w->first_failure, sizeof(w->first_failure),      \
                         __VA_ARGS__);                                     \
            failed = 1;                                                    \
        }                                                                  \
    } while (0)

/* Compares one round's outcome with what the driver and device should
 * have done. `failed` says an earlier check of this round failed (its
 * message is kept). Returns 0 when everything matches. */
static int check_round(struct worker *w, unsigned round, int failed)
{
    const struct device *d = &w->dev;
    const struct driver_result *r = &w->res;
    unsigned char want[DEMO_MSG_LEN];

    expected_reply(w->msg, want);
    CHECK(w->copied == (int)DEMO_MSG_LEN,
          "round %u: driver returned %d, expected %u reply bytes", round,
          w->copied, DEMO_MSG_LEN);
    CHECK(r->id == DEMO_ID_VALUE, "round %u: ID read as 0x%08" PRIx32, round,
          r->id);
    CHECK(d->received_len == DEMO_MSG_LEN && d->sends == 1,
          "round %u: device got %u SEND commands, %" PRIu32 " bytes", round,
          d->sends, d->received_len);
    CHECK(memcmp(d->received, w->msg, DEMO_MSG_LEN) == 0,
          "round %u: the message the device received differs", round);
    CHECK(w->copied >= 0 && memcmp(w->reply, want, DEMO_MSG_LEN) == 0,
          "round %u: the reply the driver read back differs", round);
    CHECK(r->ready_polls == DEMO_READY_POLLS &&
              d->status_polls == DEMO_READY_POLLS,
          "round %u: READY after %" PRIu32 " polls (device counted %" PRIu32
          "), expected %u",
          round, r->ready_polls, d->status_polls, DEMO_READY_POLLS);
    CHECK(r->rx_polls == DEMO_RX_POLLS,
          "round %u: RX_AVAIL after %" PRIu32 " bit tests, expected %u",
          round, r->rx_polls, DEMO_RX_POLLS);
    CHECK(r->control == EXPECTED_CONTROL && d->control == EXPECTED_CONTROL,
          "round %u: CONTROL 0x%08" PRIx32 " (device 0x%08" PRIx32
          "), expected 0x%08x",
          round, r->control, d->control, EXPECTED_CONTROL);
    CHECK(r->sem_taken == 1 && d->sem == 0,
          "round %u: semaphore taken %" PRIu32 ", left at 0x%" PRIx32, round,
          r->sem_taken, d->sem);
    CHECK(r->scratch_old == 0 && d->scratch == 0xA5A5A5A5u,
          "round %u: XCHG gave 0x%" PRIx32 ", SCRATCH is 0x%" PRIx32, round,
          r->scratch_old, d->scratch);
    CHECK(r->seq == 0x100 && d->seq == 0x101,
          "round %u: XADD gave 0x%" PRIx32 ", SEQ is 0x%" PRIx32, round,
          r->seq, d->seq);
    CHECK(r->tx_mismatch == 0,
          "round %u: %" PRIu32 " TX bytes did not read back", round,
          r->tx_mismatch);
    CHECK(d->tx_len == DEMO_MSG_LEN && r->rx_len == DEMO_MSG_LEN,
          "round %u: TX_LEN %u, RX_LEN %u", round, d->tx_len, r->rx_len);
    CHECK(r->rx_left == 0 && (d->status & DEMO_ST_RX_AVAIL) == 0,
          "round %u: RX_AVAIL still set after the acknowledge", round);
    CHECK(r->stamp == w->stamp && d->stamp == w->stamp,
          "round %u: STAMP 0x%" PRIx64 " (device 0x%" PRIx64
          "), expected 0x%" PRIx64,
          round, r->stamp, d->stamp, w->stamp);
    CHECK(r->counter + 1 == d->counter,
          "round %u: COUNTER read 0x%" PRIx64 ", device made 0x%" PRIx64
          " accesses",
          round, r->counter, d->counter);
    CHECK(d->errors == 0,
          "round %u: %" PRIu32 " device accesses did not decode (first: %s "
          "of %u bytes at offset 0x%" PRIx32 ")",
          round, d->errors, d->first_error_write ? "write" : "read",
          d->first_error_size, d->first_error_offset);
    return failed;
}

/* The line rate of a round's console run; the divisor is computed
 * independently of the driver below. */
static unsigned round_baud(unsigned round)
{
    static const unsigned rates[] = {300, 9600, 115200, 38400,
                                     1200, 57600, 2400, 19200};
    return rates[round % (sizeof(rates) / sizeof(rates[0]))];
}

/* Everything the driver should have put on the line, from its documented
 * behaviour: a greeting, the board line and the echo of what was typed. */
static int expected_console(const struct worker *w, unsigned round,
                            char *out, size_t cap)
{
    return snprintf(
        out, cap,
        "Hello from the UART! (thread %u, round %u, %u baud 8N1, divisor %u)"
        "\r\nboard \"%s\", id 0x%08x, cfg 0x%04x, no UART at COM2\r\n"
        "the host typed \"%s\" (%u bytes); this line went out as one "
        "REP OUTSB\r\n",
        w->index, round, w->baud, 115200u / w->baud, DEMO_BOARD_NAME,
        DEMO_BOARD_ID_VALUE,
        (0x0C00u | (round & 0xFFu)) | DEMO_BOARD_CFG_LATCHED,
        DEMO_UART_RX_TEXT, (unsigned)strlen(DEMO_UART_RX_TEXT));
}

/* Compares the console run with what the UART and the board saw. */
static int check_uart(struct worker *w, unsigned round, int failed)
{
    const struct port_bus *b = &w->ports;
    const struct uart16550 *u = &b->com1;
    const struct uart_driver_result *r = &w->ures;
    const unsigned divisor = 115200u / w->baud;
    const size_t rx_n = strlen(DEMO_UART_RX_TEXT);
    const size_t name_n = strlen(DEMO_BOARD_NAME);
    static const uint8_t posts[UART_DRIVER_POSTS] = {0x10, 0x20, 0x30, 0x7F};
    char want[UART_DRIVER_TEXT_CAP + 64];
    int want_n = expected_console(w, round, want, sizeof(want));

    CHECK(w->uart_rc == 0, "round %u: the UART driver gave up (%d)", round,
          w->uart_rc);
    CHECK(u->tx_count == r->sent_len && u->tx_len == r->sent_len &&
              memcmp(u->tx, r->sent, r->sent_len) == 0,
          "round %u: the UART transmitted %" PRIu32 " bytes, the driver "
          "sent %u (or the text differs)",
          round, u->tx_count, r->sent_len);
    CHECK(r->rx_len == rx_n && memcmp(r->rx, DEMO_UART_RX_TEXT, rx_n) == 0 &&
              u->rx_taken == rx_n && u->rx_count == 0,
          "round %u: received %u bytes \"%.*s\", expected \"%s\"", round,
          r->rx_len, (int)r->rx_len, (const char *)r->rx,
          DEMO_UART_RX_TEXT);
    CHECK(ports_uart_divisor(b) == divisor && r->divisor == divisor &&
              r->divisor_read == divisor && u->divisor_writes == 2,
          "round %u: divisor latch 0x%04x (driver programmed 0x%04x, read "
          "0x%04x), expected 0x%04x for %u baud",
          round, ports_uart_divisor(b), r->divisor, r->divisor_read, divisor,
          w->baud);
    CHECK(u->lcr == UART_LCR_8N1 && r->lcr == UART_LCR_8N1,
          "round %u: LCR 0x%02x (read back 0x%02x), expected 0x%02x", round,
          u->lcr, r->lcr, UART_LCR_8N1);
    CHECK(r->iir == (UART_IIR_FIFO_ON | UART_IIR_NONE) && u->ier == 0 &&
              u->mcr == (UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2) &&
              r->msr == (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS) &&
              r->scr == 0xA5 && u->scr == 0xA5,
          "round %u: IIR 0x%02x IER 0x%02x MCR 0x%02x MSR 0x%02x SCR "
          "0x%02x",
          round, r->iir, u->ier, u->mcr, r->msr, r->scr);
    CHECK(r->lsr_end == (UART_LSR_THRE | UART_LSR_TEMT) &&
              u->lsr_reads == r->lsr_polls,
          "round %u: final LSR 0x%02x; LSR read %" PRIu32 " times, the "
          "driver polled %" PRIu32,
          round, r->lsr_end, u->lsr_reads, r->lsr_polls);
    CHECK(r->board_id == DEMO_BOARD_ID_VALUE &&
              r->cfg_read == (r->cfg_written | DEMO_BOARD_CFG_LATCHED) &&
              b->cfg == r->cfg_written,
          "round %u: board ID 0x%08" PRIx32 ", CFG wrote 0x%04x read 0x%04x",
          round, r->board_id, r->cfg_written, r->cfg_read);
    CHECK(r->name_len == name_n && memcmp(r->name, DEMO_BOARD_NAME, name_n) == 0,
          "round %u: REP INSB read the board name as \"%.*s\"", round,
          (int)r->name_len, (const char *)r->name);
    CHECK(b->n_post == UART_DRIVER_POSTS &&
              memcmp(b->post_log, posts, sizeof(posts)) == 0 &&
              memcmp(r->post, posts, sizeof(posts)) == 0 &&
              r->post_read == 0x7F,
          "round %u: POST codes (%u seen, read back 0x%02x)", round,
          b->n_post, r->post_read);
    CHECK(r->com2_scratch == 0xFF && r->com2_wide == 0xFFFFFFFFu &&
              b->unknown_round == 3,
          "round %u: unclaimed ports: COM2 scratch 0x%02x, 32-bit read "
          "0x%08" PRIx32 ", %" PRIu32 " unclaimed accesses (expected 3)",
          round, r->com2_scratch, r->com2_wide, b->unknown_round);
    CHECK(w->uart_emulations == r->io_insns &&
              w->uart_accesses == r->io_accesses,
          "round %u: %" PRIu64 " port I/O emulations and %" PRIu64
          " port accesses, the driver executed %" PRIu32
          " I/O instructions making %" PRIu32 " accesses",
          round, w->uart_emulations, w->uart_accesses, r->io_insns,
          r->io_accesses);
    /* Last, as it is the least specific. */
    CHECK(want_n > 0 && (unsigned)want_n == u->tx_len &&
              memcmp(u->tx, want, u->tx_len) == 0,
          "round %u: the console text differs from the expected %d bytes",
          round, want_n);
    return failed;
}

/* The packet RAM test must give the same results on the device (every
 * access emulated) as on ordinary memory (run natively). */
static int check_memtest(struct worker *w, unsigned round)
{
    const struct memtest_log *a = &w->mt_native, *b = &w->mt_device;
    int failed = 0;

    CHECK(a->n == b->n && a->n < MEMTEST_MAX,
          "round %u: packet RAM test recorded %u results natively, %u on "
          "the device",
          round, a->n, b->n);
    for (unsigned i = 0; !failed && i < a->n && i < b->n; i++)
        CHECK(a->value[i] == b->value[i],
              "round %u: packet RAM test, \"%s\": 0x%" PRIx64
              " natively, 0x%" PRIx64 " on the device",
              round, a->what[i], a->value[i], b->value[i]);
    return failed;
}

static void run_worker(struct worker *w)
{
    sandbox_enter(&w->sb);
    for (unsigned round = 0; round < w->rounds; round++) {
        uint64_t area[10], before;
        int failed;

        device_power_on(&w->dev);
        memset(area, 0, sizeof(area));
        sample_driver_memtest((unsigned char *)area + 8, memtest_ram16,
                              w->sb.fs_base, w->have_movbe, &w->mt_native);
        before = w->sb.st.emulations;
        sample_driver_memtest(w->sb.window + DEMO_BUF_TX + 0x40,
                              memtest_ram16, w->sb.fs_base, w->have_movbe,
                              &w->mt_device);
        w->memtest_emulations += w->sb.st.emulations - before;
        failed = check_memtest(w, round);

        w->log_from = w->dev.log_count;
        before = w->sb.st.emulations;
        make_message(w->index, round, w->msg);
        memset(w->reply, 0, sizeof(w->reply));
        memset(&w->res, 0, sizeof(w->res));
        w->stamp = 0x5EED000000000000ull | ((uint64_t)w->index << 32) | round;
        w->copied = sample_driver_run(w->sb.window, w->msg, DEMO_MSG_LEN,
                                      w->reply, sizeof(w->reply), w->stamp,
                                      &w->res);
        w->transaction_emulations += w->sb.st.emulations - before;
        failed = check_round(w, round, failed);

        /* The serial console: its own bus, powered on each round. */
        ports_power_on(&w->ports);
        w->ports.com1.echo_fd = (w->index == 0 && round == 0) ? STDOUT_FILENO
                                                              : -1;
        memset(&w->ures, 0, sizeof(w->ures));
        w->baud = round_baud(round);
        before = w->sb.st.io_emulations;
        {
            uint64_t acc = w->ports.accesses;
            w->uart_rc = uart_driver_run(w->index, round, w->baud, &w->ures);
            w->uart_accesses = w->ports.accesses - acc;
        }
        ports_console_flush(&w->ports);
        w->uart_emulations = w->sb.st.io_emulations - before;
        w->uart_emulations_all += w->uart_emulations;
        failed = check_uart(w, round, failed);

        if (failed)
            w->failed_rounds++;
    }
    sandbox_leave();
}

static void *worker_thread(void *arg)
{
    run_worker(arg);
    return NULL;
}

/* ---- reporting ---------------------------------------------------------- */

static void print_text(const char *label, const unsigned char *p, unsigned n)
{
    printf("  %s (%u bytes):\n    \"", label, n);
    for (unsigned i = 0; i < n; i++)
        putchar(p[i] >= 0x20 && p[i] < 0x7F ? p[i] : '?');
    printf("\"\n");
}

static void print_log_line(const struct device_log_entry *first,
                           const struct device_log_entry *last,
                           unsigned count)
{
    uint32_t base;
    const char *name = device_region_name(first->offset, &base);
    char where[40];
    char emul[24];

    if (count > 1 && last->offset != first->offset)
        snprintf(where, sizeof(where), "%s+0x%02x..0x%02x", name,
                 (unsigned)(first->offset - base),
                 (unsigned)(last->offset + last->size - 1 - base));
    else if (first->offset != base)
        snprintf(where, sizeof(where), "%s+0x%02x", name,
                 (unsigned)(first->offset - base));
    else
        snprintf(where, sizeof(where), "%s", name);
    if (last->emulation != first->emulation)
        snprintf(emul, sizeof(emul), "%" PRIu32 "-%" PRIu32, first->emulation,
                 last->emulation);
    else
        snprintf(emul, sizeof(emul), "%" PRIu32, first->emulation);

    printf("    %-9s %-5s %-16s %2u-bit x%-3u ", emul,
           first->write ? "write" : "read", where, first->size * 8u, count);
    if (count == 1)
        printf("0x%0*" PRIx64 "\n", first->size * 2, first->value);
    else
        printf("0x%0*" PRIx64 " .. 0x%0*" PRIx64 "\n", first->size * 2,
               first->value, last->size * 2, last->value);
}

/* Prints the accesses of the last round, runs of the same kind of access
 * to one register or buffer folded into one line. */
static void print_device_log(const struct device *d, uint64_t from,
                             int verbose)
{
    uint64_t start = d->log_count > DEVICE_LOG_CAP ? d->log_count - DEVICE_LOG_CAP
                                                   : 0;
    const struct device_log_entry *first = NULL, *prev = NULL;
    unsigned count = 0;

    if (from > start)
        start = from;
    printf("  device log, last transaction (%" PRIu64 " accesses%s):\n"
           "    emulation dir   where            size  count value\n",
           d->log_count - start, verbose ? "" : ", runs folded");
    for (uint64_t i = start; i < d->log_count; i++) {
        const struct device_log_entry *e = &d->log[i % DEVICE_LOG_CAP];
        uint32_t b1, b2;
        const char *n1 = prev ? device_region_name(prev->offset, &b1) : NULL;
        const char *n2 = device_region_name(e->offset, &b2);
        int same = !verbose && prev && n1 == n2 && b1 == b2 &&
                   prev->write == e->write && prev->size == e->size &&
                   (e->offset == prev->offset ||
                    e->offset == prev->offset + prev->size);
        if (!same) {
            if (first)
                print_log_line(first, prev, count);
            first = e;
            count = 0;
        }
        count++;
        prev = e;
    }
    if (first)
        print_log_line(first, prev, count);
}

static void print_names(const char *label, const struct sandbox_name_count *t,
                        unsigned n)
{
    printf("  %s:", label);
    for (unsigned i = 0; i < n; i++) {
        const char *s = sandbox_register_name(t[i].name);
        if (i % 6 == 0)
            printf("\n    ");
        if (s)
            printf(" %s x%" PRIu32, s, t[i].count);
        else
            printf(" 0x%" PRIx32 " x%" PRIu32, t[i].name, t[i].count);
    }
    printf("%s\n", n ? "" : " none");
}

static void merge_names(struct sandbox_name_count *dst, unsigned *n,
                        const struct sandbox_name_count *src, unsigned m)
{
    for (unsigned i = 0; i < m; i++) {
        unsigned j;
        for (j = 0; j < *n; j++)
            if (dst[j].name == src[i].name)
                break;
        if (j == *n) {
            if (*n == SANDBOX_MAX_NAMES)
                continue;
            dst[j].name = src[i].name;
            dst[j].count = 0;
            (*n)++;
        }
        dst[j].count += src[i].count;
    }
}

static void print_uart_report(const struct worker *w, unsigned rounds)
{
    const struct port_bus *b = &w->ports;
    const struct uart16550 *u = &b->com1;
    const struct uart_driver_result *r = &w->ures;
    unsigned lines = 0;

    for (unsigned i = 0; i < u->tx_len; i++)
        lines += u->tx[i] == '\n';
    printf("  COM1 (16550 at 0x%03x), %s, %" PRIu64
           " port I/O emulations, %" PRIu64 " port accesses:\n",
           DEMO_COM1, rounds > 1 ? "last round" : "round 0", w->uart_emulations,
           w->uart_accesses);
    printf("    transmitted %" PRIu32 " bytes, %u lines%s; the last line, %u "
           "bytes, was one REP OUTSB\n",
           u->tx_count, lines,
           w->index == 0 && rounds == 1 ? " (the COM1> lines above)" : "",
           r->burst_len);
    printf("    received %u bytes from the RX FIFO while LSR.DR was set: \"",
           r->rx_len);
    for (unsigned i = 0; i < r->rx_len; i++)
        putchar(r->rx[i] >= 0x20 && r->rx[i] < 0x7F ? r->rx[i] : '?');
    printf("\"\n");
    printf("    divisor latch 0x%04x = %u (%u baud from %u Hz), LCR 0x%02x "
           "(8N1, DLAB off),\n    IER 0x%02x, FCR 0x%02x, MCR 0x%02x, SCR "
           "0x%02x; IIR read 0x%02x (16550A, FIFOs on), MSR 0x%02x\n",
           ports_uart_divisor(b), ports_uart_divisor(b),
           UART_CLOCK_HZ / 16u / (ports_uart_divisor(b) ? ports_uart_divisor(b) : 1u),
           UART_CLOCK_HZ, u->lcr, u->ier, u->fcr, u->mcr, u->scr, r->iir,
           r->msr);
    printf("    LSR read %" PRIu32 " times (THRE before each polled byte, DR "
           "while draining), final 0x%02x\n",
           u->lsr_reads, r->lsr_end);
    printf("  board: ID 0x%08" PRIx32 " (IN EAX, DX), CFG wrote 0x%04x read "
           "0x%04x (OUT DX, AX; IN AX, DX)\n",
           r->board_id, r->cfg_written, r->cfg_read);
    printf("    name \"%.*s\" (one REP INSB of %u bytes from port 0x%03x)\n",
           (int)r->name_len, (const char *)r->name, UART_DRIVER_NAME_CAP,
           DEMO_PORT_BOARD_NAME);
    printf("    POST codes (OUT 0x80, AL):");
    for (unsigned i = 0; i < b->n_post; i++)
        printf(" 0x%02x", b->post_log[i]);
    printf(", read back 0x%02x (IN AL, 0x80)\n", r->post_read);
    printf("    unclaimed ports: %" PRIu32 " accesses (COM2 scratch read "
           "0x%02x, 32-bit read at 0x%03x 0x%08" PRIx32 ")\n\n",
           b->unknown_round, r->com2_scratch, DEMO_COM2, r->com2_wide);
}

static void print_io_totals(const struct sandbox_stats *t, unsigned threads,
                            unsigned rounds)
{
    printf("port I/O emulations: %" PRIu64 " in total (%" PRIu64
           " per round)\n",
           t->io_emulations, t->io_emulations / ((uint64_t)threads * rounds));
    printf("  by form:              8-bit  16-bit  32-bit\n");
    for (int f = 0; f < SANDBOX_IO_FORM_COUNT; f++) {
        const uint64_t *n = t->io_form[f];
        if (!n[0] && !n[1] && !n[2])
            continue;
        printf("    %-16s %7" PRIu64 " %7" PRIu64 " %7" PRIu64 "\n",
               sandbox_io_form_name((enum sandbox_io_form)f), n[0], n[1], n[2]);
    }
    printf("  exit context: %" PRIu64 " carried the instruction bytes, %"
           PRIu64 " did not;\n  %" PRIu64 " gave the InstructionLength, %"
           PRIu64 " gave 0\n",
           t->io_with_bytes, t->io_without_bytes, t->io_with_length,
           t->io_without_length);
}

static const char *bytes_mode_name(enum sandbox_bytes m)
{
    switch (m) {
    case SANDBOX_BYTES_NONE:
        return "never supplied (the emulator fetches them)";
    case SANDBOX_BYTES_ALL:
        return "always supplied";
    case SANDBOX_BYTES_ALTERNATE:
        break;
    }
    return "supplied on every other exit";
}

int main(int argc, char **argv)
{
    unsigned threads = 1, rounds = 1;
    enum sandbox_bytes mode = SANDBOX_BYTES_ALTERNATE;
    int verbose = 0;
    struct worker *workers;
    struct sandbox_stats total;
    struct device_stats_sum {
        uint64_t reads, writes, by_size[9][2];
    } dev_total;
    struct port_stats_sum {
        uint64_t accesses, by_size[3][2], unknown;
    } io_total;
    unsigned failed = 0;
    unsigned eax, ebx, ecx = 0, edx;
    int have_movbe;
    const char *record = NULL;
    int record_fd = -1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--threads") && i + 1 < argc) {
            if (parse_count(argv[++i], MAX_THREADS, &threads)) {
                usage(stderr);
                return 2;
            }
        } else if (!strcmp(a, "--rounds") && i + 1 < argc) {
            if (parse_count(argv[++i], MAX_ROUNDS, &rounds)) {
                usage(stderr);
                return 2;
            }
        } else if (!strcmp(a, "--bytes") && i + 1 < argc) {
            const char *m = argv[++i];
            if (!strcmp(m, "alternate"))
                mode = SANDBOX_BYTES_ALTERNATE;
            else if (!strcmp(m, "none"))
                mode = SANDBOX_BYTES_NONE;
            else if (!strcmp(m, "all"))
                mode = SANDBOX_BYTES_ALL;
            else {
                usage(stderr);
                return 2;
            }
        } else if (!strcmp(a, "--record") && i + 1 < argc) {
            record = argv[++i];
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            verbose = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    printf("whvemu-demo: driver routines run natively; each access to the "
           "device's\nPROT_NONE window faults and is completed by "
           "WHvEmulatorTryMmioEmulation, each\nIN/OUT/INS/OUTS raises #GP "
           "and is completed by WHvEmulatorTryIoEmulation\n(whvemu %s). "
           "threads %u, rounds %u, instruction bytes %s.\n\n",
           whvemu_version(), threads, rounds, bytes_mode_name(mode));
    printf("COM1 console of thread 0, round 0, as the UART transmits it:\n");
    fflush(stdout);

    have_movbe = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_MOVBE);
    workers = calloc(threads, sizeof(*workers));
    if (!workers) {
        fprintf(stderr, "whvemu-demo: out of memory\n");
        return 2;
    }
    if (sandbox_install_handler() != 0) {
        perror("whvemu-demo: sigaction");
        return 2;
    }
    /* Everything the handler needs exists before the first fault: the
     * device, the window and one emulator handle per thread. */
    for (unsigned t = 0; t < threads; t++) {
        char err[128] = "";
        workers[t].index = t;
        workers[t].rounds = rounds;
        workers[t].have_movbe = have_movbe;
        device_reset(&workers[t].dev);
        ports_reset(&workers[t].ports);
        workers[t].ports.com1.echo_prefix = "  COM1> ";
        if (sandbox_init(&workers[t].sb, &workers[t].dev, mode, err,
                         sizeof(err))) {
            fprintf(stderr, "whvemu-demo: %s\n", err);
            return 2;
        }
        workers[t].sb.ports = &workers[t].ports;
    }
    if (record) {
        record_fd = open(record, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (record_fd < 0 ||
            whvemu_set_trace(workers[0].sb.emu, record_write, &record_fd) != S_OK) {
            perror("whvemu-demo: --record");
            return 2;
        }
    }

    if (threads == 1) {
        run_worker(&workers[0]);
    } else {
        pthread_t tid[MAX_THREADS];
        for (unsigned t = 0; t < threads; t++) {
            int rc = pthread_create(&tid[t], NULL, worker_thread, &workers[t]);
            if (rc) {
                fprintf(stderr, "whvemu-demo: pthread_create: %s\n",
                        strerror(rc));
                return 2;
            }
        }
        for (unsigned t = 0; t < threads; t++)
            pthread_join(tid[t], NULL);
    }

    printf("\n");
    memset(&total, 0, sizeof(total));
    memset(&dev_total, 0, sizeof(dev_total));
    memset(&io_total, 0, sizeof(io_total));
    for (unsigned t = 0; t < threads; t++) {
        struct worker *w = &workers[t];
        const struct sandbox_stats *s = &w->sb.st;
        const struct device *d = &w->dev;

        total.emulations += s->emulations;
        total.read_faults += s->read_faults;
        total.write_faults += s->write_faults;
        total.with_bytes += s->with_bytes;
        total.without_bytes += s->without_bytes;
        for (int k = 0; k < SANDBOX_KIND_COUNT; k++)
            total.kind[k] += s->kind[k];
        total.get_calls += s->get_calls;
        total.set_calls += s->set_calls;
        total.translate_calls += s->translate_calls;
        total.io_calls += s->io_calls;
        total.get_values += s->get_values;
        total.set_values += s->set_values;
        total.mem_device += s->mem_device;
        total.mem_ram_fetch += s->mem_ram_fetch;
        total.mem_ram_read += s->mem_ram_read;
        total.mem_ram_write += s->mem_ram_write;
        total.translate_flags |= s->translate_flags;
        total.io_emulations += s->io_emulations;
        for (int f = 0; f < SANDBOX_IO_FORM_COUNT; f++)
            for (int z = 0; z < 3; z++)
                total.io_form[f][z] += s->io_form[f][z];
        total.io_with_bytes += s->io_with_bytes;
        total.io_without_bytes += s->io_without_bytes;
        total.io_with_length += s->io_with_length;
        total.io_without_length += s->io_without_length;
        io_total.accesses += w->ports.accesses;
        io_total.unknown += w->ports.unknown;
        for (int z = 0; z < 3; z++)
            for (int dir = 0; dir < 2; dir++)
                io_total.by_size[z][dir] += w->ports.by_size[z][dir];
        merge_names(total.got, &total.n_got, s->got, s->n_got);
        merge_names(total.set, &total.n_set, s->set, s->n_set);
        dev_total.reads += d->reads;
        dev_total.writes += d->writes;
        for (int z = 0; z < 9; z++)
            for (int dir = 0; dir < 2; dir++)
                dev_total.by_size[z][dir] += d->by_size[z][dir];

        if (t == 0 || w->failed_rounds) {
            printf("thread %u: window at GVA %p = GPA 0x%llx (%u KiB, "
                   "PROT_NONE), %" PRIu64 " emulations\n",
                   t, (void *)w->sb.window,
                   (unsigned long long)w->sb.device_gpa,
                   DEMO_WINDOW_SIZE / 1024, s->emulations);
            printf("  packet RAM test: %u results, %" PRIu64
                   " emulations per round, %s the native run\n",
                   w->mt_device.n, w->memtest_emulations / rounds,
                   w->failed_rounds ? "compared with" : "identical to");
            printf("  transaction: %" PRIu64 " emulations per round\n",
                   w->transaction_emulations / rounds);
            print_device_log(d, w->log_from, verbose);
            print_text("message received by the device", d->received,
                       d->received_len);
            print_text("reply the driver read back", w->reply,
                       w->copied > 0 ? (unsigned)w->copied : 0);
            printf("  CONTROL 0x%04x -> 0x%04" PRIx32 " (|= ENABLE, &= ~IRQ_RX,"
                   " ^= PARITY, lock |= FIFO)\n",
                   DEMO_CTL_RESET_VALUE, w->res.control);
            printf("  STATUS read %" PRIu32 " times until READY, bit-tested "
                   "%" PRIu32 " times until RX_AVAIL\n",
                   w->res.ready_polls, w->res.rx_polls);
            printf("  semaphore taken by LOCK CMPXCHG: %s; XCHG swapped out "
                   "0x%" PRIx32 "; LOCK XADD sequence 0x%" PRIx32 "\n",
                   w->res.sem_taken ? "yes" : "no", w->res.scratch_old,
                   w->res.seq);
            printf("  STAMP (POP to MMIO, read back) 0x%016" PRIx64
                   "; COUNTER (PUSH from MMIO) %" PRIu64 "\n\n",
                   w->res.stamp, w->res.counter);
            print_uart_report(w, rounds);
        }
        if (w->failed_rounds) {
            failed++;
            printf("thread %u: %u of %u rounds FAILED; first: %s\n\n", t,
                   w->failed_rounds, rounds, w->first_failure);
        }
    }

    printf("memory-access emulations: %" PRIu64 " in total (%" PRIu64
           " per round)\n",
           total.emulations, total.emulations / ((uint64_t)threads * rounds));
    printf("  by faulting access: %" PRIu64 " reads, %" PRIu64 " writes\n",
           total.read_faults, total.write_faults);
    printf("  instruction bytes: %" PRIu64 " exits carried them, %" PRIu64
           " left them to the emulator\n",
           total.with_bytes, total.without_bytes);
    printf("  by what the instruction did:\n");
    for (int k = 0; k < SANDBOX_KIND_COUNT; k++)
        if (total.kind[k])
            printf("    %6" PRIu64 "  %s\n", total.kind[k],
                   sandbox_kind_name((enum sandbox_kind)k));
    print_io_totals(&total, threads, rounds);
    printf("port accesses: %" PRIu64 " (IN", io_total.accesses);
    for (int z = 0; z < 3; z++)
        printf(" %d-bit %" PRIu64, 8 << z, io_total.by_size[z][0]);
    printf("; OUT");
    for (int z = 0; z < 3; z++)
        printf(" %d-bit %" PRIu64, 8 << z, io_total.by_size[z][1]);
    printf("), to unclaimed ports %" PRIu64 "\n", io_total.unknown);
    printf("callbacks: get-registers %" PRIu64 " (%" PRIu64 " values), "
           "set-registers %" PRIu64 " (%" PRIu64 " values),\n"
           "  translate %" PRIu64 " (flags seen 0x%" PRIx32 "), memory %" PRIu64
           " (device %" PRIu64 ", RAM: %" PRIu64 " fetch, %" PRIu64
           " read, %" PRIu64 " write), I/O %" PRIu64 "\n",
           total.get_calls, total.get_values, total.set_calls,
           total.set_values, total.translate_calls, total.translate_flags,
           total.mem_device + total.mem_ram_fetch + total.mem_ram_read +
               total.mem_ram_write,
           total.mem_device, total.mem_ram_fetch, total.mem_ram_read,
           total.mem_ram_write, total.io_calls);
    print_names("registers the emulator read", total.got, total.n_got);
    print_names("registers the emulator wrote", total.set, total.n_set);
    printf("device accesses: %" PRIu64 " reads, %" PRIu64 " writes; by size:",
           dev_total.reads, dev_total.writes);
    for (int z = 1; z <= 8; z++)
        if (dev_total.by_size[z][0] || dev_total.by_size[z][1])
            printf(" %d-bit %" PRIu64 "r/%" PRIu64 "w", z * 8,
                   dev_total.by_size[z][0], dev_total.by_size[z][1]);
    printf("\n\n");

    for (unsigned t = 0; t < threads; t++)
        sandbox_destroy(&workers[t].sb);
    free(workers);
    if (record_fd >= 0 && close(record_fd) != 0) {
        perror("whvemu-demo: --record");
        return 2;
    }

    if (failed) {
        printf("self-check: FAILED in %u of %u threads\n", failed, threads);
        return 1;
    }
    printf("self-check: passed (%u thread%s x %u round%s)\n", threads,
           threads == 1 ? "" : "s", rounds, rounds == 1 ? "" : "s");
    return 0;
}
