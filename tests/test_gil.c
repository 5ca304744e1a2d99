/* test_gil.c: the emulated interpreter lock (common/gil.h).
 *
 * A thread "holds" the GIL from gil_acquire to gil_release, except inside
 * gil_checkpoint, where it may hand the GIL over and take it back.  So the
 * work between two checkpoints is the unit that must never overlap another
 * thread's: the tests bracket exactly that with an atomic "inside" counter.
 */
#include "harness.h"

#include "gil.h"
#include "timing.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

static void spin(int iterations)
{
    for (volatile int i = 0; i < iterations; i++)
        ;
}

static void start_threads(pthread_t *threads, int count, void *(*fn)(void *),
                          void *args, size_t arg_size)
{
    for (int i = 0; i < count; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, fn,
                                        (char *)args + (size_t)i * arg_size),
                         0);
}

static void join_threads(pthread_t *threads, int count)
{
    for (int i = 0; i < count; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
}

/* ---- Mutual exclusion --------------------------------------------------------- */

enum { HOLDERS = 4 };

struct exclusion {
    struct gil gil;
    double deadline;
    atomic_int inside;
    atomic_int max_inside;
};

struct holder {
    struct exclusion *shared;
    long rounds;
    long handed_over;  /* checkpoints where another thread took the GIL */
    long took_back;    /* checkpoints that yielded and took it straight back */
};

/* What one checkpoint did, seen through the acquisition counter: +0, it
 * did not yield; +1, it yielded and this thread took the GIL straight back
 * (what forced switching forbids while a waiter asked); +2 or more, another
 * thread took it in between.  (The other thread's count is added before it
 * lets go, so it is always visible by the time this one is back.) */
static void checkpoint_and_classify(struct holder *self)
{
    struct gil *gil = &self->shared->gil;
    uint64_t before = gil_counters(gil).acquisitions;
    gil_checkpoint(gil);
    uint64_t delta = gil_counters(gil).acquisitions - before;
    if (delta == 1)
        self->took_back++;
    else if (delta >= 2)
        self->handed_over++;
}

static void note_inside(struct exclusion *shared, int value)
{
    int seen = atomic_load(&shared->max_inside);
    while (value > seen &&
           !atomic_compare_exchange_weak(&shared->max_inside, &seen, value))
        ;
}

static void *holder_thread(void *arg)
{
    struct holder *self = arg;
    struct exclusion *shared = self->shared;
    gil_acquire(&shared->gil);
    do {
        /* Held from here to the checkpoint: nobody else may be inside. */
        note_inside(shared, atomic_fetch_add(&shared->inside, 1) + 1);
        spin(2000);
        note_inside(shared, atomic_load(&shared->inside));
        atomic_fetch_sub(&shared->inside, 1);
        self->rounds++;
        checkpoint_and_classify(self);
    } while (clock_seconds() < shared->deadline);
    gil_release(&shared->gil);
    return NULL;
}

START_TEST(at_most_one_holder)
{
    static struct exclusion shared;
    gil_init(&shared.gil, 0.001);
    atomic_init(&shared.inside, 0);
    atomic_init(&shared.max_inside, 0);
    shared.deadline = clock_seconds() + 0.2;
    struct holder holders[HOLDERS];
    pthread_t threads[HOLDERS];
    for (int i = 0; i < HOLDERS; i++)
        holders[i] = (struct holder){.shared = &shared};
    start_threads(threads, HOLDERS, holder_thread, holders, sizeof holders[0]);
    join_threads(threads, HOLDERS);

    ck_assert_int_eq(atomic_load(&shared.max_inside), 1);
    ck_assert_int_eq(atomic_load(&shared.inside), 0);
    struct gil_counters counters = gil_counters(&shared.gil);
    /* The test exercised hand-overs, not four turns in a row. */
    ck_assert_msg(counters.acquisitions > HOLDERS && counters.forced_switches > 0,
                  "%llu acquisitions, %llu forced switches",
                  (unsigned long long)counters.acquisitions,
                  (unsigned long long)counters.forced_switches);
    for (int i = 0; i < HOLDERS; i++) {
        ck_assert_int_gt(holders[i].rounds, 0);
        ck_assert_int_eq(holders[i].took_back, 0);
    }
    gil_destroy(&shared.gil);
}
END_TEST

/* ---- Forced switching ------------------------------------------------------------ */

START_TEST(forced_switches_between_two_competitors)
{
    static struct exclusion shared;
    gil_init(&shared.gil, 0.001);
    atomic_init(&shared.inside, 0);
    atomic_init(&shared.max_inside, 0);
    shared.deadline = clock_seconds() + 0.15;
    struct holder holders[2] = {{.shared = &shared}, {.shared = &shared}};
    pthread_t threads[2];
    start_threads(threads, 2, holder_thread, holders, sizeof holders[0]);
    join_threads(threads, 2);

    struct gil_counters counters = gil_counters(&shared.gil);
    ck_assert_msg(counters.forced_switches > 0,
                  "two threads competed for 150 ms with a 1 ms interval and "
                  "no switch was forced");
    ck_assert_uint_gt(counters.acquisitions, 2);
    /* Every forced switch is followed by the waiter's acquisition (the
     * releaser waits for it), and the first acquisition follows none.  Not
     * 2 + switches: a thread's last release, at the deadline, may be a
     * forced one that nobody hands back (seen once under TSan: 13
     * acquisitions, 12 forced switches). */
    ck_assert_uint_ge(counters.acquisitions, 1 + counters.forced_switches);
    /* Forced switching: a yield on request always let the other thread in
     * first; the yielder never won the race to take the GIL right back. */
    for (int i = 0; i < 2; i++)
        ck_assert_msg(holders[i].took_back == 0,
                      "thread %d yielded and took the GIL straight back %ld "
                      "times (handed over %ld times)",
                      i, holders[i].took_back, holders[i].handed_over);
    ck_assert_int_gt(holders[0].handed_over + holders[1].handed_over, 0);
    ck_assert_int_eq(atomic_load(&shared.max_inside), 1);
    gil_destroy(&shared.gil);
}
END_TEST

/* ---- No starvation ------------------------------------------------------------------ */

struct starvation {
    struct gil gil;
    atomic_bool a_holds, b_got;
    double a_limit;        /* how long A spins at most */
    double a_spun;         /* how long it did */
    double b_waited;
};

static void *greedy_thread(void *arg)
{
    struct starvation *s = arg;
    gil_acquire(&s->gil);
    atomic_store(&s->a_holds, true);
    double start = clock_seconds();
    /* Spin with checkpoints, never releasing by itself, until B got the
     * GIL at least once (or the limit: then B starved). */
    while (!atomic_load(&s->b_got) && clock_seconds() - start < s->a_limit) {
        spin(1000);
        gil_checkpoint(&s->gil);
    }
    s->a_spun = clock_seconds() - start;
    gil_release(&s->gil);
    return NULL;
}

static void *waiting_thread(void *arg)
{
    struct starvation *s = arg;
    while (!atomic_load(&s->a_holds))
        clock_sleep(0.0005);
    double start = clock_seconds();
    gil_acquire(&s->gil);
    s->b_waited = clock_seconds() - start;
    atomic_store(&s->b_got, true);
    gil_release(&s->gil);
    return NULL;
}

START_TEST(no_starvation)
{
    static struct starvation s;
    gil_init(&s.gil, 0.001);
    atomic_init(&s.a_holds, false);
    atomic_init(&s.b_got, false);
    s.a_limit = 2.5 * time_scale();
    pthread_t a, b;
    ck_assert_int_eq(pthread_create(&a, NULL, greedy_thread, &s), 0);
    ck_assert_int_eq(pthread_create(&b, NULL, waiting_thread, &s), 0);
    ck_assert_int_eq(pthread_join(b, NULL), 0);
    ck_assert_int_eq(pthread_join(a, NULL), 0);

    ck_assert_msg(s.b_waited < 0.5 * time_scale(),
                  "B waited %.3f s for a GIL held by a thread that polls "
                  "every few microseconds (interval 1 ms)",
                  s.b_waited);
    ck_assert_double_lt(s.a_spun, s.a_limit);
    ck_assert_uint_ge(gil_counters(&s.gil).forced_switches, 1);
    gil_destroy(&s.gil);
}
END_TEST

/* Five competitors, as in the lab's default: every one of them must get its
 * first turn early, not only when the others have finished.  Each thread
 * works for `work` seconds in all; without drop requests the last one
 * would wait about 4 x work before its first turn. */
struct crowd {
    struct gil gil;
    double start, work;
    double first_turn[5];
};

static struct crowd crowd;

static void *crowd_member(void *arg)
{
    int self = (int)(intptr_t)arg;
    gil_acquire(&crowd.gil);
    crowd.first_turn[self] = clock_seconds() - crowd.start;
    double held = 0;
    while (held < crowd.work) { /* counts only time spent holding the GIL */
        double t = clock_seconds();
        spin(1000);
        held += clock_seconds() - t;
        gil_checkpoint(&crowd.gil);
    }
    gil_release(&crowd.gil);
    return NULL;
}

START_TEST(five_threads_all_get_an_early_turn)
{
    gil_init(&crowd.gil, 0.001);
    crowd.work = 0.3 * time_scale();
    crowd.start = clock_seconds();
    pthread_t threads[5];
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, crowd_member,
                                        (void *)(intptr_t)i), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(crowd.first_turn[i] < crowd.work / 2,
                      "thread %d first held the GIL after %.3f s; the others "
                      "work %.3f s each (interval 1 ms)",
                      i, crowd.first_turn[i], crowd.work);
    ck_assert_uint_ge(gil_counters(&crowd.gil).forced_switches, 4);
    gil_destroy(&crowd.gil);
}
END_TEST

/* ---- Counters ------------------------------------------------------------------------- */

START_TEST(single_thread_never_asked_to_drop)
{
    struct gil gil;
    gil_init(&gil, 0.001);
    for (int round = 0; round < 10; round++) {
        gil_acquire(&gil);
        double until = clock_seconds() + 0.005; /* 5 intervals */
        while (clock_seconds() < until) {
            spin(1000);
            gil_checkpoint(&gil);
        }
        gil_release(&gil);
    }
    struct gil_counters counters = gil_counters(&gil);
    ck_assert_uint_eq(counters.forced_switches, 0);
    /* No checkpoint yielded: exactly the 10 explicit acquisitions. */
    ck_assert_uint_eq(counters.acquisitions, 10);
    ck_assert(!atomic_load(&gil.drop_request));
    gil_destroy(&gil);
}
END_TEST

enum { COUNTERS_THREADS = 4, COUNTERS_ROUNDS = 500 };

struct counted {
    struct gil *gil;
    long *shared; /* a plain variable: the GIL is its only protection */
};

static void *acquire_release_thread(void *arg)
{
    struct counted *c = arg;
    for (int i = 0; i < COUNTERS_ROUNDS; i++) {
        gil_acquire(c->gil);
        long value = *c->shared;
        spin(50);
        *c->shared = value + 1;
        gil_release(c->gil);
    }
    return NULL;
}

START_TEST(counters_count_every_acquisition)
{
    struct gil gil;
    gil_init(&gil, 0.0001);
    long shared = 0;
    struct counted args[COUNTERS_THREADS];
    pthread_t threads[COUNTERS_THREADS];
    for (int i = 0; i < COUNTERS_THREADS; i++)
        args[i] = (struct counted){.gil = &gil, .shared = &shared};
    start_threads(threads, COUNTERS_THREADS, acquire_release_thread, args,
                  sizeof args[0]);
    join_threads(threads, COUNTERS_THREADS);
    struct gil_counters counters = gil_counters(&gil);
    ck_assert_int_eq(shared, COUNTERS_THREADS * COUNTERS_ROUNDS);
    ck_assert_uint_eq(counters.acquisitions, COUNTERS_THREADS * COUNTERS_ROUNDS);
    /* Nobody called a checkpoint, but a release hands over by force when a
     * waiter has already waited a whole interval (CPython's drop_gil does
     * the same), which a slow machine can make happen here.  Each forced
     * switch is one hand-over to another acquisition, so there cannot be
     * more of them than acquisitions after the first. */
    ck_assert_uint_lt(counters.forced_switches, counters.acquisitions);
    ck_assert_double_ge(counters.wait_seconds, 0);
    gil_destroy(&gil);
}
END_TEST

struct waiter {
    struct gil *gil;
    atomic_bool started, got;
    double waited;
};

static void *timed_waiter(void *arg)
{
    struct waiter *w = arg;
    atomic_store(&w->started, true);
    double start = clock_seconds();
    gil_acquire(w->gil);
    w->waited = clock_seconds() - start;
    atomic_store(&w->got, true);
    gil_release(w->gil);
    return NULL;
}

START_TEST(waiting_is_counted_and_requests_a_drop)
{
    struct gil gil;
    gil_init(&gil, 0.001);
    gil_acquire(&gil);
    double before = gil_counters(&gil).wait_seconds;
    ck_assert_double_lt(before, 0.1); /* nobody held it */

    struct waiter w = {.gil = &gil};
    atomic_init(&w.started, false);
    atomic_init(&w.got, false);
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, timed_waiter, &w), 0);
    while (!atomic_load(&w.started))
        clock_sleep(0.0005);
    /* Hold it through many intervals without a checkpoint, as around a
     * blocking call: the waiter asks for it, and keeps waiting. */
    clock_sleep(0.15);
    ck_assert(!atomic_load(&w.got));
    ck_assert_msg(atomic_load(&gil.drop_request),
                  "a waiter past its interval did not request a drop");
    gil_release(&gil);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);

    ck_assert(!atomic_load(&gil.drop_request)); /* answered by the hand-over */
    struct gil_counters counters = gil_counters(&gil);
    /* Bounds below the 0.15 s held: the waiter may be descheduled between
     * announcing itself and reading the clock. */
    ck_assert_double_ge(w.waited, 0.1);
    ck_assert_msg(counters.wait_seconds >= before + 0.1,
                  "wait_seconds %.3f after a wait of %.3f s",
                  counters.wait_seconds, w.waited);
    ck_assert_double_le(counters.wait_seconds, before + w.waited + 0.05);
    ck_assert_uint_eq(counters.acquisitions, 2);
    gil_destroy(&gil);
}
END_TEST

START_TEST(release_wakes_waiter_before_interval)
{
    /* A long interval: no drop request can happen, so the waiter gets the
     * GIL exactly when the holder lets it go, and not sooner. */
    struct gil gil;
    gil_init(&gil, 5.0);
    gil_acquire(&gil);
    struct waiter w = {.gil = &gil};
    atomic_init(&w.started, false);
    atomic_init(&w.got, false);
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, timed_waiter, &w), 0);
    while (!atomic_load(&w.started))
        clock_sleep(0.0005);
    double until = clock_seconds() + 0.1;
    while (clock_seconds() < until) {
        spin(1000);
        gil_checkpoint(&gil); /* no request: never yields */
    }
    ck_assert(!atomic_load(&w.got));
    gil_release(&gil);
    ck_assert_int_eq(pthread_join(thread, NULL), 0);
    ck_assert_double_ge(w.waited, 0.05);
    ck_assert_msg(w.waited < 1.0 * time_scale(),
                  "the waiter was not woken by the release (waited %.3f s "
                  "with a 5 s interval)", w.waited);
    struct gil_counters counters = gil_counters(&gil);
    ck_assert_uint_eq(counters.forced_switches, 0);
    ck_assert_uint_eq(counters.acquisitions, 2);
    gil_destroy(&gil);
}
END_TEST

Suite *gil_suite(void)
{
    Suite *suite = suite_create("gil");
    TCase *exclusion = tcase_create("gil_exclusion");
    tcase_set_timeout(exclusion, 6);
    tcase_add_test(exclusion, at_most_one_holder);
    tcase_add_test(exclusion, forced_switches_between_two_competitors);
    tcase_add_test(exclusion, no_starvation);
    tcase_add_test(exclusion, five_threads_all_get_an_early_turn);
    suite_add_tcase(suite, exclusion);

    TCase *counters = tcase_create("gil_counters");
    tcase_set_timeout(counters, 6);
    tcase_add_test(counters, single_thread_never_asked_to_drop);
    tcase_add_test(counters, counters_count_every_acquisition);
    tcase_add_test(counters, waiting_is_counted_and_requests_a_drop);
    tcase_add_test(counters, release_wakes_waiter_before_interval);
    suite_add_tcase(suite, counters);
    return suite;
}
