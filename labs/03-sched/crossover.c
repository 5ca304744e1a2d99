/* crossover.c: where threads catch up with processes (E13), and the GIL's
 * convoy effect on an IO thread.
 *
 * The documents' advice: processes for CPU-bound work, threads for
 * IO-bound work.  Why, and where is the line?  Each task here does some
 * CPU work (--cpu ms of the counting loop) and then waits on blocking IO
 * (--io-ms).  Under CPython's GIL a thread must hold the lock to count, but
 * lets it go while it waits in recv(), read() or sleep().  So:
 *   - CPU-bound (IO fraction 0): GIL threads take turns, no faster than
 *     serial; processes use every core;
 *   - IO-bound (fraction near 1): the waits overlap, in threads as in
 *     processes, and the small CPU parts take turns on the GIL without
 *     queueing much: GIL threads come close to processes, and both keep
 *     gaining past the number of cores (a waiting worker needs no core).
 * The IO fraction is io / (io + cpu) of one task.
 *
 * The IO (--io):
 *   net    the default: a request to a loopback server (delay_server.c)
 *          that answers after --io-ms; the client blocks in recv()
 *   sleep  nanosleep(--io-ms): waiting, not IO -- no device, no kernel
 *          buffers, nothing to copy; the same shape of result, for contrast
 *   file   a read of --file-kib after posix_fadvise(DONTNEED) dropped those
 *          pages from the page cache, so the disk is really read (a warm
 *          read is only a copy from memory: the lab shows both)
 *
 * Every task's count and every answer is checked, and every task must run
 * exactly once: the totals are exact or the exit status is 1.
 *
 * --experiment convoy: an IO thread makes requests one after another.  Alone
 * under the GIL each takes --io-ms.  Beside one CPU-bound thread under the
 * GIL, the reply arrives on time but the IO thread must get the GIL back
 * before it can use it: it waits one switch interval (5 ms by default), the
 * time after which a waiter asks the holder to let go.  That is the convoy
 * effect (D. Beazley, bpo-7946).  Beside the same CPU thread without a GIL
 * (plain C threads) the latency stays the server's delay.
 */
#define _GNU_SOURCE
#include "sched.h"

#include "checked.h"
#include "cleanup.h"
#include "delay_server.h"
#include "flags.h"
#include "gil.h"
#include "kernel.h"
#include "log.h"
#include "proc.h"
#include "timing.h"
#include "workers.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- One run's shared state (a MAP_SHARED mapping: processes too) ------ */

struct task_result {
    uint64_t sum;
    int ran;            /* how many times this task ran: must be 1 */
    bool answer_ok;
    double cpu_seconds, io_seconds;
};

struct shared {
    atomic_uint_fast64_t next_task; /* the task queue: a counter */
    struct task_result results[];
};

struct plan {
    const struct options *options;
    uint64_t iterations;  /* per task: --cpu ms at the calibrated speed */
    double io_ms;         /* net, sleep: the delay; file: measured */
    int port;             /* net */
    int file_fd;          /* file (the parent's) */
    const char *file_path;
    size_t file_bytes;    /* per task */
    struct shared *shared;
};

/* CPU part of a task: the counting loop, polling the eval breaker between
 * chunks (under the GIL: where a waiter's drop request is answered).  How
 * the loop is kept from being deleted: common/kernel.h. */
static uint64_t count_for(struct worker *self, uint64_t iterations)
{
    uint64_t sum = 0;
    for (uint64_t left = iterations; left > 0;) {
        uint64_t chunk = left < KERNEL_CHUNK ? left : KERNEL_CHUNK;
        sum = kernel_count(sum, chunk);
        left -= chunk;
        worker_checkpoint(self);
    }
    return sum;
}

/* A cold read: drop the task's pages from the page cache, then read them. */
static bool read_cold(const struct plan *plan, int file_fd, uint32_t task,
                      char *buffer)
{
    off_t offset = (off_t)task * (off_t)plan->file_bytes;
    int rc = posix_fadvise(file_fd, offset, (off_t)plan->file_bytes,
                           POSIX_FADV_DONTNEED);
    if (rc != 0)
        die_at(__FILE__, __LINE__, "posix_fadvise(DONTNEED)", rc);
    for (size_t got = 0; got < plan->file_bytes;) {
        ssize_t n = pread(file_fd, buffer + got, plan->file_bytes - got,
                          offset + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die_at(__FILE__, __LINE__, "pread", n < 0 ? errno : EIO);
        got += (size_t)n;
    }
    /* the file holds each task's number in every 4 KiB block */
    return *(uint32_t *)buffer == task;
}

static int crossover_worker(struct worker *self)
{
    const struct plan *plan = self->input;
    const struct options *options = plan->options;
    int fd = options->io == IO_NET ? delay_connect(plan->port) : -1;
    /* Its own descriptor: a child process keeps none of its parent's
     * (proc.h), and a thread may as well do the same. */
    int file_fd = options->io == IO_FILE
                      ? CHECK(open(plan->file_path, O_RDONLY | O_CLOEXEC))
                      : -1;
    char *buffer = options->io == IO_FILE ? xcalloc(1, plan->file_bytes) : NULL;
    for (;;) {
        uint64_t task = atomic_fetch_add(&plan->shared->next_task, 1);
        if (task >= options->tasks)
            break;
        struct task_result *result = &plan->shared->results[task];
        double started = clock_seconds();
        result->sum = count_for(self, plan->iterations);
        double counted = clock_seconds();
        /* Around blocking IO CPython lets the GIL go (Py_BEGIN_ALLOW_THREADS)
         * and takes it back after (Py_END_ALLOW_THREADS). */
        if (self->gil)
            gil_release(self->gil);
        bool ok = true;
        switch (options->io) {
        case IO_NET:
            ok = delay_call(fd, (uint32_t)task, plan->io_ms);
            break;
        case IO_SLEEP:
            clock_sleep(plan->io_ms / 1000);
            break;
        case IO_FILE:
            ok = read_cold(plan, file_fd, (uint32_t)task, buffer);
            break;
        }
        if (self->gil)
            gil_acquire(self->gil);
        result->io_seconds = clock_seconds() - counted;
        result->cpu_seconds = counted - started;
        result->answer_ok = ok;
        result->ran++;
    }
    if (fd >= 0)
        CHECK(close(fd));
    if (file_fd >= 0)
        CHECK(close(file_fd));
    free(buffer);
    return 0;
}

/* ---- The four ways to run the tasks -------------------------------------- */

struct config {
    const char *label;
    enum run_mode mode;
    bool gil;
};
enum { SERIAL, THREAD, THREAD_GIL, PROCESS, CONFIG_COUNT };
static const struct config configs[CONFIG_COUNT] = {
    [SERIAL] = {"serial", RUN_SERIAL, false},
    [THREAD] = {"thread", RUN_THREADS, false},
    [THREAD_GIL] = {"thread+gil", RUN_THREADS, true},
    [PROCESS] = {"process", RUN_PROCESSES, false},
};

static int chosen_configs(const struct options *options, int *chosen)
{
    switch (options->mode) {
    case MODE_SERIAL:
        chosen[0] = SERIAL;
        return 1;
    case MODE_THREAD:
        chosen[0] = options->gil ? THREAD_GIL : THREAD;
        return 1;
    case MODE_PROCESS:
        chosen[0] = PROCESS;
        return 1;
    }
    for (int c = 0; c < CONFIG_COUNT; c++)
        chosen[c] = c;
    return CONFIG_COUNT;
}

/* The file for --io file: one region per task, each 4 KiB block starting
 * with the task's number (what read_cold checks), written and synced so
 * that DONTNEED can drop its pages (dirty pages are not dropped). */
static int make_file(const struct plan *plan, char *path, size_t size)
{
    /* static: cleanup_tempdir() keeps this buffer to remove the directory
     * at exit (a stack buffer was gone by then, and the directory stayed) */
    static char directory[256];
    cleanup_tempdir("sched", directory, sizeof directory);
    snprintf(path, size, "%s/data", directory);
    int fd = CHECK(open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    char *block = xcalloc(1, plan->file_bytes);
    for (uint64_t task = 0; task < plan->options->tasks; task++) {
        for (size_t at = 0; at + sizeof(uint32_t) <= plan->file_bytes; at += 4096)
            *(uint32_t *)(block + at) = (uint32_t)task;
        for (size_t done = 0; done < plan->file_bytes;)
            done += (size_t)CHECK(write(fd, block + done, plan->file_bytes - done));
    }
    free(block);
    CHECK(fsync(fd));
    return fd;
}

/* Cold read vs warm read of task 0's region, median of 5. */
static void measure_file(struct plan *plan, double *cold_ms, double *warm_ms)
{
    char *buffer = xcalloc(1, plan->file_bytes);
    double cold[5], warm[5];
    for (int i = 0; i < 5; i++) {
        double t0 = clock_seconds();
        if (!read_cold(plan, plan->file_fd, 0, buffer))
            die_at(__FILE__, __LINE__, "reading back the data file", EIO);
        double t1 = clock_seconds();
        CHECK(pread(plan->file_fd, buffer, plan->file_bytes, 0)); /* now cached */
        warm[i] = (clock_seconds() - t1) * 1e3;
        cold[i] = (t1 - t0) * 1e3;
    }
    free(buffer);
    *cold_ms = stats_of(cold, 5).median;
    *warm_ms = stats_of(warm, 5).median;
}

static const char *io_name(int io)
{
    return io == IO_NET ? "net" : io == IO_SLEEP ? "sleep" : "file";
}

int run_crossover(const struct options *options)
{
    struct plan plan = {.options = options, .io_ms = options->io_ms,
                        .file_fd = -1,
                        .file_bytes = (size_t)options->file_kib * 1024};
    int workers = (int)options->workers;
    int tasks = (int)options->tasks;
    double rate = kernel_iterations_per_us(); /* ~0.1 s, before anything runs */
    plan.iterations = (uint64_t)(options->cpu_ms * 1000 * rate);

    struct delay_server server = {0};
    double cold_ms = 0, warm_ms = 0;
    char path[512];
    if (options->io == IO_NET)
        delay_server_start(&server);
    plan.port = server.port;
    if (options->io == IO_FILE) {
        plan.file_fd = make_file(&plan, path, sizeof path);
        plan.file_path = path;
        measure_file(&plan, &cold_ms, &warm_ms);
        plan.io_ms = cold_ms;
    }
    double io_fraction = plan.io_ms / (plan.io_ms + options->cpu_ms);

    int chosen[CONFIG_COUNT];
    int chosen_count = chosen_configs(options, chosen);
    size_t bytes = sizeof(struct shared) + (size_t)tasks * sizeof(struct task_result);

    if (options->csv) {
        printf("mode,gil,io,io_fraction,workers,tasks,cpu_ms,io_ms,rep,"
               "seconds,total\n");
    } else {
        printf("sched: crossover, %d tasks of %g ms counting + %.3g ms %s; %d "
               "worker%s (serial: 1); %d CPU%s\n",
               tasks, options->cpu_ms, plan.io_ms,
               options->io == IO_NET     ? "waiting on a loopback server"
               : options->io == IO_SLEEP ? "of sleep (waiting, not IO)"
                                         : "reading a cold file",
               workers, workers == 1 ? "" : "s", proc_cpu_count(),
               proc_cpu_count() == 1 ? "" : "s");
        printf("       IO fraction io / (io + cpu) = %.2f; counting speed "
               "%.0f M additions/s\n", io_fraction, rate);
        if (options->io == IO_NET)
            printf("       delay server: pid %d on 127.0.0.1:%d\n",
                   (int)server.process.pid, server.port);
        if (options->io == IO_FILE)
            printf("       file: %llu KiB per task; cold read (after "
                   "POSIX_FADV_DONTNEED) %.3f ms, warm read %.3f ms (%.0fx)\n",
                   (unsigned long long)options->file_kib, cold_ms, warm_ms,
                   warm_ms > 0 ? cold_ms / warm_ms : 0);
    }

    static double samples[CONFIG_COUNT][REPEAT_MAX];
    static struct gil_counters counters[CONFIG_COUNT];
    int status = EXIT_OK;
    for (int rep = -(int)options->warmup; rep < (int)options->repeat; rep++) {
        int rotation = (rep % chosen_count + chosen_count) % chosen_count;
        for (int step = 0; step < chosen_count; step++) {
            int c = chosen[(step + rotation) % chosen_count];
            plan.shared = CHECK_PTR(mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                                         MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                                    MAP_FAILED);
            atomic_init(&plan.shared->next_task, 0);
            struct gil gil;
            gil_init(&gil, options->switch_interval_ms / 1000);
            int count = configs[c].mode == RUN_SERIAL ? 1 : workers;
            struct worker_run run =
                workers_run(configs[c].mode, count, crossover_worker, &plan,
                            configs[c].gil ? &gil : NULL);
            uint64_t total = 0;
            int wrong = run.failed;
            for (int t = 0; t < tasks; t++) {
                const struct task_result *r = &plan.shared->results[t];
                total += r->sum;
                wrong += r->ran != 1 || !r->answer_ok || r->sum != plan.iterations;
            }
            if (wrong) {
                fprintf(stderr, "sched: WRONG: %s: %d task%s ran other than "
                        "once, counted wrong or got a wrong answer\n",
                        configs[c].label, wrong, wrong == 1 ? "" : "s");
                status = EXIT_WRONG;
            }
            if (rep >= 0) {
                samples[c][rep] = run.seconds;
                if (configs[c].gil)
                    counters[c] = gil_counters(&gil);
                if (options->csv)
                    printf("%s,%d,%s,%.4f,%d,%d,%g,%.4f,%d,%.6f,%llu\n",
                           run_mode_name(configs[c].mode), configs[c].gil,
                           io_name(options->io), io_fraction, count, tasks,
                           options->cpu_ms, plan.io_ms, rep + 1, run.seconds,
                           (unsigned long long)total);
            }
            worker_run_release(&run);
            gil_destroy(&gil);
            CHECK(munmap(plan.shared, bytes));
            if (status != EXIT_OK)
                goto done;
        }
    }
done:
    if (options->io == IO_NET)
        delay_server_stop(&server);
    if (plan.file_fd >= 0)
        CHECK(close(plan.file_fd));
    if (status != EXIT_OK || options->csv)
        return status;

    /* The summary: medians, and speedups against serial when it ran. */
    double serial = 0;
    for (int i = 0; i < chosen_count; i++)
        if (chosen[i] == SERIAL)
            serial = stats_of(samples[SERIAL], (int)options->repeat).median;
    double ideal = (plan.io_ms + options->cpu_ms) * tasks / 1e3;
    printf("\n  %-11s %8s %8s %8s %9s\n", "mode", "median", "min", "max",
           serial > 0 ? "speedup" : "");
    double median[CONFIG_COUNT] = {0};
    for (int i = 0; i < chosen_count; i++) {
        int c = chosen[i];
        struct stats s = stats_of(samples[c], (int)options->repeat);
        median[c] = s.median;
        char a[32], b[32], d[32];
        printf("  %-11s %8s %8s %8s", configs[c].label,
               duration_text(s.median, a, sizeof a),
               duration_text(s.min, b, sizeof b),
               duration_text(s.max, d, sizeof d));
        if (serial > 0)
            printf(" %8.2fx", serial / s.median);
        if (configs[c].gil)
            printf("   GIL: %llu acquisitions, %llu forced switches",
                   (unsigned long long)counters[c].acquisitions,
                   (unsigned long long)counters[c].forced_switches);
        putchar('\n');
    }
    printf("  (serial should take about %d x %.3g ms = %.3g s)\n", tasks,
           plan.io_ms + options->cpu_ms, ideal);
    if (chosen_count == CONFIG_COUNT) {
        double ratio = median[PROCESS] / median[THREAD_GIL];
        printf("\nWhat this shows (IO fraction %.2f, %d workers, %d CPUs):\n",
               io_fraction, workers, proc_cpu_count());
        printf("  GIL threads reach %.2fx the speedup of processes.\n  %s\n",
               ratio,
               io_fraction < 0.3
                   ? "Mostly CPU work: only the GIL's holder counts, so GIL threads take\n"
                     "  turns like serial code, and processes win (the "
                     "documents' advice for\n  CPU-bound work)."
               : io_fraction > 0.7
                   ? "Mostly waiting: the GIL is let go during every wait, so "
                     "the waits\n  overlap and GIL threads come close to "
                     "processes (the documents' advice\n  for IO-bound work)."
                   : "Half and half: the waits overlap, the counting takes "
                     "turns; this is\n  the region of the crossover.");
        if (options->io == IO_SLEEP)
            printf("  (--io sleep: the tasks waited without any IO; real IO "
                   "behaves alike as long as\n  the device is not the "
                   "bottleneck.)\n");
    }
    printf("Check: all %d tasks ran once, counted %llu each, and got the "
           "right answer. OK\n",
           tasks, (unsigned long long)plan.iterations);
    return EXIT_OK;
}

/* ---- The convoy effect ------------------------------------------------------ */

struct convoy {
    const struct options *options;
    struct gil *gil;        /* NULL: no GIL */
    int port;
    atomic_bool stop;
    atomic_bool cpu_running; /* the CPU thread has started counting */
    double *latency_ms;     /* per request */
    bool ok;
    bool beside;            /* a CPU thread runs beside this one */
    uint64_t cpu_sum;
};

static void *cpu_thread(void *arg)
{
    struct convoy *c = arg;
    struct worker self = {.gil = c->gil};
    if (c->gil)
        gil_acquire(c->gil);
    atomic_store(&c->cpu_running, true);
    while (!atomic_load(&c->stop))
        c->cpu_sum = count_for(&self, 1u << 20);
    if (c->gil)
        gil_release(c->gil);
    return NULL;
}

static void *io_thread(void *arg)
{
    struct convoy *c = arg;
    int fd = delay_connect(c->port);
    c->ok = true;
    /* "Beside a CPU-bound thread" means beside one that is running: on a
     * busy machine it may start later than this one, and a short run of
     * requests could end before it has (then nothing competes). */
    while (c->beside && !atomic_load(&c->cpu_running))
        clock_sleep(0.0001);
    if (c->gil)
        gil_acquire(c->gil);
    for (uint64_t i = 0; i < c->options->requests; i++) {
        double started = clock_seconds();
        if (c->gil)
            gil_release(c->gil); /* around the blocking call, as CPython */
        c->ok &= delay_call(fd, (uint32_t)i, c->options->io_ms);
        if (c->gil)
            gil_acquire(c->gil); /* the reply is here; now the GIL */
        c->latency_ms[i] = (clock_seconds() - started) * 1e3;
    }
    if (c->gil)
        gil_release(c->gil);
    CHECK(close(fd));
    return NULL;
}

int run_convoy(const struct options *options)
{
    static const char *const settings[] = {"alone", "beside-cpu-gil",
                                           "beside-cpu-nogil"};
    int requests = (int)options->requests;
    struct delay_server server;
    delay_server_start(&server);
    double *latency = xcalloc((size_t)requests * 3 * options->repeat,
                              sizeof *latency);
    if (options->csv)
        printf("setting,rep,request,latency_ms\n");
    else
        printf("sched: convoy, an IO thread makes %d requests of %g ms to a "
               "loopback server (pid %d);\n       GIL switch interval %g ms\n",
               requests, options->io_ms, (int)server.process.pid,
               options->switch_interval_ms);
    int status = EXIT_OK;
    for (int rep = -(int)options->warmup; rep < (int)options->repeat && !status;
         rep++)
        for (int s = 0; s < 3; s++) {
            struct gil gil;
            gil_init(&gil, options->switch_interval_ms / 1000);
            double *mine = rep >= 0 ? latency + ((size_t)rep * 3 + s) * (size_t)requests
                                    : xcalloc((size_t)requests, sizeof *mine);
            struct convoy c = {.options = options, .gil = s == 2 ? NULL : &gil,
                               .port = server.port, .latency_ms = mine,
                               .beside = s > 0};
            atomic_init(&c.stop, false);
            atomic_init(&c.cpu_running, false);
            pthread_t cpu, io;
            if (s > 0)
                CHECK_PT(pthread_create(&cpu, NULL, cpu_thread, &c));
            CHECK_PT(pthread_create(&io, NULL, io_thread, &c));
            CHECK_PT(pthread_join(io, NULL));
            atomic_store(&c.stop, true);
            if (s > 0)
                CHECK_PT(pthread_join(cpu, NULL));
            gil_destroy(&gil);
            if (!c.ok) {
                fprintf(stderr, "sched: WRONG: a reply did not match its "
                                "request (%s)\n", settings[s]);
                status = EXIT_WRONG;
            }
            if (rep < 0) {
                free(mine);
                continue;
            }
            if (options->csv)
                for (int i = 0; i < requests; i++)
                    printf("%s,%d,%d,%.4f\n", settings[s], rep + 1, i + 1, mine[i]);
        }
    delay_server_stop(&server);
    if (status == EXIT_OK && !options->csv) {
        printf("\n  %-17s %9s %9s %9s %9s\n", "setting", "median", "p90", "max",
               "vs alone");
        double alone = 0;
        for (int s = 0; s < 3; s++) {
            int n = requests * (int)options->repeat;
            double *all = xcalloc((size_t)n, sizeof *all);
            for (int rep = 0; rep < (int)options->repeat; rep++)
                memcpy(all + rep * requests,
                       latency + ((size_t)rep * 3 + s) * (size_t)requests,
                       (size_t)requests * sizeof *all);
            struct stats st = stats_of(all, n);
            /* p90: sort a copy (stats_of leaves the input alone) */
            for (int i = 1; i < n; i++)
                for (int j = i; j > 0 && all[j] < all[j - 1]; j--) {
                    double t = all[j];
                    all[j] = all[j - 1];
                    all[j - 1] = t;
                }
            double p90 = all[(int)(0.9 * (n - 1))];
            if (s == 0)
                alone = st.median;
            printf("  %-17s %7.2fms %7.2fms %7.2fms %+8.2fms\n", settings[s],
                   st.median, p90, st.max, st.median - alone);
            free(all);
        }
        printf("\nWhat this shows: beside a CPU-bound thread under the GIL, "
               "each reply waits for\nthe GIL until the CPU thread is asked "
               "to let go, which happens one switch\ninterval (%g ms) after "
               "the IO thread started waiting: the convoy effect.\nWithout "
               "the GIL (C threads, two cores) the CPU thread costs the IO "
               "thread\nlittle.\n",
               options->switch_interval_ms);
        printf("Check: every reply matched its request. OK\n");
    }
    free(latency);
    return status;
}
