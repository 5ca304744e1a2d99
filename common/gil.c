/* gil.c: the emulated interpreter lock (see gil.h for the model). */
#include "gil.h"

#include "checked.h"
#include "log.h"
#include "timing.h"
#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

void gil_init(struct gil *gil, double interval_seconds)
{
    pthread_condattr_t attributes;
    CHECK_PT(pthread_condattr_init(&attributes));
    /* Timed waits measure an interval: they must not follow clock jumps. */
    CHECK_PT(pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC));
    CHECK_PT(pthread_mutex_init(&gil->mutex, NULL));
    CHECK_PT(pthread_cond_init(&gil->released, &attributes));
    CHECK_PT(pthread_cond_init(&gil->switched, &attributes));
    CHECK_PT(pthread_condattr_destroy(&attributes));
    gil->locked = false;
    gil->switch_number = 0;
    gil->waiting = 0;
    gil->interval_ns = (uint64_t)(interval_seconds * 1e9);
    if (gil->interval_ns == 0)
        gil->interval_ns = 1;
    atomic_init(&gil->drop_request, false);
    atomic_init(&gil->acquisitions, 0);
    atomic_init(&gil->forced_switches, 0);
    atomic_init(&gil->wait_ns, 0);
    gil->trace = NULL;
    gil->held_since = 0;
}

/* The GIL's own row in a trace: a made-up thread id of this process. */
enum { GIL_TRACE_ROW = 0x7ffffffe };

void gil_set_trace(struct gil *gil, struct trace *trace)
{
    gil->trace = trace;
    if (trace != NULL)
        trace_name_thread(trace, (int)getpid(), GIL_TRACE_ROW,
                          "GIL (who holds it)", 0);
}

void gil_destroy(struct gil *gil)
{
    CHECK_PT(pthread_cond_destroy(&gil->switched));
    CHECK_PT(pthread_cond_destroy(&gil->released));
    CHECK_PT(pthread_mutex_destroy(&gil->mutex));
}

static struct timespec deadline_after(uint64_t nanoseconds)
{
    uint64_t when = clock_nanoseconds() + nanoseconds;
    return (struct timespec){.tv_sec = (time_t)(when / 1000000000u),
                             .tv_nsec = (long)(when % 1000000000u)};
}

void gil_acquire(struct gil *gil)
{
    uint64_t started = clock_nanoseconds();
    CHECK_PT(pthread_mutex_lock(&gil->mutex));
    gil->waiting++;
    while (gil->locked) {
        uint64_t seen = gil->switch_number;
        struct timespec deadline = deadline_after(gil->interval_ns);
        int rc = pthread_cond_timedwait(&gil->released, &gil->mutex, &deadline);
        if (rc != 0 && rc != ETIMEDOUT)
            die_at(__FILE__, __LINE__, "pthread_cond_timedwait(released)", rc);
        /* A whole interval passed and the same holder still has it (no
         * acquisition happened): ask it to let go.  If someone else took
         * it meanwhile, that thread gets its own full interval first. */
        if (rc == ETIMEDOUT && gil->locked && gil->switch_number == seen)
            atomic_store_explicit(&gil->drop_request, true,
                                  memory_order_relaxed);
    }
    gil->waiting--;
    gil->locked = true;
    gil->switch_number++;
    /* The request (ours or another waiter's) is answered by this hand-over;
     * a waiter still queued will ask again after its own interval. */
    atomic_store_explicit(&gil->drop_request, false, memory_order_relaxed);
    CHECK_PT(pthread_cond_broadcast(&gil->switched));
    if (gil->trace != NULL) {
        gil->held_since = clock_seconds();
        trace_slice(gil->trace, (int)getpid(), (int)log_thread_id(),
                    "waiting for the GIL", "gil", (double)started / 1e9,
                    gil->held_since, NULL);
    }
    CHECK_PT(pthread_mutex_unlock(&gil->mutex));
    atomic_fetch_add_explicit(&gil->acquisitions, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&gil->wait_ns, clock_nanoseconds() - started,
                              memory_order_relaxed);
}

void gil_release(struct gil *gil)
{
    CHECK_PT(pthread_mutex_lock(&gil->mutex));
    if (gil->trace != NULL) {
        double now = clock_seconds();
        int pid = (int)getpid(), tid = (int)log_thread_id();
        char name[48];
        snprintf(name, sizeof name, "%s (tid %d)", log_name(), tid);
        trace_slice(gil->trace, pid, tid, "holds the GIL", "gil",
                    gil->held_since, now, NULL);
        trace_slice(gil->trace, pid, GIL_TRACE_ROW, name, "gil",
                    gil->held_since, now, NULL);
        if (atomic_load_explicit(&gil->drop_request, memory_order_relaxed) &&
            gil->waiting > 0)
            trace_instant(gil->trace, pid, tid, "forced switch", now, NULL);
    }
    gil->locked = false;
    CHECK_PT(pthread_cond_signal(&gil->released));
    /* Forced switching, on every drop while a waiter has asked (as CPython's
     * drop_gil does, around I/O too): wait until that waiter has really
     * taken the GIL.  Without this, the thread that just let go usually
     * wins the race to take it back -- it is running, while the waiter must
     * first be woken -- and the waiter starves.  `waiting > 0` guarantees
     * that someone will take it, so this wait ends. */
    if (atomic_load_explicit(&gil->drop_request, memory_order_relaxed) &&
        gil->waiting > 0) {
        atomic_fetch_add_explicit(&gil->forced_switches, 1,
                                  memory_order_relaxed);
        uint64_t seen = gil->switch_number;
        while (gil->switch_number == seen)
            CHECK_PT(pthread_cond_wait(&gil->switched, &gil->mutex));
    }
    CHECK_PT(pthread_mutex_unlock(&gil->mutex));
}

void gil_yield(struct gil *gil)
{
    gil_release(gil); /* hands over: the drop request is set */
    gil_acquire(gil);
}

struct gil_counters gil_counters(struct gil *gil)
{
    return (struct gil_counters){
        .acquisitions = atomic_load(&gil->acquisitions),
        .forced_switches = atomic_load(&gil->forced_switches),
        .wait_seconds = (double)atomic_load(&gil->wait_ns) / 1e9,
    };
}
