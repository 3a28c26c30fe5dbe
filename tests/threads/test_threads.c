/*
 * test_threads.c - handles used from many threads at once (built plain, and
 * with ThreadSanitizer as test_threads_tsan):
 *  - every thread with its own handle emulates in a loop: each call
 *    succeeds and stores what that thread's guest asked for;
 *  - threads sharing ONE handle, each until it has won a number of calls:
 *    at every moment at most one call is inside the emulator (its callbacks
 *    never overlap), every other call gets E_INVALIDARG and calls no
 *    callback;
 *  - create/destroy churn while other threads use, destroy and query the
 *    handle values it publishes, most of them stale by then: S_OK or
 *    E_INVALIDARG, never a crash, a callback of a dead handle, or a
 *    report from the sanitizer.
 * WHVEMU_THREADS_ITERS scales the loops (default 2000).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "WinHvEmulation.h"
#include "fake_vmm.h"
#include "whvemu.h"

#define RIP0 0x401000ull
#define DATA 0x7f0000001000ull
#define OWN_THREADS 6
#define SHARED_THREADS 4
#define CHURN_THREADS 2
#define USER_THREADS 4
#define PUBLISHED 16

static long iters = 2000;
static atomic_int failures;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                 \
            atomic_fetch_add(&failures, 1);                                                        \
        }                                                                                          \
    } while (0)

/* One MOV store [rbx], rcx through a memory exit of the thread's own VM. */
static HRESULT store(WHV_EMULATOR_HANDLE emu, fake_vmm *vm, uint64_t value,
                     WHV_EMULATOR_STATUS *st)
{
    static const uint8_t mov[] = {0x48, 0x89, 0x0b};
    fvmm_set_reg64(vm, WHvX64RegisterRip, RIP0);
    fvmm_set_reg64(vm, WHvX64RegisterRbx, DATA);
    fvmm_set_reg64(vm, WHvX64RegisterRcx, value);
    WHV_VP_EXIT_CONTEXT vp;
    WHV_MEMORY_ACCESS_CONTEXT mc;
    fvmm_mmio_exit d = {mov, 3, DATA, DATA, 1, 0, WHvMemoryAccessWrite};
    fvmm_build_mmio_exit64(vm, &vp, &mc, &d);
    fvmm_reset_log(vm);
    return WHvEmulatorTryMmioEmulation(emu, vm, &vp, &mc, st);
}

static uint64_t stored(const fake_vmm *vm)
{
    uint64_t v = 0;
    fvmm_gpa_read(vm, DATA, &v, 8);
    return v;
}

static fake_vmm *new_vm(void)
{
    fake_vmm *vm = fvmm_create();
    fvmm_setup_long_mode(vm, 0);
    return vm;
}

/* --- every thread its own handle --- */

static void *own_handle(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    fake_vmm *vm = new_vm();
    WHV_EMULATOR_HANDLE emu;
    EXPECT(WHvEmulatorCreateEmulator(fvmm_callbacks(), &emu) == S_OK);
    for (long i = 0; i < iters; i++) {
        WHV_EMULATOR_STATUS st;
        uint64_t v = (uint64_t)id << 32 | (uint64_t)i;
        EXPECT(store(emu, vm, v, &st) == S_OK);
        EXPECT(st.AsUINT32 == 1);
        EXPECT(stored(vm) == v);
        EXPECT(fvmm_reg64(vm, WHvX64RegisterRip) == RIP0 + 3);
        if (i % 64 == 0) {
            EXPECT(whvemu_set_rep_limit(emu, (UINT32)(i % 5)) == S_OK);
            EXPECT(whvemu_last_failure(emu) != NULL);
        }
    }
    EXPECT(WHvEmulatorDestroyEmulator(emu) == S_OK);
    fvmm_destroy(vm);
    return NULL;
}

/* --- one handle shared by several threads --- */

static WHV_EMULATOR_HANDLE shared;
static atomic_int inside;   /* calls inside the shared handle's callbacks */
static atomic_int overlaps; /* times a callback found another call inside */
static atomic_long wins, refusals;

static HRESULT CALLBACK shared_memory(VOID *ctx, WHV_EMULATOR_MEMORY_ACCESS_INFO *a)
{
    if (atomic_fetch_add(&inside, 1) != 0)
        atomic_fetch_add(&overlaps, 1);
    sched_yield(); /* give the other threads a chance to try the handle */
    HRESULT hr = fvmm_callbacks()->WHvEmulatorMemoryCallback(ctx, a);
    atomic_fetch_sub(&inside, 1);
    return hr;
}

static void *shared_handle(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    fake_vmm *vm = new_vm();
    long won = 0, want = iters / 4 + 1;
    for (long i = 0; won < want && i < 1000 * iters; i++) {
        WHV_EMULATOR_STATUS st;
        uint64_t v = (uint64_t)id << 32 | (uint64_t)i;
        HRESULT hr = store(shared, vm, v, &st);
        if (hr == S_OK) {
            won++;
            atomic_fetch_add(&wins, 1);
            EXPECT(st.AsUINT32 == 1);
            EXPECT(stored(vm) == v);
        } else {
            atomic_fetch_add(&refusals, 1);
            EXPECT(hr == E_INVALIDARG);
            EXPECT(st.AsUINT32 == 0);
            EXPECT(fvmm_call_count(vm) == 0); /* a refused call calls nothing */
            sched_yield();
        }
    }
    EXPECT(won == want);
    fvmm_destroy(vm);
    return NULL;
}

/* --- create/destroy churn with stale handles in use --- */

static _Atomic uintptr_t published[PUBLISHED];
static atomic_int churn_running;
static atomic_long stale_refused, live_used;

static void *churn(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    for (long i = 0; i < iters; i++) {
        WHV_EMULATOR_HANDLE h;
        EXPECT(WHvEmulatorCreateEmulator(fvmm_callbacks(), &h) == S_OK);
        unsigned slot = (unsigned)((id * 7 + (uintptr_t)i) % PUBLISHED);
        atomic_store(&published[slot], (uintptr_t)h);
        if (i % 3 == 0)
            sched_yield();
        /* Another thread may have destroyed it already, or hold it in a
         * call: S_OK or refused; once destroyed, always refused. */
        HRESULT hr = WHvEmulatorDestroyEmulator(h);
        EXPECT(hr == S_OK || hr == E_INVALIDARG);
        HRESULT again = WHvEmulatorDestroyEmulator(h);
        EXPECT(again == E_INVALIDARG || (hr == E_INVALIDARG && again == S_OK));
    }
    atomic_fetch_sub(&churn_running, 1);
    return NULL;
}

static void *stale_user(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    fake_vmm *vm = new_vm();
    uint64_t x = id * 0x9E3779B97F4A7C15ull + 1;
    while (atomic_load(&churn_running) > 0) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        WHV_EMULATOR_HANDLE h = (WHV_EMULATOR_HANDLE)atomic_load(&published[x % PUBLISHED]);
        if (!h)
            continue;
        WHV_EMULATOR_STATUS st;
        HRESULT hr;
        switch ((x >> 8) % 5) {
        case 0:
        case 1:
            hr = store(h, vm, x, &st);
            EXPECT(hr == S_OK || hr == E_INVALIDARG);
            if (hr == S_OK) {
                EXPECT(st.AsUINT32 == 1);
                EXPECT(stored(vm) == x);
            } else {
                EXPECT(fvmm_call_count(vm) == 0);
            }
            break;
        case 2:
            hr = WHvEmulatorDestroyEmulator(h);
            EXPECT(hr == S_OK || hr == E_INVALIDARG);
            break;
        case 3:
            hr = whvemu_set_rep_limit(h, 3);
            EXPECT(hr == S_OK || hr == E_INVALIDARG);
            break;
        default:
            hr = whvemu_last_failure(h) ? S_OK : E_INVALIDARG;
            break;
        }
        if (hr == S_OK)
            atomic_fetch_add(&live_used, 1);
        else
            atomic_fetch_add(&stale_refused, 1);
    }
    fvmm_destroy(vm);
    return NULL;
}

static void run_threads(void *(*fn)(void *), unsigned n, pthread_t *t, unsigned base)
{
    for (unsigned i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)(base + i)) != 0) {
            printf("pthread_create failed\n");
            exit(1);
        }
}

static void join_threads(unsigned n, pthread_t *t)
{
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

int main(void)
{
    const char *e = getenv("WHVEMU_THREADS_ITERS");
    if (e && atol(e) > 0)
        iters = atol(e);

    pthread_t own[OWN_THREADS], sh[SHARED_THREADS], ch[CHURN_THREADS], us[USER_THREADS];
    WHV_EMULATOR_CALLBACKS cb = *fvmm_callbacks();
    cb.WHvEmulatorMemoryCallback = shared_memory;
    if (WHvEmulatorCreateEmulator(&cb, &shared) != S_OK)
        return 1;

    /* All three at once. */
    atomic_store(&churn_running, CHURN_THREADS);
    run_threads(own_handle, OWN_THREADS, own, 1);
    run_threads(shared_handle, SHARED_THREADS, sh, 100);
    run_threads(churn, CHURN_THREADS, ch, 200);
    run_threads(stale_user, USER_THREADS, us, 300);
    join_threads(OWN_THREADS, own);
    join_threads(SHARED_THREADS, sh);
    join_threads(CHURN_THREADS, ch);
    join_threads(USER_THREADS, us);
    EXPECT(WHvEmulatorDestroyEmulator(shared) == S_OK);

    EXPECT(atomic_load(&overlaps) == 0);
    EXPECT(atomic_load(&wins) == SHARED_THREADS * (iters / 4 + 1));
    printf("own handles: %d threads x %ld emulations\n", OWN_THREADS, iters);
    printf("shared handle: %ld calls won, %ld refused (E_INVALIDARG), %d overlapping\n",
           atomic_load(&wins), atomic_load(&refusals), atomic_load(&overlaps));
    printf("churn: %d threads x %ld create/destroy; published handles used %ld times live, "
           "%ld times refused\n",
           CHURN_THREADS, iters, atomic_load(&live_used), atomic_load(&stale_refused));
    printf("%s\n", atomic_load(&failures) ? "FAILED" : "passed");
    return atomic_load(&failures) ? 1 : 0;
}
