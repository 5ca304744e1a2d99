/* test_workers.c: one kernel run serially, as threads, as processes
 * (common/workers.h).
 *
 * The kernel records what it saw (its index, pid, thread id, name, times) in
 * a shared anonymous mapping passed as the run's input, so a child process's
 * observations reach the test just like a thread's.
 */
#define _GNU_SOURCE
#include "harness.h"

#include "gil.h"
#include "log.h"
#include "proc.h"
#include "timing.h"
#include "workers.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { CAPACITY = 64 };

struct observed {
    atomic_int calls;
    pid_t pid, tid;
    char name[16];
    double started, finished;
};

enum behaviour { SUCCEED, FAIL_ODD, DIE_SECOND };

struct input {
    struct observed *seen; /* CAPACITY records, MAP_SHARED */
    enum behaviour behaviour;
    double sleep;
};

static struct input make_input(enum behaviour behaviour, double sleep)
{
    struct observed *seen = mmap(NULL, CAPACITY * sizeof *seen,
                                 PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(seen, MAP_FAILED);
    return (struct input){.seen = seen, .behaviour = behaviour,
                          .sleep = sleep};
}

static void free_input(struct input *input)
{
    munmap(input->seen, CAPACITY * sizeof *input->seen);
}

static int recording_kernel(struct worker *self)
{
    const struct input *input = self->input;
    if (self->index < 0 || self->index >= CAPACITY)
        return 99;
    struct observed *seen = &input->seen[self->index];
    atomic_fetch_add(&seen->calls, 1);
    seen->pid = getpid();
    seen->tid = log_thread_id();
    snprintf(seen->name, sizeof seen->name, "%s", log_name());
    seen->started = clock_seconds();
    clock_sleep(input->sleep);
    worker_checkpoint(self); /* a no-op without a GIL */
    seen->finished = clock_seconds();
    self->result = 1000 * (uint64_t)self->index + 7;
    if (input->behaviour == FAIL_ODD && self->index % 2 == 1)
        return 3;
    if (input->behaviour == DIE_SECOND && self->index == 1)
        raise(SIGKILL);
    return 0;
}

static const enum run_mode modes[] = {RUN_SERIAL, RUN_THREADS, RUN_PROCESSES};

/* ---- Every worker once, with the right identity ------------------------------ */

START_TEST(each_index_exactly_once)
{
    enum run_mode mode = modes[_i];
    enum { COUNT = 6 };
    const double sleep = 0.02;
    struct input input = make_input(SUCCEED, sleep);
    pid_t me = getpid(), my_tid = log_thread_id();
    char my_name[16];
    snprintf(my_name, sizeof my_name, "%s", log_name());

    struct worker_run run = workers_run(mode, COUNT, recording_kernel, &input,
                                        NULL);
    ck_assert_int_eq(run.mode, mode);
    ck_assert_int_eq(run.count, COUNT);
    ck_assert_ptr_nonnull(run.workers);
    ck_assert_int_eq(run.failed, 0);

    double longest = 0, total = 0;
    for (int i = 0; i < COUNT; i++) {
        const struct worker *w = &run.workers[i];
        const struct observed *seen = &input.seen[i];
        char name[24];
        snprintf(name, sizeof name, "worker-%d", i);
        ck_assert_int_eq(w->index, i);
        ck_assert_str_eq(w->name, name);
        ck_assert_ptr_eq(w->input, &input);
        ck_assert_ptr_null(w->gil);
        ck_assert_int_eq(atomic_load(&seen->calls), 1);
        ck_assert_int_eq(w->status, 0);
        ck_assert_uint_eq(w->result, 1000 * (uint64_t)i + 7);
        /* The runner's record of who ran it matches the kernel's own. */
        ck_assert_int_eq(w->pid, seen->pid);
        ck_assert_int_eq(w->tid, seen->tid);
        /* The runner's times bracket the kernel's. */
        ck_assert_double_le(w->started, seen->started);
        ck_assert_double_le(seen->finished, w->finished);
        ck_assert_double_ge(w->finished - w->started, sleep - 1e-6);
        if (w->finished - w->started > longest)
            longest = w->finished - w->started;
        total += w->finished - w->started;

        switch (mode) {
        case RUN_SERIAL:
            ck_assert_int_eq(w->pid, me);
            ck_assert_int_eq(w->tid, my_tid);
            ck_assert_str_eq(seen->name, my_name);
            /* One after another, in index order. */
            if (i > 0)
                ck_assert_double_le(run.workers[i - 1].finished, w->started);
            break;
        case RUN_THREADS:
            ck_assert_int_eq(w->pid, me);
            ck_assert_int_ne(w->tid, my_tid);
            ck_assert_str_eq(seen->name, name); /* the thread's log name */
            for (int j = 0; j < i; j++)
                ck_assert_int_ne(w->tid, run.workers[j].tid);
            break;
        case RUN_PROCESSES:
            ck_assert_int_ne(w->pid, me);
            ck_assert_int_eq(w->tid, w->pid); /* the child's main thread */
            ck_assert_str_eq(seen->name, name); /* the process's name */
            for (int j = 0; j < i; j++)
                ck_assert_int_ne(w->pid, run.workers[j].pid);
            break;
        }
    }
    /* Nothing ran with an index outside 0..count-1. */
    for (int i = COUNT; i < CAPACITY; i++)
        ck_assert_int_eq(atomic_load(&input.seen[i].calls), 0);
    /* The run lasts at least as long as its kernels (all of them in a row,
     * serially). */
    ck_assert_double_ge(run.seconds, longest);
    if (mode == RUN_SERIAL)
        ck_assert_double_ge(run.seconds, total - 1e-6);
    /* Processes were joined: none is registered or left unreaped. */
    ck_assert_int_eq(proc_active_count(), 0);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);

    worker_run_release(&run);
    ck_assert_ptr_null(run.workers);
    worker_run_release(&run); /* twice is harmless */
    free_input(&input);
}
END_TEST

START_TEST(single_worker)
{
    enum run_mode mode = modes[_i];
    struct input input = make_input(SUCCEED, 0);
    struct worker_run run = workers_run(mode, 1, recording_kernel, &input,
                                        NULL);
    ck_assert_int_eq(run.failed, 0);
    ck_assert_int_eq(run.workers[0].index, 0);
    ck_assert_uint_eq(run.workers[0].result, 7);
    ck_assert_int_eq(atomic_load(&input.seen[0].calls), 1);
    ck_assert_double_ge(run.seconds, 0);
    worker_run_release(&run);
    free_input(&input);
}
END_TEST

/* ---- Failures -------------------------------------------------------------------- */

START_TEST(nonzero_status_counted)
{
    enum run_mode mode = modes[_i];
    struct input input = make_input(FAIL_ODD, 0);
    struct worker_run run = workers_run(mode, 5, recording_kernel, &input,
                                        NULL);
    ck_assert_int_eq(run.failed, 2);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(run.workers[i].status, i % 2 == 1 ? 3 : 0);
        /* A failing kernel's result still arrives. */
        ck_assert_uint_eq(run.workers[i].result, 1000 * (uint64_t)i + 7);
        ck_assert_int_eq(atomic_load(&input.seen[i].calls), 1);
    }
    worker_run_release(&run);
    free_input(&input);
}
END_TEST

START_TEST(process_killed_by_signal)
{
    struct input input = make_input(DIE_SECOND, 0);
    struct worker_run run = workers_run(RUN_PROCESSES, 4, recording_kernel,
                                        &input, NULL);
    ck_assert_int_eq(run.failed, 1);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(run.workers[i].status, i == 1 ? -SIGKILL : 0);
        ck_assert_int_eq(atomic_load(&input.seen[i].calls), 1);
    }
    ck_assert_int_eq(proc_active_count(), 0);
    worker_run_release(&run);
    free_input(&input);
}
END_TEST

/* ---- Under the GIL ------------------------------------------------------------------ */

struct gil_input {
    atomic_int inside, max_inside;
    atomic_int rounds[8];
    double hold_for; /* seconds of work per kernel, measured while held */
};

static int gil_kernel(struct worker *self)
{
    struct gil_input *input = (struct gil_input *)self->input;
    double worked = 0;
    while (worked < input->hold_for) {
        double start = clock_seconds();
        int now = atomic_fetch_add(&input->inside, 1) + 1;
        for (volatile int i = 0; i < 2000; i++)
            ;
        int later = atomic_load(&input->inside);
        if (later > now)
            now = later;
        atomic_fetch_sub(&input->inside, 1);
        int seen = atomic_load(&input->max_inside);
        while (now > seen &&
               !atomic_compare_exchange_weak(&input->max_inside, &seen, now))
            ;
        atomic_fetch_add(&input->rounds[self->index], 1);
        worked += clock_seconds() - start;
        worker_checkpoint(self); /* where the GIL may change hands */
    }
    self->result = 1;
    return 0;
}

START_TEST(threads_under_gil_never_overlap)
{
    static struct gil_input input;
    atomic_init(&input.inside, 0);
    atomic_init(&input.max_inside, 0);
    for (int i = 0; i < 8; i++)
        atomic_init(&input.rounds[i], 0);
    input.hold_for = 0.05;
    struct gil gil;
    gil_init(&gil, 0.001);
    struct worker_run run = workers_run(RUN_THREADS, 3, gil_kernel, &input,
                                        &gil);
    ck_assert_int_eq(run.failed, 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_eq(run.workers[i].gil, &gil);
        ck_assert_uint_eq(run.workers[i].result, 1);
        ck_assert_int_gt(atomic_load(&input.rounds[i]), 0);
    }
    ck_assert_msg(atomic_load(&input.max_inside) == 1,
                  "%d kernels ran at once under the GIL",
                  atomic_load(&input.max_inside));
    /* The kernels did take turns through worker_checkpoint: each wanted
     * 50 ms of held time while the others waited with a 1 ms interval. */
    struct gil_counters counters = gil_counters(&gil);
    ck_assert_uint_ge(counters.acquisitions, 3);
    ck_assert_msg(counters.forced_switches > 0,
                  "worker_checkpoint never handed the GIL over");
    /* W kernels needing 50 ms each, one at a time: at least their sum. */
    ck_assert_double_ge(run.seconds, 3 * input.hold_for - 1e-6);
    worker_run_release(&run);
    gil_destroy(&gil);
}
END_TEST

START_TEST(mode_names)
{
    ck_assert_str_eq(run_mode_name(RUN_SERIAL), "serial");
    ck_assert_str_eq(run_mode_name(RUN_THREADS), "thread");
    ck_assert_str_eq(run_mode_name(RUN_PROCESSES), "process");
}
END_TEST

Suite *workers_suite(void)
{
    Suite *suite = suite_create("workers");
    TCase *modes_case = tcase_create("workers_modes");
    tcase_add_checked_fixture(modes_case, default_signals, NULL);
    tcase_set_timeout(modes_case, 8);
    tcase_add_loop_test(modes_case, each_index_exactly_once, 0, 3);
    tcase_add_loop_test(modes_case, single_worker, 0, 3);
    tcase_add_loop_test(modes_case, nonzero_status_counted, 0, 3);
    tcase_add_test(modes_case, process_killed_by_signal);
    tcase_add_test(modes_case, mode_names);
    suite_add_tcase(suite, modes_case);

    TCase *gil_case = tcase_create("workers_gil");
    tcase_set_timeout(gil_case, 8);
    tcase_add_test(gil_case, threads_under_gil_never_overlap);
    suite_add_tcase(suite, gil_case);
    return suite;
}
