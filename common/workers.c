/* workers.c: one kernel, three ways to run it. */
/* MAP_ANONYMOUS is Linux/BSD, not POSIX.1-2008. */
#define _DEFAULT_SOURCE
#include "workers.h"

#include "checked.h"
#include "log.h"
#include "proc.h"
#include "timing.h"
#include "trace.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct job {
    worker_fn kernel;
    struct worker *self;
};

/* The same wrapper runs in all three modes, so they are timed alike. */
static int run_one(worker_fn kernel, struct worker *self)
{
    self->pid = getpid();
    self->tid = log_thread_id();
    if (self->gil)
        gil_acquire(self->gil);
    self->started = clock_seconds();
    int status = kernel(self);
    self->finished = clock_seconds();
    if (self->gil)
        gil_release(self->gil);
    return status;
}

static void *thread_main(void *arg)
{
    struct job *job = arg;
    log_set_name(job->self->name);
    job->self->status = run_one(job->kernel, job->self);
    return NULL;
}

static int process_main(void *arg)
{
    struct job *job = arg;
    return run_one(job->kernel, job->self) & 0xff;
}

struct worker_run workers_run(enum run_mode mode, int count, worker_fn kernel,
                              const void *input, struct gil *gil)
{
    struct worker_run run = {.mode = mode, .count = count};
    size_t bytes = (size_t)count * sizeof *run.workers;
    /* MAP_SHARED so children write their results where the parent reads. */
    run.workers = CHECK_PTR(mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                            MAP_FAILED);
    struct job *jobs = xcalloc((size_t)count, sizeof *jobs);
    for (int i = 0; i < count; i++) {
        struct worker *self = &run.workers[i];
        self->index = i;
        snprintf(self->name, sizeof self->name, "worker-%d", i);
        self->input = input;
        self->gil = mode == RUN_THREADS ? gil : NULL;
        jobs[i] = (struct job){.kernel = kernel, .self = self};
    }

    double started = clock_seconds();
    switch (mode) {
    case RUN_SERIAL:
        for (int i = 0; i < count; i++)
            run.workers[i].status = run_one(kernel, &run.workers[i]);
        break;
    case RUN_THREADS: {
        pthread_t *threads = xcalloc((size_t)count, sizeof *threads);
        for (int i = 0; i < count; i++)
            CHECK_PT(pthread_create(&threads[i], NULL, thread_main, &jobs[i]));
        for (int i = 0; i < count; i++)
            CHECK_PT(pthread_join(threads[i], NULL));
        free(threads);
        break;
    }
    case RUN_PROCESSES: {
        struct proc *children = xcalloc((size_t)count, sizeof *children);
        for (int i = 0; i < count; i++)
            proc_start(&children[i], run.workers[i].name, process_main,
                       &jobs[i]);
        /* No bound of our own: the run's watchdog bounds every join. */
        for (int i = 0; i < count; i++) {
            proc_join(&children[i], -1);
            run.workers[i].status = children[i].exitcode;
        }
        free(children);
        break;
    }
    }
    run.seconds = clock_seconds() - started;
    free(jobs);
    for (int i = 0; i < count; i++)
        run.failed += run.workers[i].status != 0;
    return run;
}

void worker_run_release(struct worker_run *run)
{
    if (run->workers)
        CHECK(munmap(run->workers, (size_t)run->count * sizeof *run->workers));
    run->workers = NULL;
}

const char *run_mode_name(enum run_mode mode)
{
    switch (mode) {
    case RUN_SERIAL:
        return "serial";
    case RUN_THREADS:
        return "thread";
    case RUN_PROCESSES:
        return "process";
    }
    return "?";
}

void workers_trace(struct trace *trace, const struct worker_run *run,
                   const char *label)
{
    char name[64];
    for (int i = 0; i < run->count; i++) {
        const struct worker *w = &run->workers[i];
        snprintf(name, sizeof name, "%s %s", label, w->name);
        if (run->mode == RUN_PROCESSES)
            trace_name_process(trace, (int)w->pid, name, -1);
        else
            trace_name_process(trace, (int)w->pid, "main process", -1);
        trace_name_thread(trace, (int)w->pid, (int)w->tid, name, -1);
        if (w->gil == NULL)
            trace_slice(trace, (int)w->pid, (int)w->tid, "counting", label,
                        w->started, w->finished, NULL);
    }
}
