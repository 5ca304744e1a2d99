/* baseline.c: what a pool is measured against (E10, and the throughput
 * experiment's floor).
 *
 *   - a fresh process per task: proc_start(), run, exit, proc_join(), which
 *     is what `multiprocessing.Process(target=task).start()` does per task;
 *   - a fresh thread per task: pthread_create(), run, pthread_join();
 *   - a raw pipe ping-pong: two processes (or two threads) bouncing 8 bytes
 *     over two pipes.  A pool's apply() is at least one such round trip (the
 *     task goes out, the result comes back), so this is its floor.
 *
 * Each baseline checks the results it gets back, like the pool runs do, so
 * no variant can be fast by being wrong.
 */
#define _GNU_SOURCE
#include "lab.h"

#include "checked.h"
#include "proc.h"
#include "timing.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- A fresh process per task -------------------------------------------- */

struct fresh_task {
    uint64_t *results; /* shared (processes) or plain (threads) memory */
    int index;
    uint64_t iterations;
};

static int fresh_process_main(void *arg)
{
    const struct fresh_task *task = arg;
    task->results[task->index] = kernel_count((uint64_t)task->index,
                                            task->iterations);
    return 0;
}

/* Run `tasks` tasks, at most `concurrency` at a time, oldest joined first
 * (the tasks are all the same size, so the oldest finishes first). */
double fresh_process_per_task(int tasks, int concurrency, uint64_t iterations,
                              bool *correct)
{
    /* The results must outlive each child: a shared anonymous mapping is the
     * cheapest way back (no pipe, no copy), so this baseline pays only for
     * the process itself. */
    size_t bytes = (size_t)tasks * sizeof(uint64_t);
    uint64_t *results = CHECK_PTR(mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                                       MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                                  MAP_FAILED);
    struct proc *children = xcalloc((size_t)concurrency, sizeof *children);
    for (int i = 0; i < tasks; i++)
        results[i] = 0;

    double start = clock_seconds();
    for (int i = 0; i < tasks + concurrency; i++) {
        struct proc *slot = &children[i % concurrency];
        if (i >= concurrency) {
            proc_join(slot, -1);
            if (slot->exitcode != 0)
                die_at(__FILE__, __LINE__, "a task process failed", 0);
        }
        if (i < tasks) {
            struct fresh_task task = {results, i, iterations};
            proc_start(slot, "fresh-task", fresh_process_main, &task);
        }
    }
    double seconds = clock_seconds() - start;

    for (int i = 0; i < tasks; i++)
        *correct &= results[i] == (uint64_t)i + iterations;
    free(children);
    CHECK(munmap(results, bytes));
    return seconds;
}

/* ---- A fresh thread per task --------------------------------------------- */

static void *fresh_thread_main(void *arg)
{
    fresh_process_main(arg);
    return NULL;
}

double fresh_thread_per_task(int tasks, int concurrency, uint64_t iterations,
                             bool *correct)
{
    uint64_t *results = xcalloc((size_t)tasks, sizeof *results);
    pthread_t *threads = xcalloc((size_t)concurrency, sizeof *threads);
    /* A thread reads its task after it starts: each slot keeps its own. */
    struct fresh_task *slots = xcalloc((size_t)concurrency, sizeof *slots);

    double start = clock_seconds();
    for (int i = 0; i < tasks + concurrency; i++) {
        int slot = i % concurrency;
        if (i >= concurrency)
            CHECK_PT(pthread_join(threads[slot], NULL));
        if (i < tasks) {
            slots[slot] = (struct fresh_task){results, i, iterations};
            CHECK_PT(pthread_create(&threads[slot], NULL, fresh_thread_main,
                                    &slots[slot]));
        }
    }
    double seconds = clock_seconds() - start;

    for (int i = 0; i < tasks; i++)
        *correct &= results[i] == (uint64_t)i + iterations;
    free(slots);
    free(threads);
    free(results);
    return seconds;
}

/* ---- The pipe ping-pong -------------------------------------------------- */

struct pong {
    int in, out;      /* the echoing side's ends */
};

/* Read or write exactly 8 bytes.  A pipe write of 8 bytes is atomic
 * (< PIPE_BUF) and a read of what one write put there returns it whole, but
 * a signal may still interrupt either: retried. */
static bool move8(int fd, uint64_t *value, bool writing)
{
    for (;;) {
        ssize_t n = writing ? write(fd, value, 8) : read(fd, value, 8);
        if (n == 8)
            return true;
        if (n == -1 && errno == EINTR)
            continue;
        if (n == 0 || (n == -1 && errno == EPIPE))
            return false; /* the other side is gone: the end of the game */
        die_at(__FILE__, __LINE__, writing ? "write" : "read",
               n == -1 ? errno : EIO);
    }
}

/* Echo value + 1 until the other side closes its end. */
static int pong_main(void *arg)
{
    /* In a child, it holds these two ends and nothing else: proc_start
     * closes whatever else fork() copied (the pinging side's ends, which
     * would keep its own input from ever reaching end of file). */
    const struct pong *p = arg;
    uint64_t value;
    while (move8(p->in, &value, false)) {
        value += 1;
        if (!move8(p->out, &value, true))
            break;
    }
    return 0;
}

static void *pong_thread(void *arg)
{
    pong_main(arg);
    return NULL;
}

double pipe_pingpong(bool processes, int round_trips, int warmup, bool *correct)
{
    int there[2], back[2];
    CHECK(pipe2(there, O_CLOEXEC));
    CHECK(pipe2(back, O_CLOEXEC));
    struct pong p = {.in = there[0], .out = back[1]};
    struct proc child = {0};
    pthread_t thread;
    if (processes) {
        proc_start_keeping(&child, "pong", pong_main, &p,
                           PROC_FDS(p.in, p.out));
        /* Our copies of the child's ends: closed, so that its exit is seen
         * as end of file and ours as its end of file. */
        close(there[0]);
        close(back[1]);
    } else {
        CHECK_PT(pthread_create(&thread, NULL, pong_thread, &p));
    }

    double start = 0;
    for (int i = -warmup; i < round_trips; i++) {
        if (i == 0)
            start = clock_seconds();
        uint64_t value = (uint64_t)(i + warmup);
        if (!move8(there[1], &value, true) || !move8(back[0], &value, false)) {
            /* The other side is gone (EPIPE or end of file, never SIGPIPE:
             * the watchdog ignores it).  A result, not a crash: the run is
             * wrong, and the join below says how the child ended -- or,
             * if the watchdog killed it to end the run, parks this thread
             * while the watchdog exits (proc.h). */
            *correct = false;
            break;
        }
        *correct &= value == (uint64_t)(i + warmup) + 1;
    }
    double seconds = clock_seconds() - start;

    close(there[1]); /* its read sees end of file: it returns */
    if (processes) {
        proc_join(&child, -1);
        *correct &= child.exitcode == 0;
        close(back[0]);
    } else {
        CHECK_PT(pthread_join(thread, NULL));
        close(there[0]);
        close(back[1]);
        close(back[0]);
    }
    return seconds;
}
