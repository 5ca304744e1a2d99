/* pool_sync.c: the pool's sleeping and waking (futexes, spinning first).
 *
 * Not pthread condition variables: a waiter killed inside a process-shared
 * glibc condvar corrupts it (queue.c tells that story).  A futex keeps no
 * state of ours in the kernel, and a dead sleeper simply leaves its wait
 * list.  FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
 * spurious wake-up or EINTR just waits again until the same deadline. */
#include "pool_internal.h"

#include "timing.h"

#include <limits.h>
#include <sched.h>

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
