/* pool_sync.c: the pool's sleeping and waking (futexes, spinning first).
 *
 * Not pthread condition variables: a waiter killed inside a process-shared
 * glibc condvar corrupts it (queue.c tells that story).  A futex keeps no
 * state of ours in the kernel, and a dead sleeper simply leaves its wait
 * list.  FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
 * spurious wake-up or EINTR just waits again until the same deadline. */
#define _GNU_SOURCE /* syscall(), SYS_futex */
#include "pool_internal.h"

#include "checked.h"
#include "timing.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause(); /* lets the sibling hyperthread run */
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

enum {
    /* Longer than a hand-over between two cores through the cache
     * (~0.1-0.5 us), far shorter than a time slice. */
    BUSY_SPIN_NANOSECONDS = 3000,
};

struct spin spin_begin(uint64_t nanoseconds)
{
    uint64_t now = clock_nanoseconds();
    uint64_t busy = nanoseconds < BUSY_SPIN_NANOSECONDS ? nanoseconds
                                                        : BUSY_SPIN_NANOSECONDS;
    return (struct spin){.busy_until = now + busy, .until = now + nanoseconds};
}

bool spin_more(struct spin *spin)
{
    spin->looks++;
    if (spin->looks % 16 != 0) {
        cpu_relax();
        return true;
    }
    uint64_t now = clock_nanoseconds();
    if (now >= spin->until)
        return false;
    if (now >= spin->busy_until)
        sched_yield();
    else
        cpu_relax();
    return true;
}

uint64_t deadline_after(double timeout)
{
    if (!(timeout >= 0)) /* negative or NaN: no bound */
        return UINT64_MAX;
    double nanoseconds = timeout * 1e9;
    if (nanoseconds >= 1e18)
        return UINT64_MAX;
    return clock_nanoseconds() + (uint64_t)nanoseconds;
}

bool deadline_passed(uint64_t deadline)
{
    return deadline != UINT64_MAX && clock_nanoseconds() >= deadline;
}

void futex_wait_until(_Atomic uint32_t *word, uint32_t expected,
                      uint64_t deadline, bool shared)
{
    struct timespec until, *until_pointer = NULL;
    if (deadline != UINT64_MAX) {
        until.tv_sec = (time_t)(deadline / 1000000000u);
        until.tv_nsec = (long)(deadline % 1000000000u);
        until_pointer = &until;
    }
    /* A private futex is cheaper (no shared-key lookup); only words in
     * memory shared with other processes need the shared kind. */
    int operation = FUTEX_WAIT_BITSET | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    long rc = syscall(SYS_futex, (void *)word, operation, expected,
                      until_pointer, NULL, FUTEX_BITSET_MATCH_ANY);
    if (rc == -1 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT)
        die_at(__FILE__, __LINE__, "futex(FUTEX_WAIT_BITSET)", errno);
}

void futex_wake(_Atomic uint32_t *word, int how_many, bool shared)
{
    int operation = FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG);
    if (syscall(SYS_futex, (void *)word, operation, how_many, NULL, NULL, 0) ==
        -1)
        die_at(__FILE__, __LINE__, "futex(FUTEX_WAKE)", errno);
}

/* The waiting side of a one-shot event: PENDING -> (ASLEEP) -> DONE.  The
 * waiter spins first: a short task's result then arrives while it is still
 * on the CPU, and the round trip costs no sleep and no wake-up at all. */
bool waiter_wait(_Atomic uint32_t *word, uint64_t spin_nanoseconds,
                 uint64_t deadline, bool shared)
{
    struct spin spin = spin_begin(spin_nanoseconds);
    do
        if (atomic_load_explicit(word, memory_order_acquire) == WAITER_DONE)
            return true;
    while (spin_more(&spin));
    for (;;) {
        uint32_t seen = WAITER_PENDING;
        /* Announce the sleep; the finisher wakes only if it sees this. */
        if (!atomic_compare_exchange_strong(word, &seen, WAITER_ASLEEP) &&
            seen == WAITER_DONE)
            return true;
        if (deadline_passed(deadline))
            return atomic_load_explicit(word, memory_order_acquire) ==
                   WAITER_DONE;
        futex_wait_until(word, WAITER_ASLEEP, deadline, shared);
    }
}

void waiter_finish(_Atomic uint32_t *word, bool shared)
{
    if (atomic_exchange_explicit(word, WAITER_DONE, memory_order_acq_rel) ==
        WAITER_ASLEEP)
        futex_wake(word, INT_MAX, shared);
}
