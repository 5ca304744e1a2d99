/* test_queue.c: the bounded queue shared by processes (common/queue.h).
 *
 * Most tests use child processes (proc_start), because crossing a process
 * boundary is the queue's reason to exist: a child blocked in get() must be
 * woken by a put or a close made in another process.  Results come back as
 * exit statuses, or through a shared anonymous mapping.
 *
 * A child that must die *while holding the queue's lock* is made to fault
 * inside the lock: it puts from (or gets into) a PROT_NONE page, so the
 * memcpy that runs under the lock kills it with SIGSEGV, deterministically.
 *
 * Every test case resets SIGINT, SIGTERM and SIGHUP to their defaults first
 * (the test process inherits Check's handlers; see harness.h).
 */
#define _GNU_SOURCE
#include "harness.h"

#include "proc.h"
#include "queue.h"
#include "timing.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- Helpers ---------------------------------------------------------------- */

static void *shared_memory(size_t size)
{
    void *memory = mmap(NULL, size, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(memory, MAP_FAILED);
    return memory;
}

/* Wait until exactly this many sleep in put() and get(); false on timeout. */
static bool wait_for_waiters(struct queue *queue, int putters, int getters,
                             double timeout)
{
    double deadline = clock_seconds() + timeout * time_scale();
    for (;;) {
        struct queue_waiters now = queue_waiters(queue);
        if (now.putters == putters && now.getters == getters)
            return true;
        if (clock_seconds() > deadline)
            return false;
        clock_sleep(0.002);
    }
}

static void join_ok(struct proc *child, int expected_exitcode)
{
    ck_assert_msg(proc_join(child, 10.0 * time_scale()), "%s did not end",
                  child->name);
    ck_assert_msg(child->exitcode == expected_exitcode,
                  "%s: exit code %d, expected %d", child->name,
                  child->exitcode, expected_exitcode);
}

static uint64_t get_number(struct queue *queue, double timeout,
                           enum queue_status expected)
{
    uint64_t value = UINT64_MAX;
    size_t size = 0;
    enum queue_status status =
        queue_get(queue, &value, sizeof value, &size, timeout);
    ck_assert_msg(status == expected, "get returned %s, expected %s",
                  queue_status_name(status), queue_status_name(expected));
    if (status == QUEUE_OK)
        ck_assert_uint_eq(size, sizeof value);
    return value;
}

static void put_number(struct queue *queue, uint64_t value, double timeout,
                       enum queue_status expected)
{
    enum queue_status status = queue_put(queue, &value, sizeof value, timeout);
    ck_assert_msg(status == expected, "put(%llu) returned %s, expected %s",
                  (unsigned long long)value, queue_status_name(status),
                  queue_status_name(expected));
}

/* ---- Child bodies ------------------------------------------------------------ */

struct child_job {
    struct queue *queue;
    uint64_t value;  /* what to put, or what get must return */
    double timeout;
};

/* Exit status: the status get() returned (QUEUE_OK is 0), or 100 if it
 * returned OK with the wrong value. */
static int get_one(void *arg)
{
    const struct child_job *job = arg;
    uint64_t value = 0;
    enum queue_status status =
        queue_get(job->queue, &value, sizeof value, NULL, job->timeout);
    if (status == QUEUE_OK && value != job->value)
        return 100;
    return (int)status;
}

static int put_one(void *arg)
{
    const struct child_job *job = arg;
    return (int)queue_put(job->queue, &job->value, sizeof job->value,
                          job->timeout);
}

static int put_after_100ms(void *arg)
{
    clock_sleep(0.1);
    return put_one(arg);
}

static void no_core_dumps_and_default_segv(void)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    /* The default action, not a sanitizer's report-and-exit handler: the
     * process must die of the fault where it is, holding the lock. */
    signal(SIGSEGV, SIG_DFL);
}

static void *unreadable_page(void)
{
    void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                      0);
    return page == MAP_FAILED ? NULL : page;
}

/* Dies of SIGSEGV inside put(), between taking the lock and committing. */
static int put_from_unreadable_memory(void *arg)
{
    const struct child_job *job = arg;
    void *page = unreadable_page();
    if (page == NULL)
        return 90;
    no_core_dumps_and_default_segv();
    queue_put(job->queue, page, sizeof(uint64_t), QUEUE_BLOCK);
    return 91; /* the copy did not fault: the test cannot test anything */
}

/* Dies of SIGSEGV inside get(), after reading the slot, before the commit. */
static int get_into_unwritable_memory(void *arg)
{
    const struct child_job *job = arg;
    void *page = unreadable_page();
    if (page == NULL)
        return 90;
    no_core_dumps_and_default_segv();
    queue_get(job->queue, page, sizeof(uint64_t), NULL, QUEUE_BLOCK);
    return 91;
}

/* ---- Single process: the basic contract ------------------------------------- */

START_TEST(fifo_order_and_lengths)
{
    struct queue *queue = queue_create(8, 32);
    ck_assert_uint_eq(queue_length(queue), 0);
    const char *words[] = {"one", "", "three", "item_max: 32 bytes, not one more"};
    ck_assert_uint_eq(strlen(words[3]), 32);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(queue_put(queue, words[i], strlen(words[i]),
                                   QUEUE_NOWAIT),
                         QUEUE_OK);
        ck_assert_uint_eq(queue_length(queue), (size_t)i + 1);
    }
    /* A zero-length item may come from a NULL pointer. */
    ck_assert_int_eq(queue_put(queue, NULL, 0, QUEUE_NOWAIT), QUEUE_OK);
    for (int i = 0; i < 4; i++) {
        char buffer[64];
        memset(buffer, 'X', sizeof buffer);
        size_t size = 999;
        ck_assert_int_eq(queue_get(queue, buffer, sizeof buffer, &size,
                                   QUEUE_NOWAIT),
                         QUEUE_OK);
        ck_assert_uint_eq(size, strlen(words[i]));
        ck_assert_int_eq(memcmp(buffer, words[i], size), 0);
        ck_assert_int_eq(buffer[size], 'X'); /* nothing written beyond */
    }
    /* The size pointer is optional. */
    char byte;
    ck_assert_int_eq(queue_get(queue, &byte, 1, NULL, QUEUE_NOWAIT), QUEUE_OK);
    ck_assert_uint_eq(queue_length(queue), 0);

    /* Many laps around the ring keep the order. */
    for (uint64_t i = 0; i < 1000; i++) {
        put_number(queue, i, QUEUE_NOWAIT, QUEUE_OK);
        if (i % 3 == 2) { /* let it fill up a little, then drain some */
            for (uint64_t j = i - 2; j <= i - 1; j++)
                ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK),
                                  j);
            put_number(queue, 1000000 + i, QUEUE_NOWAIT, QUEUE_OK);
            ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), i);
            ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK),
                              1000000 + i);
        }
    }
    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 999);
    ck_assert_uint_eq(queue_length(queue), 0);
    ck_assert_uint_eq(queue_owner_deaths(queue), 0);
    queue_destroy(queue);
}
END_TEST

START_TEST(nowait_full_and_empty)
{
    struct queue *queue = queue_create(3, sizeof(uint64_t));
    get_number(queue, QUEUE_NOWAIT, QUEUE_EMPTY);
    for (uint64_t i = 0; i < 3; i++)
        put_number(queue, i, QUEUE_NOWAIT, QUEUE_OK);
    ck_assert_uint_eq(queue_length(queue), 3);
    double start = clock_seconds();
    put_number(queue, 3, QUEUE_NOWAIT, QUEUE_FULL);
    ck_assert_double_lt(clock_seconds() - start, 0.1 * time_scale());
    ck_assert_uint_eq(queue_length(queue), 3); /* the refused item is not in */
    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 0);
    put_number(queue, 3, QUEUE_NOWAIT, QUEUE_OK); /* room again */
    for (uint64_t i = 1; i <= 3; i++)
        ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), i);
    start = clock_seconds();
    get_number(queue, QUEUE_NOWAIT, QUEUE_EMPTY);
    ck_assert_double_lt(clock_seconds() - start, 0.1 * time_scale());

    /* Capacity 1: the smallest queue alternates full and empty. */
    struct queue *one = queue_create(1, sizeof(uint64_t));
    put_number(one, 7, QUEUE_NOWAIT, QUEUE_OK);
    put_number(one, 8, QUEUE_NOWAIT, QUEUE_FULL);
    ck_assert_uint_eq(get_number(one, QUEUE_NOWAIT, QUEUE_OK), 7);
    get_number(one, QUEUE_NOWAIT, QUEUE_EMPTY);
    queue_destroy(one);
    queue_destroy(queue);
}
END_TEST

START_TEST(too_big)
{
    struct queue *queue = queue_create(2, 16);
    char big[17] = "0123456789abcdef";
    ck_assert_int_eq(queue_put(queue, big, 17, QUEUE_NOWAIT), QUEUE_TOO_BIG);
    ck_assert_uint_eq(queue_length(queue), 0);
    ck_assert_int_eq(queue_put(queue, big, 16, QUEUE_NOWAIT), QUEUE_OK);
    /* TOO_BIG is about the item, whatever the state of the queue: at once,
     * even on a full queue with a blocking call. */
    ck_assert_int_eq(queue_put(queue, big, 3, QUEUE_NOWAIT), QUEUE_OK);
    double start = clock_seconds();
    ck_assert_int_eq(queue_put(queue, big, 17, QUEUE_BLOCK), QUEUE_TOO_BIG);
    ck_assert_double_lt(clock_seconds() - start, 0.1 * time_scale());

    /* A buffer too small for the front item: TOO_BIG, and the item stays. */
    char small[15];
    size_t size = 0;
    ck_assert_int_eq(queue_get(queue, small, sizeof small, &size, QUEUE_NOWAIT),
                     QUEUE_TOO_BIG);
    ck_assert_uint_eq(queue_length(queue), 2);
    char buffer[16];
    ck_assert_int_eq(queue_get(queue, buffer, sizeof buffer, &size,
                               QUEUE_NOWAIT),
                     QUEUE_OK);
    ck_assert_uint_eq(size, 16);
    ck_assert_int_eq(memcmp(buffer, big, 16), 0);
    /* The next one (3 bytes) fits in the small buffer. */
    ck_assert_int_eq(queue_get(queue, small, 3, &size, QUEUE_NOWAIT), QUEUE_OK);
    ck_assert_uint_eq(size, 3);
    ck_assert_int_eq(memcmp(small, "012", 3), 0);
    queue_destroy(queue);
}
END_TEST

START_TEST(status_names)
{
    ck_assert_str_eq(queue_status_name(QUEUE_OK), "OK");
    ck_assert_str_eq(queue_status_name(QUEUE_FULL), "FULL");
    ck_assert_str_eq(queue_status_name(QUEUE_EMPTY), "EMPTY");
    ck_assert_str_eq(queue_status_name(QUEUE_TIMEOUT), "TIMEOUT");
    ck_assert_str_eq(queue_status_name(QUEUE_CLOSED), "CLOSED");
    ck_assert_str_eq(queue_status_name(QUEUE_TOO_BIG), "TOO_BIG");
    ck_assert_str_eq(queue_status_name((enum queue_status)42), "UNKNOWN");
}
END_TEST

/* ---- Timeouts ------------------------------------------------------------------ */

START_TEST(timeouts_honoured)
{
    struct queue *queue = queue_create(1, sizeof(uint64_t));
    double start = clock_seconds();
    get_number(queue, 0.2, QUEUE_TIMEOUT);
    double waited = clock_seconds() - start;
    ck_assert_msg(waited >= 0.15 && waited < 2.0 * time_scale(),
                  "a 0.2 s get on an empty queue returned after %.3f s",
                  waited);

    put_number(queue, 1, QUEUE_NOWAIT, QUEUE_OK);
    start = clock_seconds();
    put_number(queue, 2, 0.2, QUEUE_TIMEOUT);
    waited = clock_seconds() - start;
    ck_assert_msg(waited >= 0.15 && waited < 2.0 * time_scale(),
                  "a 0.2 s put on a full queue returned after %.3f s", waited);
    ck_assert_uint_eq(queue_length(queue), 1);

    /* A timed wait ends as soon as the other end acts, not at the end of
     * its timeout: a put in another process after 0.1 s. */
    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 1);
    struct child_job job = {.queue = queue, .value = 42, .timeout = 1.0};
    struct proc putter;
    proc_start(&putter, "putter", put_after_100ms, &job);
    start = clock_seconds();
    ck_assert_uint_eq(get_number(queue, 30.0, QUEUE_OK), 42);
    waited = clock_seconds() - start;
    ck_assert_msg(waited >= 0.05 && waited < 5.0 * time_scale(),
                  "a get woken by a put after 0.1 s returned after %.3f s",
                  waited);
    join_ok(&putter, QUEUE_OK);
    ck_assert_uint_eq(queue_waiters(queue).getters, 0);
    queue_destroy(queue);
}
END_TEST

/* Signals arrive during the wait: EINTR must neither end the wait early
 * (TIMEOUT long before the deadline), nor restart the full timeout at each
 * signal (which, with a signal every 5 ms, would never end), nor stop the
 * program. */
static atomic_int signals_caught;
static void count_signal(int signal_number)
{
    (void)signal_number;
    atomic_fetch_add(&signals_caught, 1);
}

struct pelter {
    pthread_t target;
    atomic_bool stop;
};

static void *pelt_with_signals(void *arg)
{
    struct pelter *pelter = arg;
    while (!atomic_load(&pelter->stop)) {
        pthread_kill(pelter->target, SIGUSR1);
        clock_sleep(0.005);
    }
    return NULL;
}

struct late_put {
    struct queue *queue;
    uint64_t value;
};

static void *put_after_200ms_thread(void *arg)
{
    struct late_put *late = arg;
    clock_sleep(0.2);
    queue_put(late->queue, &late->value, sizeof late->value, QUEUE_BLOCK);
    return NULL;
}

START_TEST(signals_during_a_wait)
{
    struct sigaction action = {.sa_handler = count_signal}; /* no SA_RESTART */
    sigemptyset(&action.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &action, NULL), 0);
    struct queue *queue = queue_create(1, sizeof(uint64_t));
    struct pelter pelter = {.target = pthread_self()};
    atomic_init(&pelter.stop, false);
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, pelt_with_signals, &pelter),
                     0);

    double start = clock_seconds();
    get_number(queue, 0.3, QUEUE_TIMEOUT);
    double waited = clock_seconds() - start;
    ck_assert_msg(waited >= 0.25 && waited < 2.0 * time_scale(),
                  "a 0.3 s get under signals returned after %.3f s", waited);

    /* A blocking get under signals still gets its item. */
    struct late_put late = {.queue = queue, .value = 77};
    pthread_t putter;
    ck_assert_int_eq(pthread_create(&putter, NULL, put_after_200ms_thread,
                                    &late),
                     0);
    ck_assert_uint_eq(get_number(queue, QUEUE_BLOCK, QUEUE_OK), 77);
    /* And a blocked put too (the queue is full). */
    put_number(queue, 1, QUEUE_NOWAIT, QUEUE_OK);
    start = clock_seconds();
    put_number(queue, 2, 0.3, QUEUE_TIMEOUT);
    waited = clock_seconds() - start;
    ck_assert_msg(waited >= 0.25 && waited < 2.0 * time_scale(),
                  "a 0.3 s put under signals returned after %.3f s", waited);

    atomic_store(&pelter.stop, true);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    ck_assert_int_eq(pthread_join(putter, NULL), 0);
    ck_assert_msg(atomic_load(&signals_caught) >= 20,
                  "only %d signals arrived: the test did not interrupt much",
                  atomic_load(&signals_caught));
    queue_destroy(queue);
}
END_TEST

/* ---- Close --------------------------------------------------------------------- */

START_TEST(close_semantics)
{
    struct queue *queue = queue_create(4, sizeof(uint64_t));
    put_number(queue, 1, QUEUE_NOWAIT, QUEUE_OK);
    put_number(queue, 2, QUEUE_NOWAIT, QUEUE_OK);
    queue_close(queue);
    put_number(queue, 3, QUEUE_NOWAIT, QUEUE_CLOSED);
    put_number(queue, 3, QUEUE_BLOCK, QUEUE_CLOSED); /* at once, no wait */
    ck_assert_uint_eq(queue_length(queue), 2);
    /* Gets drain what was put before the close, in order... */
    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 1);
    queue_close(queue); /* closing twice changes nothing */
    ck_assert_uint_eq(get_number(queue, QUEUE_BLOCK, QUEUE_OK), 2);
    /* ...then say CLOSED, whatever the timeout: never EMPTY, never a wait. */
    double start = clock_seconds();
    get_number(queue, QUEUE_NOWAIT, QUEUE_CLOSED);
    get_number(queue, 5.0, QUEUE_CLOSED);
    get_number(queue, QUEUE_BLOCK, QUEUE_CLOSED);
    ck_assert_double_lt(clock_seconds() - start, 0.5 * time_scale());
    queue_destroy(queue);
}
END_TEST

START_TEST(close_wakes_blocked_getters_and_putters_in_other_processes)
{
    struct queue *empty = queue_create(2, sizeof(uint64_t));
    struct queue *full = queue_create(1, sizeof(uint64_t));
    put_number(full, 5, QUEUE_NOWAIT, QUEUE_OK);
    struct child_job get_job = {.queue = empty, .timeout = QUEUE_BLOCK};
    struct child_job timed_get_job = {.queue = empty, .timeout = 60.0};
    struct child_job put_job = {.queue = full, .value = 6,
                                .timeout = QUEUE_BLOCK};
    struct proc getters[2], putters[2];
    proc_start(&getters[0], "getter", get_one, &get_job);
    proc_start(&getters[1], "timed-getter", get_one, &timed_get_job);
    proc_start(&putters[0], "putter", put_one, &put_job);
    proc_start(&putters[1], "putter", put_one, &put_job);
    ck_assert_msg(wait_for_waiters(empty, 0, 2, 2.0),
                  "the getters never slept in get()");
    ck_assert_msg(wait_for_waiters(full, 2, 0, 2.0),
                  "the putters never slept in put()");

    queue_close(empty);
    queue_close(full);
    for (int i = 0; i < 2; i++) {
        join_ok(&getters[i], QUEUE_CLOSED);
        join_ok(&putters[i], QUEUE_CLOSED);
    }
    ck_assert(wait_for_waiters(empty, 0, 0, 0));
    ck_assert(wait_for_waiters(full, 0, 0, 0));
    /* The item put before the close is still delivered. */
    ck_assert_uint_eq(get_number(full, QUEUE_NOWAIT, QUEUE_OK), 5);
    get_number(full, QUEUE_NOWAIT, QUEUE_CLOSED);
    queue_destroy(empty);
    queue_destroy(full);
}
END_TEST

/* Several sleepers, served one item (or one slot) at a time, back to back:
 * each must be woken, not only the first (a wake-up call that reached one
 * sleeper must not count as having reached them all). */
static int get_any(void *arg)
{
    const struct child_job *job = arg;
    uint64_t value;
    return (int)queue_get(job->queue, &value, sizeof value, NULL, job->timeout);
}

START_TEST(every_sleeper_is_served)
{
    enum { SLEEPERS = 3 };
    struct queue *queue = queue_create(1, sizeof(uint64_t));
    struct child_job job = {.queue = queue, .value = 50, .timeout = QUEUE_BLOCK};
    struct proc children[SLEEPERS];
    for (int i = 0; i < SLEEPERS; i++)
        proc_start(&children[i], "getter", get_any, &job);
    ck_assert(wait_for_waiters(queue, 0, SLEEPERS, 2.0));
    for (uint64_t i = 0; i < SLEEPERS; i++)
        put_number(queue, i, 5.0 * time_scale(), QUEUE_OK);
    for (int i = 0; i < SLEEPERS; i++)
        join_ok(&children[i], QUEUE_OK);

    put_number(queue, 99, QUEUE_NOWAIT, QUEUE_OK); /* full: putters sleep */
    for (int i = 0; i < SLEEPERS; i++)
        proc_start(&children[i], "putter", put_one, &job);
    ck_assert(wait_for_waiters(queue, SLEEPERS, 0, 2.0));
    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 99);
    for (int i = 0; i < SLEEPERS; i++)
        ck_assert_uint_eq(get_number(queue, 5.0 * time_scale(), QUEUE_OK), 50);
    for (int i = 0; i < SLEEPERS; i++)
        join_ok(&children[i], QUEUE_OK);
    ck_assert(wait_for_waiters(queue, 0, 0, 0));
    queue_destroy(queue);
}
END_TEST

/* ---- Waiters, and processes that die ---------------------------------------------- */

START_TEST(waiters_count_blocked_getters_and_putters)
{
    struct queue *queue = queue_create(1, sizeof(uint64_t));
    struct queue_waiters none = queue_waiters(queue);
    ck_assert_int_eq(none.putters, 0);
    ck_assert_int_eq(none.getters, 0);

    struct child_job get_job = {.queue = queue, .value = 11,
                                .timeout = QUEUE_BLOCK};
    struct proc getter;
    proc_start(&getter, "getter", get_one, &get_job);
    ck_assert_msg(wait_for_waiters(queue, 0, 1, 2.0),
                  "a getter blocked on an empty queue was not counted");
    clock_sleep(0.05);
    ck_assert(proc_is_alive(&getter)); /* still waiting, and still counted */
    ck_assert_int_eq(queue_waiters(queue).getters, 1);
    put_number(queue, 11, QUEUE_NOWAIT, QUEUE_OK);
    join_ok(&getter, QUEUE_OK);
    ck_assert(wait_for_waiters(queue, 0, 0, 0));

    put_number(queue, 12, QUEUE_NOWAIT, QUEUE_OK); /* full now */
    struct child_job put_job = {.queue = queue, .value = 13,
                                .timeout = QUEUE_BLOCK};
    struct proc putter;
    proc_start(&putter, "putter", put_one, &put_job);
    ck_assert_msg(wait_for_waiters(queue, 1, 0, 2.0),
                  "a putter blocked on a full queue was not counted");
    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 12);
    join_ok(&putter, QUEUE_OK);
    ck_assert(wait_for_waiters(queue, 0, 0, 0));
    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 13);
    queue_destroy(queue);
}
END_TEST

START_TEST(getter_killed_while_blocked)
{
    struct queue *queue = queue_create(4, sizeof(uint64_t));
    struct child_job victim_job = {.queue = queue, .timeout = QUEUE_BLOCK};
    struct child_job survivor_job = {.queue = queue, .value = 21,
                                     .timeout = QUEUE_BLOCK};
    struct proc victim, survivor;
    proc_start(&victim, "victim", get_one, &victim_job);
    ck_assert(wait_for_waiters(queue, 0, 1, 2.0));
    proc_start(&survivor, "survivor", get_one, &survivor_job);
    ck_assert(wait_for_waiters(queue, 0, 2, 2.0));

    proc_signal(&victim, SIGKILL);
    ck_assert(proc_join(&victim, 5.0 * time_scale()));
    ck_assert_int_eq(victim.exitcode, -SIGKILL);
    /* The dead one is no longer counted as waiting... */
    ck_assert_msg(wait_for_waiters(queue, 0, 1, 1.0),
                  "a getter killed in its sleep is still counted: getters=%d",
                  queue_waiters(queue).getters);
    /* ...and the survivor is still woken by a put from another process. */
    put_number(queue, 21, QUEUE_NOWAIT, QUEUE_OK);
    join_ok(&survivor, QUEUE_OK);
    ck_assert(wait_for_waiters(queue, 0, 0, 0));

    /* The queue works as before, for this process and for new children. */
    put_number(queue, 22, QUEUE_NOWAIT, QUEUE_OK);
    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 22);
    struct child_job late_job = {.queue = queue, .value = 23,
                                 .timeout = QUEUE_BLOCK};
    struct proc late;
    proc_start(&late, "late", get_one, &late_job);
    ck_assert(wait_for_waiters(queue, 0, 1, 2.0));
    put_number(queue, 23, QUEUE_NOWAIT, QUEUE_OK);
    join_ok(&late, QUEUE_OK);
    /* It never held the lock while it slept: nothing to repair. */
    ck_assert_uint_eq(queue_owner_deaths(queue), 0);
    queue_destroy(queue);
}
END_TEST

START_TEST(putter_dies_holding_the_lock)
{
    struct queue *queue = queue_create(4, sizeof(uint64_t));
    /* A getter sleeps meanwhile.  It never needs the put lock, so the
     * death must not stop it from getting later items. */
    struct child_job get_job = {.queue = queue, .value = 31,
                                .timeout = QUEUE_BLOCK};
    struct proc getter, dying;
    proc_start(&getter, "getter", get_one, &get_job);
    ck_assert(wait_for_waiters(queue, 0, 1, 2.0));

    struct child_job put_job = {.queue = queue};
    proc_start(&dying, "dying-putter", put_from_unreadable_memory, &put_job);
    ck_assert(proc_join(&dying, 5.0 * time_scale()));
    ck_assert_msg(dying.exitcode == -SIGSEGV,
                  "the putter should have died of SIGSEGV inside put(): %d",
                  dying.exitcode);

    /* Nothing half-put is visible (queue_length takes no lock). */
    ck_assert_uint_eq(queue_length(queue), 0);
    ck_assert_uint_eq(queue_owner_deaths(queue), 0);
    /* A get takes the get lock, not the dead putter's: nothing to repair,
     * and the getter still sleeps, still counted. */
    get_number(queue, QUEUE_NOWAIT, QUEUE_EMPTY);
    ck_assert_uint_eq(queue_owner_deaths(queue), 0);
    ck_assert(wait_for_waiters(queue, 0, 1, 2.0));
    /* The next putter repairs the put lock, and its item reaches the
     * getter that slept through the death. */
    put_number(queue, 31, QUEUE_NOWAIT, QUEUE_OK);
    ck_assert_uint_eq(queue_owner_deaths(queue), 1);
    join_ok(&getter, QUEUE_OK);
    /* And the lock works as before. */
    put_number(queue, 32, QUEUE_NOWAIT, QUEUE_OK);
    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 32);
    ck_assert_uint_eq(queue_owner_deaths(queue), 1);
    queue_destroy(queue);
}
END_TEST

START_TEST(getter_dies_holding_the_lock)
{
    struct queue *queue = queue_create(4, sizeof(uint64_t));
    put_number(queue, 1, QUEUE_NOWAIT, QUEUE_OK);
    put_number(queue, 2, QUEUE_NOWAIT, QUEUE_OK);
    struct child_job get_job = {.queue = queue};
    struct proc dying;
    proc_start(&dying, "dying-getter", get_into_unwritable_memory, &get_job);
    ck_assert(proc_join(&dying, 5.0 * time_scale()));
    ck_assert_msg(dying.exitcode == -SIGSEGV,
                  "the getter should have died of SIGSEGV inside get(): %d",
                  dying.exitcode);
    /* It died before its commit: the item it was reading is not lost. */
    ck_assert_uint_eq(queue_length(queue), 2);
    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 1);
    ck_assert_uint_eq(queue_owner_deaths(queue), 1);
    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 2);
    get_number(queue, QUEUE_NOWAIT, QUEUE_EMPTY);
    queue_destroy(queue);
}
END_TEST

/* The get lock's twin of putter_dies_holding_the_lock: a putter sleeps on
 * a full queue while a getter dies holding the get lock.  The putter does
 * not need that lock, so it must still be woken by the next get (which
 * repairs the lock). */
START_TEST(getter_dies_holding_the_lock_while_a_putter_sleeps)
{
    struct queue *queue = queue_create(2, sizeof(uint64_t));
    put_number(queue, 1, QUEUE_NOWAIT, QUEUE_OK);
    put_number(queue, 2, QUEUE_NOWAIT, QUEUE_OK);
    struct child_job put_job = {.queue = queue, .value = 3,
                                .timeout = 10.0 * time_scale()};
    struct proc putter, dying;
    proc_start(&putter, "putter", put_one, &put_job);
    ck_assert(wait_for_waiters(queue, 1, 0, 2.0));

    struct child_job get_job = {.queue = queue};
    proc_start(&dying, "dying-getter", get_into_unwritable_memory, &get_job);
    ck_assert(proc_join(&dying, 5.0 * time_scale()));
    ck_assert_int_eq(dying.exitcode, -SIGSEGV);
    /* Nothing was taken: still full, the putter still asleep. */
    ck_assert_uint_eq(queue_length(queue), 2);
    ck_assert(wait_for_waiters(queue, 1, 0, 2.0));
    ck_assert_uint_eq(queue_owner_deaths(queue), 0);

    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 1);
    ck_assert_uint_eq(queue_owner_deaths(queue), 1);
    join_ok(&putter, QUEUE_OK);
    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 2);
    ck_assert_uint_eq(get_number(queue, QUEUE_NOWAIT, QUEUE_OK), 3);
    get_number(queue, QUEUE_NOWAIT, QUEUE_EMPTY);
    queue_destroy(queue);
}
END_TEST

/* Processes SIGKILLed at random instants, some of them inside put() or
 * get() holding the lock: no item is ever received twice, each death loses
 * at most the one item the dead process was handling, and the queue keeps
 * working for the survivors and for new processes. */
enum { KILL_ROUNDS = 100, KILL_MAX_ITEMS = 8000000 };

struct carnage {
    struct queue *queue;
    atomic_long next_item;                  /* producers take ids from here */
    _Atomic uint8_t seen[KILL_MAX_ITEMS];   /* times each id was received */
};

static int produce_until_killed(void *arg)
{
    struct carnage *carnage = arg;
    for (;;) {
        long id = atomic_fetch_add(&carnage->next_item, 1);
        while (id >= KILL_MAX_ITEMS)
            pause(); /* out of ids: wait to be killed like the others */
        uint64_t value = (uint64_t)id;
        if (queue_put(carnage->queue, &value, sizeof value, QUEUE_BLOCK) !=
            QUEUE_OK)
            return 1;
    }
}

static int consume_until_killed(void *arg)
{
    struct carnage *carnage = arg;
    for (;;) {
        uint64_t value;
        if (queue_get(carnage->queue, &value, sizeof value, NULL,
                      QUEUE_BLOCK) != QUEUE_OK)
            return 1;
        if (value >= KILL_MAX_ITEMS)
            return 2;
        atomic_fetch_add(&carnage->seen[value], 1);
    }
}

START_TEST(processes_killed_at_random_instants)
{
    struct carnage *carnage = shared_memory(sizeof *carnage);
    carnage->queue = queue_create(4, sizeof(uint64_t));
    proc_main_fn bodies[4] = {produce_until_killed, produce_until_killed,
                              consume_until_killed, consume_until_killed};
    struct proc workers[4];
    for (int i = 0; i < 4; i++)
        proc_start(&workers[i], "worker", bodies[i], carnage);
    unsigned seed = 12345;
    int kills = 0;
    for (int round = 0; round < KILL_ROUNDS; round++) {
        clock_sleep((double)(rand_r(&seed) % 2000) / 1e6);
        int victim = rand_r(&seed) % 4;
        proc_signal(&workers[victim], SIGKILL);
        ck_assert(proc_join(&workers[victim], 5.0 * time_scale()));
        ck_assert_int_eq(workers[victim].exitcode, -SIGKILL);
        kills++;
        proc_start(&workers[victim], "worker", bodies[victim], carnage);
    }
    /* Stop the producers, let the consumers drain the queue, stop them. */
    for (int i = 0; i < 2; i++) {
        proc_signal(&workers[i], SIGKILL);
        ck_assert(proc_join(&workers[i], 5.0 * time_scale()));
        kills++;
    }
    double deadline = clock_seconds() + 5.0 * time_scale();
    while (queue_length(carnage->queue) > 0 && clock_seconds() < deadline)
        clock_sleep(0.002);
    ck_assert_uint_eq(queue_length(carnage->queue), 0);
    ck_assert_msg(wait_for_waiters(carnage->queue, 0, 2, 2.0),
                  "the two consumers did not both sleep on the empty queue");
    for (int i = 2; i < 4; i++) {
        proc_signal(&workers[i], SIGKILL);
        ck_assert(proc_join(&workers[i], 5.0 * time_scale()));
        ck_assert_int_eq(workers[i].exitcode, -SIGKILL); /* none failed */
        kills++;
    }

    long items = atomic_load(&carnage->next_item);
    if (items > KILL_MAX_ITEMS)
        items = KILL_MAX_ITEMS;
    long lost = 0, duplicated = 0;
    for (long i = 0; i < items; i++) {
        uint8_t count = atomic_load(&carnage->seen[i]);
        lost += count == 0;
        duplicated += count > 1;
    }
    ck_assert_msg(duplicated == 0, "%ld of %ld items received twice",
                  duplicated, items);
    ck_assert_msg(lost <= kills, "%ld of %ld items lost for %d deaths (%llu "
                  "inside the lock)", lost, items, kills,
                  (unsigned long long)queue_owner_deaths(carnage->queue));
    /* Everyone is dead, and counted as such; the queue still works. */
    ck_assert(wait_for_waiters(carnage->queue, 0, 0, 0));
    ck_assert_int_eq(children_left(1.0), 0);
    put_number(carnage->queue, 1, QUEUE_NOWAIT, QUEUE_OK);
    ck_assert_uint_eq(get_number(carnage->queue, QUEUE_NOWAIT, QUEUE_OK), 1);
    queue_destroy(carnage->queue);
    munmap(carnage, sizeof *carnage);
}
END_TEST

/* ---- Many producers and consumers: order, no loss, no duplicate --------------- */

/* What a producer puts: who it is, and the how-many-th of its items. */
struct tagged {
    uint32_t producer, sequence;
};

enum { MAX_PRODUCERS = 4, MAX_CONSUMERS = 4 };

struct traffic {
    struct queue *queue;
    int producers;
    uint32_t per_producer[MAX_PRODUCERS];
    uint32_t first_index[MAX_PRODUCERS]; /* where its items start in seen[] */
    /* In shared memory: how often each item was received, and by whom. */
    _Atomic uint8_t *seen;
    atomic_long *received; /* per consumer */
};

struct role_arg {
    const struct traffic *traffic;
    int index;
};

static void plan_traffic(struct traffic *traffic, int producers,
                         uint32_t total, size_t capacity)
{
    memset(traffic, 0, sizeof *traffic);
    traffic->queue = queue_create(capacity, sizeof(struct tagged));
    traffic->producers = producers;
    uint32_t first = 0;
    for (int p = 0; p < producers; p++) {
        traffic->per_producer[p] = total / (uint32_t)producers +
                                   ((uint32_t)p < total % (uint32_t)producers);
        traffic->first_index[p] = first;
        first += traffic->per_producer[p];
    }
    traffic->seen = shared_memory(total);
    traffic->received = shared_memory(MAX_CONSUMERS * sizeof(atomic_long));
}

static int produce(void *arg)
{
    const struct role_arg *self = arg;
    const struct traffic *traffic = self->traffic;
    struct tagged item = {.producer = (uint32_t)self->index};
    for (item.sequence = 0; item.sequence < traffic->per_producer[self->index];
         item.sequence++)
        if (queue_put(traffic->queue, &item, sizeof item, QUEUE_BLOCK) !=
            QUEUE_OK)
            return 1;
    return 0;
}

static const char *consumer_error(int code)
{
    switch (code) {
    case 0: return "none";
    case 2: return "get() failed or returned a wrong size";
    case 3: return "an item nobody put (a torn or stale slot)";
    case 4: return "a producer's items out of order";
    }
    return "killed, or an unknown exit code";
}

static int consume_or_fail(const struct role_arg *self);

/* Gets until CLOSED.  Exit status 0, or what it found wrong (and then it
 * closes the queue, so the producers stop instead of waiting forever). */
static int consume(void *arg)
{
    int error = consume_or_fail(arg);
    if (error != 0)
        queue_close(((const struct role_arg *)arg)->traffic->queue);
    return error;
}

static int consume_or_fail(const struct role_arg *self)
{
    const struct traffic *traffic = self->traffic;
    int64_t last[MAX_PRODUCERS];
    for (int p = 0; p < MAX_PRODUCERS; p++)
        last[p] = -1;
    for (;;) {
        struct tagged item;
        size_t size;
        enum queue_status status = queue_get(traffic->queue, &item,
                                             sizeof item, &size, QUEUE_BLOCK);
        if (status == QUEUE_CLOSED)
            return 0;
        if (status != QUEUE_OK || size != sizeof item)
            return 2;
        if (item.producer >= (uint32_t)traffic->producers ||
            item.sequence >= traffic->per_producer[item.producer])
            return 3; /* an item nobody put: a torn or stale slot */
        /* FIFO: a producer's items reach any one consumer in the order it
         * put them (each consumer sees a subsequence of that order). */
        if ((int64_t)item.sequence <= last[item.producer])
            return 4;
        last[item.producer] = item.sequence;
        atomic_fetch_add_explicit(
            &traffic->seen[traffic->first_index[item.producer] + item.sequence],
            1, memory_order_relaxed);
        atomic_fetch_add_explicit(&traffic->received[self->index], 1,
                                  memory_order_relaxed);
    }
}

static void check_traffic(const struct traffic *traffic, uint32_t total,
                          int consumers)
{
    long received = 0;
    for (int c = 0; c < consumers; c++)
        received += atomic_load(&traffic->received[c]);
    uint32_t lost = 0, duplicated = 0, first_bad = UINT32_MAX;
    for (uint32_t i = 0; i < total; i++) {
        uint8_t count = atomic_load_explicit(&traffic->seen[i],
                                             memory_order_relaxed);
        lost += count == 0;
        duplicated += count > 1;
        if (count != 1 && first_bad == UINT32_MAX)
            first_bad = i;
    }
    ck_assert_msg(lost == 0 && duplicated == 0,
                  "%u items lost, %u received more than once (first: item %u)",
                  lost, duplicated, first_bad);
    ck_assert_int_eq(received, (long)total);
    ck_assert_uint_eq(queue_length(traffic->queue), 0);
}

static void free_traffic(struct traffic *traffic, uint32_t total)
{
    munmap(traffic->seen, total);
    munmap(traffic->received, MAX_CONSUMERS * sizeof(atomic_long));
    queue_destroy(traffic->queue);
}

START_TEST(million_items_three_producer_and_three_consumer_processes)
{
    enum { PRODUCERS = 3, CONSUMERS = 3 };
    const uint32_t total = 1000000;
    struct traffic traffic;
    plan_traffic(&traffic, PRODUCERS, total, 64);
    struct role_arg producer_args[PRODUCERS], consumer_args[CONSUMERS];
    struct proc producers[PRODUCERS], consumers[CONSUMERS];
    for (int c = 0; c < CONSUMERS; c++) {
        consumer_args[c] = (struct role_arg){.traffic = &traffic, .index = c};
        proc_start(&consumers[c], "consumer", consume, &consumer_args[c]);
    }
    for (int p = 0; p < PRODUCERS; p++) {
        producer_args[p] = (struct role_arg){.traffic = &traffic, .index = p};
        proc_start(&producers[p], "producer", produce, &producer_args[p]);
    }
    for (int p = 0; p < PRODUCERS; p++)
        ck_assert(proc_join(&producers[p], 20.0 * time_scale()));
    /* Every item is in; closing lets the consumers drain and stop. */
    queue_close(traffic.queue);
    for (int c = 0; c < CONSUMERS; c++) {
        ck_assert(proc_join(&consumers[c], 20.0 * time_scale()));
        ck_assert_msg(consumers[c].exitcode == 0, "consumer %d: %s (%d)", c,
                      consumer_error(consumers[c].exitcode),
                      consumers[c].exitcode);
    }
    for (int p = 0; p < PRODUCERS; p++)
        ck_assert_int_eq(producers[p].exitcode, 0);
    check_traffic(&traffic, total, CONSUMERS);
    ck_assert_uint_eq(queue_owner_deaths(traffic.queue), 0);
    free_traffic(&traffic, total);
}
END_TEST

/* Several putter and several getter processes at once: with two locks, a
 * putter and a getter run concurrently, each trusting its copy of the
 * other's index.  Every item must arrive exactly once (a count and a sum),
 * at the capacities where the queue turns full and empty all the time
 * (1: every put waits for a get) and where it rarely does.  A lost
 * wake-up shows as a get or put that times out. */
struct exactly_once {
    struct queue *queue;
    uint64_t per_producer;
    atomic_ullong count, sum; /* of the items got */
};

struct exactly_once_role {
    struct exactly_once *shared;
    uint64_t first; /* a producer puts first, first + 1, ... */
};

static int put_numbers(void *arg)
{
    const struct exactly_once_role *self = arg;
    for (uint64_t i = 0; i < self->shared->per_producer; i++) {
        uint64_t value = self->first + i;
        if (queue_put(self->shared->queue, &value, sizeof value,
                      10.0 * time_scale()) != QUEUE_OK)
            return 1;
    }
    return 0;
}

static int get_numbers(void *arg)
{
    struct exactly_once *shared = ((const struct exactly_once_role *)arg)->shared;
    for (;;) {
        uint64_t value;
        size_t size;
        enum queue_status status = queue_get(shared->queue, &value,
                                             sizeof value, &size,
                                             10.0 * time_scale());
        if (status == QUEUE_CLOSED)
            return 0;
        if (status != QUEUE_OK || size != sizeof value)
            return 2;
        atomic_fetch_add(&shared->count, 1);
        atomic_fetch_add(&shared->sum, value);
    }
}

START_TEST(many_putter_and_getter_processes_each_item_once)
{
    enum { PUTTERS = 3, GETTERS = 3 };
    const uint64_t per_producer = 33334, total = PUTTERS * per_producer;
    const size_t capacities[] = {1, 4, 256};
    struct exactly_once *shared = shared_memory(sizeof *shared);
    for (size_t c = 0; c < sizeof capacities / sizeof *capacities; c++) {
        shared->queue = queue_create(capacities[c], sizeof(uint64_t));
        shared->per_producer = per_producer;
        atomic_store(&shared->count, 0);
        atomic_store(&shared->sum, 0);
        struct exactly_once_role roles[PUTTERS];
        struct proc putters[PUTTERS], getters[GETTERS];
        for (int p = 0; p < PUTTERS; p++)
            roles[p] = (struct exactly_once_role){
                .shared = shared, .first = 1 + (uint64_t)p * per_producer};
        for (int g = 0; g < GETTERS; g++)
            proc_start(&getters[g], "getter", get_numbers, &roles[0]);
        for (int p = 0; p < PUTTERS; p++)
            proc_start(&putters[p], "putter", put_numbers, &roles[p]);
        for (int p = 0; p < PUTTERS; p++)
            join_ok(&putters[p], 0);
        queue_close(shared->queue);
        for (int g = 0; g < GETTERS; g++)
            join_ok(&getters[g], 0);
        /* Items 1 ... total: total (total + 1) / 2. */
        ck_assert_msg(atomic_load(&shared->count) == total,
                      "capacity %zu: %llu items got of %llu put", capacities[c],
                      (unsigned long long)atomic_load(&shared->count),
                      (unsigned long long)total);
        ck_assert_msg(atomic_load(&shared->sum) == total * (total + 1) / 2,
                      "capacity %zu: the items got are not the items put",
                      capacities[c]);
        ck_assert_uint_eq(queue_length(shared->queue), 0);
        ck_assert_uint_eq(queue_owner_deaths(shared->queue), 0);
        queue_destroy(shared->queue);
    }
    munmap(shared, sizeof *shared);
}
END_TEST

/* close() racing with puts and gets in other processes: every item a put
 * returned OK for must still be got, by getters that were getting while
 * the close happened (a getter that saw "empty, closed" without looking
 * at tail again would return CLOSED with items left behind; a put that
 * committed after the close would leave one nobody gets). */
struct close_race {
    struct queue *queue;
    atomic_ullong put_count, put_sum, got_count, got_sum;
};

struct close_race_role {
    struct close_race *shared;
    uint64_t first;
};

static int put_until_closed(void *arg)
{
    const struct close_race_role *self = arg;
    for (uint64_t value = self->first;; value++) {
        enum queue_status status = queue_put(self->shared->queue, &value,
                                             sizeof value, 10.0 * time_scale());
        if (status == QUEUE_CLOSED)
            return 0;
        if (status != QUEUE_OK)
            return 1;
        atomic_fetch_add(&self->shared->put_count, 1);
        atomic_fetch_add(&self->shared->put_sum, value);
    }
}

static int get_until_closed(void *arg)
{
    struct close_race *shared = ((const struct close_race_role *)arg)->shared;
    for (;;) {
        uint64_t value;
        enum queue_status status = queue_get(shared->queue, &value,
                                             sizeof value, NULL,
                                             10.0 * time_scale());
        if (status == QUEUE_CLOSED)
            return 0;
        if (status != QUEUE_OK)
            return 2;
        atomic_fetch_add(&shared->got_count, 1);
        atomic_fetch_add(&shared->got_sum, value);
    }
}

START_TEST(close_racing_with_puts_loses_no_item)
{
    enum { ROUNDS = 20, PUTTERS = 2, GETTERS = 2 };
    struct close_race *shared = shared_memory(sizeof *shared);
    unsigned seed = 2024;
    for (int round = 0; round < ROUNDS; round++) {
        shared->queue = queue_create(round % 2 == 0 ? 4 : 64,
                                     sizeof(uint64_t));
        atomic_store(&shared->put_count, 0);
        atomic_store(&shared->put_sum, 0);
        atomic_store(&shared->got_count, 0);
        atomic_store(&shared->got_sum, 0);
        struct close_race_role roles[PUTTERS];
        struct proc putters[PUTTERS], getters[GETTERS];
        for (int p = 0; p < PUTTERS; p++) {
            roles[p] = (struct close_race_role){
                .shared = shared, .first = (uint64_t)(p + 1) << 40};
            proc_start(&putters[p], "putter", put_until_closed, &roles[p]);
        }
        for (int g = 0; g < GETTERS; g++)
            proc_start(&getters[g], "getter", get_until_closed, &roles[0]);
        clock_sleep((double)(rand_r(&seed) % 3000) / 1e6);
        queue_close(shared->queue);
        for (int p = 0; p < PUTTERS; p++)
            join_ok(&putters[p], 0);
        for (int g = 0; g < GETTERS; g++)
            join_ok(&getters[g], 0);
        ck_assert_msg(atomic_load(&shared->got_count) ==
                          atomic_load(&shared->put_count),
                      "round %d: %llu items put OK, %llu got", round,
                      (unsigned long long)atomic_load(&shared->put_count),
                      (unsigned long long)atomic_load(&shared->got_count));
        ck_assert_uint_eq(atomic_load(&shared->got_sum),
                          atomic_load(&shared->put_sum));
        ck_assert_uint_eq(queue_length(shared->queue), 0);
        queue_destroy(shared->queue);
    }
    munmap(shared, sizeof *shared);
}
END_TEST

/* The same contract between threads of one process (and, under TSan, a
 * check that every byte handed over is ordered by the queue's lock). */
struct thread_role {
    struct role_arg arg;
    int status;
};

static void *produce_thread(void *arg)
{
    struct thread_role *role = arg;
    role->status = produce(&role->arg);
    return NULL;
}

static void *consume_thread(void *arg)
{
    struct thread_role *role = arg;
    role->status = consume(&role->arg);
    return NULL;
}

START_TEST(producer_and_consumer_threads)
{
    enum { PRODUCERS = 2, CONSUMERS = 2 };
    const uint32_t total = 200000;
    struct traffic traffic;
    plan_traffic(&traffic, PRODUCERS, total, 16);
    struct thread_role producers[PRODUCERS], consumers[CONSUMERS];
    pthread_t producer_threads[PRODUCERS], consumer_threads[CONSUMERS];
    for (int c = 0; c < CONSUMERS; c++) {
        consumers[c] = (struct thread_role){{&traffic, c}, -1};
        ck_assert_int_eq(pthread_create(&consumer_threads[c], NULL,
                                        consume_thread, &consumers[c]),
                         0);
    }
    for (int p = 0; p < PRODUCERS; p++) {
        producers[p] = (struct thread_role){{&traffic, p}, -1};
        ck_assert_int_eq(pthread_create(&producer_threads[p], NULL,
                                        produce_thread, &producers[p]),
                         0);
    }
    for (int p = 0; p < PRODUCERS; p++)
        ck_assert_int_eq(pthread_join(producer_threads[p], NULL), 0);
    queue_close(traffic.queue);
    for (int c = 0; c < CONSUMERS; c++) {
        ck_assert_int_eq(pthread_join(consumer_threads[c], NULL), 0);
        ck_assert_msg(consumers[c].status == 0, "consumer %d: %s (%d)", c,
                      consumer_error(consumers[c].status), consumers[c].status);
    }
    for (int p = 0; p < PRODUCERS; p++)
        ck_assert_int_eq(producers[p].status, 0);
    check_traffic(&traffic, total, CONSUMERS);
    free_traffic(&traffic, total);
}
END_TEST

Suite *queue_suite(void)
{
    Suite *suite = suite_create("queue");

    TCase *basics = tcase_create("queue_basics");
    tcase_add_checked_fixture(basics, default_signals, NULL);
    tcase_set_timeout(basics, 10);
    tcase_add_test(basics, fifo_order_and_lengths);
    tcase_add_test(basics, nowait_full_and_empty);
    tcase_add_test(basics, too_big);
    tcase_add_test(basics, status_names);
    tcase_add_test(basics, timeouts_honoured);
    tcase_add_test(basics, signals_during_a_wait);
    tcase_add_test(basics, close_semantics);
    tcase_add_test(basics,
                   close_wakes_blocked_getters_and_putters_in_other_processes);
    suite_add_tcase(suite, basics);

    TCase *deaths = tcase_create("queue_waiters_and_deaths");
    tcase_add_checked_fixture(deaths, default_signals, NULL);
    tcase_set_timeout(deaths, 10);
    tcase_add_test(deaths, waiters_count_blocked_getters_and_putters);
    tcase_add_test(deaths, every_sleeper_is_served);
    tcase_add_test(deaths, getter_killed_while_blocked);
    tcase_add_test(deaths, putter_dies_holding_the_lock);
    tcase_add_test(deaths, getter_dies_holding_the_lock);
    tcase_add_test(deaths, getter_dies_holding_the_lock_while_a_putter_sleeps);
    tcase_add_test(deaths, processes_killed_at_random_instants);
    suite_add_tcase(suite, deaths);

    TCase *traffic = tcase_create("queue_traffic");
    tcase_add_checked_fixture(traffic, default_signals, NULL);
    tcase_set_timeout(traffic, 30);
    tcase_add_test(traffic,
                   million_items_three_producer_and_three_consumer_processes);
    tcase_add_test(traffic, producer_and_consumer_threads);
    tcase_add_test(traffic, many_putter_and_getter_processes_each_item_once);
    tcase_add_test(traffic, close_racing_with_puts_loses_no_item);
    suite_add_tcase(suite, traffic);
    return suite;
}
