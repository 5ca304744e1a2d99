/* timeslice.c: who ran when on one core -- a measured timeline (E16).
 *
 * The documents say the OS runs task 1 for 0.01 s, then task 2, then task
 * 3, and so on, too fast to notice.  Here W CPU-bound workers are pinned to
 * one CPU and each one writes down, itself, every moment it was not
 * running.  How can a program see that it was not running?  It reads the
 * monotonic clock in a tight loop, every ~0.1 µs.  While it runs, two
 * readings are ~0.1 µs apart.  When the kernel puts another task on the
 * CPU, the loop stops, and the next reading, once it runs again, is
 * milliseconds later: a gap.  A gap longer than --gap-us (default 50 µs:
 * hundreds of loop turns, so never the loop itself; yet well below the
 * slices the scheduler gives CPU-bound tasks -- EEVDF's base slice is
 * 0.75 ms, a tick 1-10 ms) is recorded as "off the CPU".  An interrupt
 * handler (a few µs) stays below it; another task that runs for less than
 * 50 µs is missed, which the comparison with the kernel's count shows.
 *
 * Not every gap is a context switch.  After each gap the worker asks the
 * kernel for its count of context switches (getrusage): if it did not
 * grow, nothing else ran in the worker's place -- it was a *pause*, an
 * interrupt handler or, on a virtual machine, the hypervisor running
 * something else on this vCPU (60-170 µs each, seen on an EPYC VM).  A
 * pause takes its time away from the worker but does not end its slice.
 *
 * Each worker writes only its own record (in one MAP_SHARED mapping made
 * before the fork, so a process worker's writes reach the parent): no
 * locks, a fixed capacity of gaps, and a count of the gaps that did not
 * fit.  Before it ends, each worker reads /proc/thread-self/schedstat, the
 * kernel's own figures for it (ns on the CPU, ns waiting to run, number of
 * times it was put on the CPU), so the lab can compare its measurement with
 * the kernel's.
 *
 * What is checked (exit 1 if not):
 *   - pinned: each worker asks the kernel which CPU it is on (sched_getcpu)
 *     at its start, after every gap and every few thousand turns; all
 *     answers must be the chosen CPU;
 *   - pinned: two workers never ran at the same time.  One CPU runs one
 *     task at a time, so two workers' runs can overlap only by what a gap
 *     below --gap-us hides: an overlap longer than that means they were not
 *     on one CPU (plus a margin of 1 ms: see overlap_allowed());
 *   - every record is consistent: gaps in order, inside the run, and run
 *     time + gap time = the time from first to last reading.
 * What is NOT checked: the shares.  The machine may be shared; any other
 * task on that CPU shows up as time no worker ran (the "no worker" row).
 */
#define _GNU_SOURCE
#include "sched.h"

#include "checked.h"
#include "kernel.h"
#include "log.h"
#include "proc.h"
#include "timing.h"
#include "trace.h"
#include "workers.h"

#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---- What each worker records (its own region, no locks) --------------- */

struct gap {
    uint64_t start_ns; /* the last clock reading before it was taken off */
    uint64_t end_ns;   /* the first reading once it ran again */
    bool switched;     /* the kernel switched it out (else: a pause) */
};

struct record {
    int cpu_wanted, cpu_pinned;  /* -1 when not pinned */
    int first_cpu, last_cpu;
    uint64_t cpu_checks, cpu_wrong, migrations;
    int error;                   /* errno of setpriority/affinity, or 0 */
    uint64_t started_ns, finished_ns; /* first and last reading */
    uint64_t turns;              /* loop turns (clock readings) */
    uint64_t gaps_seen, gaps_stored, gap_ns_total;
    uint64_t truncated_at_ns;    /* 0, or where the first unstored gap began */
    /* Context switches (getrusage), and how many gaps had one: a gap
     * without one is a pause -- an interrupt, or, on a virtual machine, the
     * hypervisor running something else on this vCPU (stolen time). */
    uint64_t switches, gaps_switched, switches_unseen;
    uint64_t kernel_run_ns, kernel_wait_ns, kernel_slices; /* schedstat deltas */
    uint64_t sum;                /* the counting kernel's result */
    struct gap gaps[];           /* `capacity` of them */
};

struct plan {
    const struct options *options;
    unsigned char *records;      /* W records, `stride` bytes apart */
    size_t stride;
    uint64_t capacity;
    uint64_t start_ns, end_ns;   /* the window every worker competes in */
    uint64_t gap_ns;
    int cpu, other_cpu;          /* the CPU to pin to; a wrong one */
};

static struct record *record_of(const struct plan *plan, int index)
{
    return (struct record *)(plan->records + (size_t)index * plan->stride);
}

/* /proc/thread-self/schedstat: "run_ns wait_ns slices" of this thread. */
static void read_schedstat(uint64_t value[3])
{
    char text[128] = "";
    int fd = CHECK(open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC));
    ssize_t got = CHECK(read(fd, text, sizeof text - 1));
    CHECK(close(fd));
    text[got] = '\0';
    unsigned long long run = 0, wait = 0, slices = 0;
    if (sscanf(text, "%llu %llu %llu", &run, &wait, &slices) != 3)
        die_at(__FILE__, __LINE__, "parsing /proc/thread-self/schedstat", EINVAL);
    value[0] = run, value[1] = wait, value[2] = slices;
}

/* This thread's context switches so far, voluntary and involuntary: the
 * kernel counts one each time it takes the thread off the CPU, the same
 * events as schedstat's count of times it was put back on. */
static uint64_t thread_switches(void)
{
    struct rusage usage;
    CHECK(getrusage(RUSAGE_THREAD, &usage));
    return (uint64_t)usage.ru_nvcsw + (uint64_t)usage.ru_nivcsw;
}

/* After a gap (ending at `now`): did the kernel switch the worker out, or
 * did it stop without a switch?  Asked once per gap, not per turn: a
 * system call costs ~0.3 us, a turn ~0.1 us. */
static void classify_gap(struct record *r, uint64_t now)
{
    uint64_t switches = thread_switches();
    bool switched = switches > r->switches;
    if (switched) {
        r->gaps_switched++;
        r->switches_unseen += switches - r->switches - 1; /* too short to see */
    }
    r->switches = switches;
    if (r->gaps_stored > 0 && r->gaps[r->gaps_stored - 1].end_ns == now)
        r->gaps[r->gaps_stored - 1].switched = switched;
}

/* Counting work between two clock readings: 256 additions, ~0.1 µs. */
enum { TURN_ADDITIONS = 256, CPU_CHECK_EVERY = 4096 };

static void note_cpu(struct record *r)
{
    int cpu = sched_getcpu();
    r->cpu_checks++;
    if (r->cpu_pinned >= 0 && cpu != r->cpu_wanted)
        r->cpu_wrong++;
    if (cpu != r->last_cpu)
        r->migrations++;
    r->last_cpu = cpu;
}

/* ---- One worker ---------------------------------------------------------- */

static int timeslice_worker(struct worker *self)
{
    const struct plan *plan = self->input;
    const struct options *options = plan->options;
    struct record *r = record_of(plan, self->index);
    pid_t tid = log_thread_id();

    if (options->nice_count > 0 &&
        setpriority(PRIO_PROCESS, (id_t)tid, options->nice[self->index]) != 0) {
        r->error = errno;
        return 1;
    }
    r->cpu_wanted = options->all_cores ? -1 : plan->cpu;
    r->cpu_pinned = r->cpu_wanted;
    if (!options->all_cores) {
        /* The deliberate fault (--misplace-worker): this one goes to
         * another CPU, and the check below must notice. */
        if (options->misplace_given && (int)options->misplace == self->index)
            r->cpu_pinned = plan->other_cpu;
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(r->cpu_pinned, &set);
        /* pid 0 = the calling thread; it is moved before the call returns. */
        if (sched_setaffinity(0, sizeof set, &set) != 0) {
            r->error = errno;
            return 1;
        }
    }
    r->first_cpu = r->last_cpu = sched_getcpu();

    uint64_t before[3], after[3];
    read_schedstat(before);
    /* Everyone starts at the same instant: sleep until the window opens.
     * Waking up is one more "put on the CPU" for the kernel: the first
     * slice, which the loop below also counts. */
    struct timespec start = {.tv_sec = (time_t)(plan->start_ns / 1000000000u),
                             .tv_nsec = (long)(plan->start_ns % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &start, NULL) == EINTR)
        ;

    r->switches = thread_switches();
    uint64_t sum = 0, previous = clock_nanoseconds();
    r->started_ns = previous;
    note_cpu(r);
    for (;;) {
        sum = kernel_count(sum, TURN_ADDITIONS); /* kept: see kernel.h */
        uint64_t now = clock_nanoseconds();
        r->turns++;
        if (now - previous > plan->gap_ns) {
            /* EXERCISE 6: record the slice's end: count the gap and its
             * length, store it as {previous, now, false} while the record
             * has room, or else note where the first gap that did not fit
             * began */
            r->gaps_seen++;
            r->gap_ns_total += now - previous;
            if (r->gaps_stored < plan->capacity)
                r->gaps[r->gaps_stored++] = (struct gap){previous, now, false};
            else if (r->truncated_at_ns == 0)
                r->truncated_at_ns = previous;
            note_cpu(r); /* where did it come back? */
            classify_gap(r, now);
        } else if (r->turns % CPU_CHECK_EVERY == 0) {
            note_cpu(r);
        }
        previous = now;
        if (now >= plan->end_ns)
            break;
    }
    r->finished_ns = previous;
    r->switches_unseen += thread_switches() - r->switches;
    read_schedstat(after);
    r->kernel_run_ns = after[0] - before[0];
    r->kernel_wait_ns = after[1] - before[1];
    r->kernel_slices = after[2] - before[2];
    r->sum = sum;
    return 0;
}

/* ---- From records to slices ------------------------------------------------ */

/* The runs of one worker: from its first reading to its first gap, between
 * gaps, and from the last gap to its last reading (or to where the record
 * was truncated). */
struct run {
    uint64_t start_ns, end_ns;
};

static int runs_of(const struct record *r, struct run *runs)
{
    uint64_t from = r->started_ns;
    int n = 0;
    for (uint64_t i = 0; i < r->gaps_stored; i++) {
        runs[n++] = (struct run){from, r->gaps[i].start_ns};
        from = r->gaps[i].end_ns;
    }
    runs[n++] = (struct run){from, r->truncated_at_ns ? r->truncated_at_ns
                                                      : r->finished_ns};
    return n;
}

struct summary {
    uint64_t slices, pauses;
    double pause_ms;             /* all the pauses' time */
    double mean_ms, median_ms, max_ms, longest_wait_ms;
    double run_seconds, share, expected_share;
};

static struct summary summarize(const struct plan *plan, const struct record *r,
                                const struct run *runs, int run_count,
                                int index)
{
    const struct options *options = plan->options;
    /* A slice runs from one context switch to the next: a pause inside it
     * (no switch) takes its time away but does not end it. */
    struct summary s = {.slices = r->gaps_switched + 1,
                        .pauses = r->gaps_seen - r->gaps_switched};
    double *lengths = xcalloc((size_t)run_count, sizeof *lengths);
    int slices = 0;
    for (int i = 0; i < run_count; i++) {
        lengths[slices] += (double)(runs[i].end_ns - runs[i].start_ns) / 1e6;
        if (i == run_count - 1 || r->gaps[i].switched)
            slices++;
    }
    struct stats st = stats_of(lengths, slices);
    free(lengths);
    for (uint64_t i = 0; i < r->gaps_stored; i++)
        if (!r->gaps[i].switched)
            s.pause_ms += (double)(r->gaps[i].end_ns - r->gaps[i].start_ns) / 1e6;
    double run_ns = (double)(r->finished_ns - r->started_ns - r->gap_ns_total);
    s.run_seconds = run_ns / 1e9;
    s.mean_ms = run_ns / 1e6 / (double)s.slices;
    s.median_ms = st.median;
    s.max_ms = st.max;
    for (uint64_t i = 0; i < r->gaps_stored; i++) {
        double wait = (double)(r->gaps[i].end_ns - r->gaps[i].start_ns) / 1e6;
        if (wait > s.longest_wait_ms)
            s.longest_wait_ms = wait;
    }
    double window = (double)(plan->end_ns - plan->start_ns);
    s.share = run_ns / window;
    int workers = (int)options->workers;
    if (!options->all_cores) {
        s.expected_share = nice_share(options, index);
    } else {
        int cpus = proc_cpu_count();
        s.expected_share = workers <= cpus ? 1.0 : (double)cpus / workers;
        for (int i = 0; i < options->nice_count; i++)
            if (options->nice[i] != options->nice[0])
                s.expected_share = NAN; /* depends on where each one runs */
    }
    return s;
}

/* ---- Checks ---------------------------------------------------------------- */

static bool check_record(const struct plan *plan, const struct record *r,
                         int index)
{
    bool ok = true;
    uint64_t previous = r->started_ns, stored_gap_ns = 0;
    for (uint64_t i = 0; i < r->gaps_stored; i++) {
        const struct gap *g = &r->gaps[i];
        if (g->start_ns < previous || g->end_ns <= g->start_ns ||
            g->end_ns > r->finished_ns ||
            g->end_ns - g->start_ns <= plan->gap_ns) {
            fprintf(stderr, "sched: WRONG: worker-%d's gap %llu is out of "
                    "order, outside its run or not a gap\n", index,
                    (unsigned long long)i);
            ok = false;
            break;
        }
        stored_gap_ns += g->end_ns - g->start_ns;
        previous = g->end_ns;
    }
    if (r->gaps_stored > plan->capacity || r->gaps_stored > r->gaps_seen ||
        (r->gaps_seen > r->gaps_stored && r->truncated_at_ns == 0) ||
        (r->gaps_seen == r->gaps_stored && stored_gap_ns != r->gap_ns_total) ||
        r->gap_ns_total > r->finished_ns - r->started_ns) {
        fprintf(stderr, "sched: WRONG: worker-%d's counts disagree: %llu gaps "
                "seen, %llu stored (capacity %llu)\n", index,
                (unsigned long long)r->gaps_seen,
                (unsigned long long)r->gaps_stored,
                (unsigned long long)plan->capacity);
        ok = false;
    }
    if (r->sum != r->turns * TURN_ADDITIONS) {
        fprintf(stderr, "sched: WRONG: worker-%d counted %llu, expected %llu\n",
                index, (unsigned long long)r->sum,
                (unsigned long long)(r->turns * TURN_ADDITIONS));
        ok = false;
    }
    if (r->cpu_wanted >= 0 && r->cpu_wrong > 0) {
        fprintf(stderr, "sched: WRONG: worker-%d was on CPU %d, not CPU %d, at "
                "%llu of %llu checks: it was not pinned where it should be\n",
                index, r->cpu_pinned, r->cpu_wanted,
                (unsigned long long)r->cpu_wrong,
                (unsigned long long)r->cpu_checks);
        ok = false;
    }
    return ok;
}

/* How long two pinned workers may seem to run at once.  In theory only a
 * hidden gap (< --gap-us) can make runs on one CPU overlap; a 1 ms margin
 * is added because one ThreadSanitizer run of the thread workers once
 * showed an overlap of 0.3 ms, cause not found (its runtime wraps the
 * clock and affinity calls).  A worker that is really on another CPU
 * overlaps the others for whole slices and windows, far beyond this. */
static uint64_t overlap_allowed(const struct plan *plan)
{
    return plan->gap_ns + 1000000u;
}

/* Longest time two workers both "ran", over every pair of runs. */
static uint64_t longest_overlap(struct run **runs, const int *counts, int workers,
                                int *who_a, int *who_b, uint64_t *total)
{
    uint64_t longest = 0;
    *total = 0;
    for (int a = 0; a < workers; a++)
        for (int b = a + 1; b < workers; b++) {
            int i = 0, j = 0;
            while (i < counts[a] && j < counts[b]) {
                const struct run *x = &runs[a][i], *y = &runs[b][j];
                uint64_t from = x->start_ns > y->start_ns ? x->start_ns : y->start_ns;
                uint64_t to = x->end_ns < y->end_ns ? x->end_ns : y->end_ns;
                if (to > from) {
                    *total += to - from;
                    if (to - from > longest)
                        longest = to - from, *who_a = a, *who_b = b;
                }
                if (x->end_ns < y->end_ns)
                    i++;
                else
                    j++;
            }
        }
    return longest;
}

/* ---- Output ---------------------------------------------------------------- */

/* One row per worker, one character per ms of the window: '#' the worker
 * ran most of that ms, '+' part of it, '.' not at all.  Wrapped every
 * 100 ms; the last row of each block is the time no worker ran. */
static void print_timeline(const struct plan *plan, struct run **runs,
                           const int *counts)
{
    int workers = (int)plan->options->workers;
    int ms = (int)((plan->end_ns - plan->start_ns) / 1000000u);
    int shown = ms < 1000 ? ms : 1000;
    double *ran = xcalloc((size_t)(workers + 1) * (size_t)shown, sizeof *ran);
    for (int w = 0; w < workers; w++)
        for (int i = 0; i < counts[w]; i++) {
            double from = (double)(runs[w][i].start_ns - plan->start_ns) / 1e6;
            double to = (double)(runs[w][i].end_ns - plan->start_ns) / 1e6;
            for (int m = (int)from; m < shown && m < to; m++) {
                double a = from > m ? from : m, b = to < m + 1 ? to : m + 1;
                if (b > a)
                    ran[w * shown + m] += b - a;
            }
        }
    printf("\nTimeline, one character per ms (# ran most of that ms, + part "
           "of it, . not at all)%s:\n",
           shown < ms ? "; the first 1000 ms" : "");
    for (int block = 0; block < shown; block += 100) {
        int end = block + 100 < shown ? block + 100 : shown;
        printf("  %6d ms  ", block);
        for (int m = block; m < end; m += 10)
            printf("%-10s", "|");
        putchar('\n');
        for (int w = 0; w <= workers; w++) {
            if (w == workers && plan->options->all_cores)
                break;
            if (w < workers)
                printf("  worker-%-3d ", w);
            else
                printf("  %-10s ", "no worker");
            for (int m = block; m < end; m++) {
                double part;
                if (w < workers) {
                    part = ran[w * shown + m];
                } else {
                    part = 1;
                    for (int v = 0; v < workers; v++)
                        part -= ran[v * shown + m];
                }
                putchar(part >= 0.5 ? '#' : part > 0.05 ? '+' : '.');
            }
            putchar('\n');
        }
    }
    free(ran);
}

static void print_table(const struct plan *plan, const struct record *records[],
                        const struct summary *s, const struct worker_run *run)
{
    const struct options *options = plan->options;
    int workers = (int)options->workers;
    printf("\n%-9s %5s %4s %6s %6s %7s %7s %7s %8s %6s %7s | %7s %8s %8s\n",
           "worker", "id", "nice", "slices", "pauses", "mean", "median", "max",
           "longest", "share", "weight", "kernel", "kernel", "kernel");
    printf("%-9s %5s %4s %6s %6s %7s %7s %7s %8s %6s %7s | %7s %8s %8s\n", "",
           "", "", "", "", "slice", "slice", "slice", "wait", "", "share",
           "slices", "run", "wait");
    for (int w = 0; w < workers; w++) {
        const struct record *r = records[w];
        printf("worker-%-2d %5d %4d %6llu %6llu %5.2fms %5.2fms %5.2fms "
               "%6.2fms %5.1f%% ",
               w, (int)(options->kind == KIND_THREAD ? run->workers[w].tid
                                                     : run->workers[w].pid),
               options->nice_count ? options->nice[w] : 0,
               (unsigned long long)s[w].slices, (unsigned long long)s[w].pauses,
               s[w].mean_ms, s[w].median_ms,
               s[w].max_ms, s[w].longest_wait_ms, 100 * s[w].share);
        if (isnan(s[w].expected_share))
            printf("%7s", "?");
        else
            printf("%6.1f%%", 100 * s[w].expected_share);
        printf(" | %7llu %6.1fms %6.1fms\n", (unsigned long long)r->kernel_slices,
               (double)r->kernel_run_ns / 1e6, (double)r->kernel_wait_ns / 1e6);
        if (r->gaps_seen > r->gaps_stored)
            printf("          %llu gaps did not fit (capacity %llu): median and "
                   "max slice, the\n          timeline and the overlap check "
                   "cover only the time before them\n",
                   (unsigned long long)(r->gaps_seen - r->gaps_stored),
                   (unsigned long long)plan->capacity);
    }
}

static void interpret(const struct plan *plan, const struct record *records[],
                      const struct summary *s)
{
    const struct options *options = plan->options;
    int workers = (int)options->workers;
    uint64_t slices = 0, kernel = 0, pauses = 0, unseen = 0;
    double share = 0, run = 0, pause_ms = 0;
    for (int w = 0; w < workers; w++) {
        slices += s[w].slices;
        pauses += s[w].pauses;
        pause_ms += s[w].pause_ms;
        unseen += records[w]->switches_unseen;
        kernel += records[w]->kernel_slices;
        share += s[w].share;
        run += s[w].run_seconds;
    }
    printf("\nWhat this shows:\n");
    if (!options->all_cores)
        printf("  The workers took turns on CPU %d: %.1f%% of the window went "
               "to them, %.1f%% to\n  other tasks or to nobody (\"no worker\" "
               "row; on a shared machine, others' work).\n",
               plan->cpu, 100 * share, 100 * (1 - share));
    else
        printf("  Unpinned, the workers used %.2f CPUs on average (%d may be "
               "used).\n", share, proc_cpu_count());
    printf("  Slices: the workers measured %llu, the kernel counted %llu "
           "(%+.1f%%).  After each\n  gap the worker asks the kernel "
           "(getrusage) whether it was switched out:\n  %llu switch%s "
           "were too short to see (< --gap-us), and %llu gap%s had no "
           "switch.\n", (unsigned long long)slices, (unsigned long long)kernel,
           kernel ? 100.0 * ((double)slices - (double)kernel) / (double)kernel
                  : 0.0,
           (unsigned long long)unseen, unseen == 1 ? "" : "es",
           (unsigned long long)pauses, pauses == 1 ? "" : "s");
    if (pauses > 0)
        printf("  Those pauses (%.0f us each on average) are time off the CPU "
               "with no other\n  task put on it: an interrupt handler, or on "
               "a virtual machine the hypervisor\n  running something else "
               "on this vCPU (stolen time).  A slice goes on across\n  them; "
               "the timeline shows them as time the worker did not run.\n",
               1e3 * pause_ms / (double)pauses);
    double kernel_run = 0;
    for (int w = 0; w < workers; w++)
        kernel_run += (double)records[w]->kernel_run_ns / 1e9;
    if (kernel_run < 0.9 * run)
        printf("  Run time: the kernel counted %.1f ms, the workers saw %.1f "
               "ms.  On a virtual\n  machine the kernel does not count as "
               "run time what the hypervisor stole\n  (the vCPU was running "
               "another VM): the workers cannot tell.\n",
               kernel_run * 1e3, run * 1e3);
    uint64_t turns = 0;
    for (int w = 0; w < workers; w++)
        turns += records[w]->turns;
    printf("  While running, the workers read their clocks every %.3f us on "
           "average: a gap\n  of %g us is %.0f readings missed.\n",
           run * 1e6 / (double)turns, options->gap_us,
           options->gap_us / (run * 1e6 / (double)turns));
    double mean = run * 1e3 / (double)slices;
    printf("  A slice lasted %.2f ms on average%s.\n  The documents' \"0.01 s\" "
           "is a figure of speech: the length depends on the\n  scheduler, "
           "the tick and the load.\n",
           mean, workers > 1 && !options->all_cores ? " between switches" : "");
    if (options->nice_count > 0 && !options->all_cores) {
        printf("  Nice: each worker's part of the workers' time, measured vs "
               "its weight's part:\n");
        for (int w = 0; w < workers; w++)
            printf("    worker-%d nice %3d weight %5d: %5.1f%% measured, "
                   "%5.1f%% expected\n",
                   w, options->nice[w], nice_weight(options->nice[w]),
                   100 * s[w].run_seconds / run, 100 * s[w].expected_share);
        if (workers == 2)
            printf("    ratio worker-0 / worker-1: %.2f measured, %.2f "
                   "expected (%d / %d)\n",
                   s[0].run_seconds / s[1].run_seconds,
                   (double)nice_weight(options->nice[0]) /
                       nice_weight(options->nice[1]),
                   nice_weight(options->nice[0]), nice_weight(options->nice[1]));
    }
}

/* ---- Trace ----------------------------------------------------------------- */

enum { TRACE_CPU_PID = 0x7fff0000 }; /* a row for the CPU, not a real pid */

static void add_to_trace(struct trace *trace, const struct plan *plan,
                         struct run **runs, const int *counts,
                         const struct worker_run *wr,
                         const struct record *records[])
{
    const struct options *options = plan->options;
    int workers = (int)options->workers;
    double window_opens = (double)plan->start_ns / 1e9;
    char name[64];
    if (options->kind == KIND_THREAD)
        trace_name_process(trace, (int)getpid(), "sched (threads)", 1);
    for (int w = 0; w < workers; w++) {
        int pid = (int)wr->workers[w].pid, tid = (int)wr->workers[w].tid;
        snprintf(name, sizeof name, "worker-%d (nice %d)", w,
                 options->nice_count ? options->nice[w] : 0);
        if (options->kind == KIND_PROCESS)
            trace_name_process(trace, pid, name, 1 + w);
        trace_name_thread(trace, pid, tid, name, w);
        for (int i = 0; i < counts[w]; i++) {
            double from = (double)runs[w][i].start_ns / 1e9;
            double to = (double)runs[w][i].end_ns / 1e9;
            trace_slice(trace, pid, tid, "running", "cpu", from, to, NULL);
            if (!options->all_cores) {
                snprintf(name, sizeof name, "worker-%d", w);
                trace_slice(trace, TRACE_CPU_PID, plan->cpu, name, "cpu",
                            from, to, NULL);
            }
        }
        for (uint64_t i = 0; i < records[w]->gaps_stored; i++)
            trace_slice(trace, pid, tid, "off the CPU", "wait",
                        (double)records[w]->gaps[i].start_ns / 1e9,
                        (double)records[w]->gaps[i].end_ns / 1e9, NULL);
    }
    if (!options->all_cores) {
        snprintf(name, sizeof name, "CPU %d (every worker pinned here)",
                 plan->cpu);
        trace_name_process(trace, TRACE_CPU_PID, name, 0);
        snprintf(name, sizeof name, "CPU %d", plan->cpu);
        trace_name_thread(trace, TRACE_CPU_PID, plan->cpu, name, 0);
    }
    /* How many workers ran at each moment: a step counter. */
    int points = 0;
    for (int w = 0; w < workers; w++)
        points += 2 * counts[w];
    struct step {
        uint64_t at;
        int delta;
    } *steps = xcalloc((size_t)points, sizeof *steps);
    int n = 0;
    for (int w = 0; w < workers; w++)
        for (int i = 0; i < counts[w]; i++) {
            steps[n++] = (struct step){runs[w][i].start_ns, +1};
            steps[n++] = (struct step){runs[w][i].end_ns, -1};
        }
    for (int i = 1; i < n; i++) /* insertion sort: already nearly sorted */
        for (int j = i; j > 0 && steps[j].at < steps[j - 1].at; j--) {
            struct step t = steps[j];
            steps[j] = steps[j - 1];
            steps[j - 1] = t;
        }
    int running = 0, counter_pid = (int)getpid();
    if (options->kind == KIND_PROCESS)
        trace_name_process(trace, counter_pid, "sched (parent)", 0);
    for (int i = 0; i < n; i++) {
        running += steps[i].delta;
        trace_counter(trace, counter_pid, "workers running",
                      (double)steps[i].at / 1e9, running);
    }
    free(steps);
    trace_name_thread(trace, counter_pid, counter_pid, "main (started the workers)", -1);
    trace_instant(trace, counter_pid, counter_pid, "window opens", window_opens,
                  NULL);
    trace_instant(trace, counter_pid, counter_pid, "window closes",
                  (double)plan->end_ns / 1e9, NULL);
}

/* ---- Predict, then check (--quiz, --answer) -------------------------------- */

/* The question: W workers that always want to run share one CPU; what part
 * of the workers' time does each get?  The answer is the weight table's:
 * nice_share(), the very function behind the "expected" column.  The
 * shares are judged among the workers (each one's part of the time the
 * workers ran), since other tasks on a shared machine take time from all
 * of them alike. */
static int nice_of(const struct options *options, int w)
{
    return options->nice_count ? options->nice[w] : 0;
}

static void print_problem(const struct options *options)
{
    const struct quiz *quiz = &options->quiz;
    int workers = (int)options->workers;
    /* Without --seed the problem is the command line's own: no seed to
     * print, and the answer is the same command with --answer. */
    char seed[40] = "";
    if (quiz->seeded)
        snprintf(seed, sizeof seed, " (seed %llu)",
                 (unsigned long long)quiz->seed);
    printf("sched %s%s: %d CPU-bound %s%s pinned to one CPU for %g s, each "
           "always\n  wanting to run.  Each one's share of the time the "
           "workers ran:\n",
           quiz->quiz ? "quiz" : "answer", seed, workers,
           options->kind == KIND_THREAD ? "thread" : "process",
           workers == 1 ? "" : "es", options->seconds);
    int total = 0;
    for (int w = 0; w < workers; w++)
        total += nice_weight(nice_of(options, w));
    for (int w = 0; w < workers; w++) {
        printf("    worker-%d nice %2d: ", w, nice_of(options, w));
        if (quiz->quiz)
            printf("?\n");
        else
            printf("%5.1f%% = weight %d / %d (the weights' sum)\n",
                   100 * nice_share(options, w), nice_weight(nice_of(options, w)),
                   total);
    }
    if (quiz->quiz && quiz->seeded)
        printf("Predict, then see: build/bin/sched --answer --seed %llu (and "
               "the same flags)\n", (unsigned long long)quiz->seed);
    else if (quiz->quiz)
        printf("Predict, then see: the same command with --answer in place of "
               "--quiz\n");
    else
        printf("The run, to check it:\n\n");
}

/* How far a measured share may be from its prediction, in points of the
 * workers' time: a slice is a few ms, so in a 0.2 s window one slice more
 * or less for a worker moves its share by one to three points; another
 * task's wake-ups add a little. */
static const double ANSWER_TOLERANCE_POINTS = 5;

/* After an --answer run: each measured share against its prediction.  Not
 * an exit status (the lab does not check shares on a shared machine): a
 * verdict, with what to try when it is off. */
static void check_answer(const struct options *options, const struct summary *s)
{
    int workers = (int)options->workers;
    double run = 0;
    for (int w = 0; w < workers; w++)
        run += s[w].run_seconds;
    printf("\nThe answer, checked against this run (within %g points of the "
           "workers' time):\n", ANSWER_TOLERANCE_POINTS);
    for (int w = 0; w < workers; w++) {
        double predicted = 100 * nice_share(options, w);
        double measured = run > 0 ? 100 * s[w].run_seconds / run : 0;
        double off = measured - predicted;
        printf("  worker-%d nice %2d: predicted %5.1f%%, measured %5.1f%%: ",
               w, nice_of(options, w), predicted, measured);
        if (fabs(off) <= ANSWER_TOLERANCE_POINTS)
            printf("as predicted\n");
        else
            printf("OFF by %+.1f points (a busy CPU or a short window: try "
                   "--seconds 1)\n", off);
    }
}

/* ---- The experiment -------------------------------------------------------- */

static int choose_cpus(int *cpu, int *other)
{
    cpu_set_t set;
    CHECK(sched_getaffinity(0, sizeof set, &set));
    *cpu = *other = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) {
            if (*cpu >= 0 && *other < 0)
                *other = *cpu;
            *cpu = c;
        }
    return CPU_COUNT(&set);
}

static const char *nice_error(int error)
{
    return error == EACCES || error == EPERM
               ? " (a negative nice needs root or CAP_SYS_NICE)"
               : "";
}

int run_timeslice(const struct options *options)
{
    if (options->quiz.quiz || options->quiz.answer)
        print_problem(options);
    if (options->quiz.quiz)
        return EXIT_OK; /* the question only: nothing runs */
    int workers = (int)options->workers;
    struct plan plan = {.options = options, .capacity = options->capacity,
                        .gap_ns = (uint64_t)(options->gap_us * 1000)};
    choose_cpus(&plan.cpu, &plan.other_cpu);
    plan.stride = sizeof(struct record) + plan.capacity * sizeof(struct gap);
    plan.stride = (plan.stride + 63) & ~(size_t)63; /* one record per cache line start */
    size_t bytes = plan.stride * (size_t)workers;

    const char *kind = options->kind == KIND_THREAD ? "thread" : "process";
    /* Opened before anything runs, so a path that cannot be written stops
     * the program now.  Time 0 is this moment; the "window opens" mark
     * shows where repetition 1 (the one traced) began. */
    struct trace *trace = options->trace_path != NULL
                              ? trace_open(options->trace_path, clock_seconds())
                              : NULL;
    if (options->csv) {
        printf("rep,worker,kind,nice,pinned,cpu,slices,kernel_slices,"
               "mean_slice_ms,median_slice_ms,max_slice_ms,longest_wait_ms,"
               "run_seconds,kernel_run_seconds,kernel_wait_seconds,"
               "window_seconds,share,expected_share,gaps_lost,pauses,"
               "pause_ms,switches_unseen\n");
    } else {
        char scheduler[256];
        describe_scheduler(scheduler, sizeof scheduler);
        printf("sched: %d CPU-bound %s%s %s for %g s; main pid %d\n", workers,
               kind, workers == 1 ? "" : "es",
               options->all_cores ? "free to use every CPU"
                                  : "pinned to one CPU",
               options->seconds, (int)getpid());
        if (options->kind == KIND_THREAD)
            printf("       (threads: %d thread%s of this one process)\n",
                   workers, workers == 1 ? "" : "s");
        if (!options->all_cores)
            printf("       CPU %d: the last of the %d this process may use\n",
                   plan.cpu, proc_cpu_count());
        printf("       %s\n", scheduler);
        printf("       each worker reads its clock in a tight loop and "
               "records a jump > %g us\n       as time off the CPU (at most "
               "%llu gaps each)\n",
               options->gap_us, (unsigned long long)plan.capacity);
    }

    int status = EXIT_OK;
    for (int rep = -(int)options->warmup; rep < (int)options->repeat; rep++) {
        plan.records = CHECK_PTR(mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                                      MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                                 MAP_FAILED);
        /* Time to start every worker before the window opens: a fork takes
         * ~0.1-1 ms here, longer under the sanitizers or on a busy box. */
        plan.start_ns = clock_nanoseconds() + 30000000u + 5000000u * (uint64_t)workers;
        plan.end_ns = plan.start_ns + (uint64_t)(options->seconds * 1e9);
        struct worker_run run = workers_run(
            options->kind == KIND_THREAD ? RUN_THREADS : RUN_PROCESSES, workers,
            timeslice_worker, &plan, NULL);

        const struct record **records = xcalloc((size_t)workers, sizeof *records);
        struct run **runs = xcalloc((size_t)workers, sizeof *runs);
        int *counts = xcalloc((size_t)workers, sizeof *counts);
        struct summary *s = xcalloc((size_t)workers, sizeof *s);
        bool ok = true;
        for (int w = 0; w < workers; w++) {
            records[w] = record_of(&plan, w);
            if (run.workers[w].status != 0) {
                fprintf(stderr, "sched: worker-%d failed: %s%s\n", w,
                        records[w]->error ? strerror(records[w]->error)
                                          : "see above",
                        nice_error(records[w]->error));
                status = EXIT_SYSTEM;
                goto next;
            }
        }
        for (int w = 0; w < workers; w++) {
            ok &= check_record(&plan, records[w], w);
            runs[w] = xcalloc(records[w]->gaps_stored + 1, sizeof *runs[w]);
            counts[w] = runs_of(records[w], runs[w]);
            s[w] = summarize(&plan, records[w], runs[w], counts[w], w);
        }
        int a = 0, b = 0;
        uint64_t overlap_total;
        uint64_t overlap = longest_overlap(runs, counts, workers, &a, &b,
                                           &overlap_total);
        if (!options->all_cores && overlap > overlap_allowed(&plan)) {
            fprintf(stderr, "sched: WRONG: worker-%d and worker-%d both ran "
                    "for %.3f ms at the same time: on one CPU\n       that is "
                    "impossible, so they were not on one CPU\n", a, b,
                    (double)overlap / 1e6);
            ok = false;
        }
        if (rep >= 0 && options->csv) {
            for (int w = 0; w < workers; w++) {
                const struct record *r = records[w];
                printf("%d,%d,%s,%d,%d,%d,%llu,%llu,%.4f,%.4f,%.4f,%.4f,%.6f,"
                       "%.6f,%.6f,%.6f,%.5f,", rep + 1, w, kind,
                       options->nice_count ? options->nice[w] : 0,
                       !options->all_cores, r->last_cpu,
                       (unsigned long long)s[w].slices,
                       (unsigned long long)r->kernel_slices, s[w].mean_ms,
                       s[w].median_ms, s[w].max_ms, s[w].longest_wait_ms,
                       s[w].run_seconds, (double)r->kernel_run_ns / 1e9,
                       (double)r->kernel_wait_ns / 1e9,
                       (double)(plan.end_ns - plan.start_ns) / 1e9, s[w].share);
                if (!isnan(s[w].expected_share))
                    printf("%.5f", s[w].expected_share);
                printf(",%llu,%llu,%.4f,%llu\n",
                       (unsigned long long)(r->gaps_seen - r->gaps_stored),
                       (unsigned long long)s[w].pauses, s[w].pause_ms,
                       (unsigned long long)r->switches_unseen);
            }
        } else if (rep == 0) {
            print_timeline(&plan, runs, counts);
            print_table(&plan, records, s, &run);
            interpret(&plan, records, s);
            if (options->quiz.answer)
                check_answer(options, s);
            if (options->all_cores)
                printf("  Two or more workers ran at the same moment for "
                       "%.1f ms in all: in parallel.\n",
                       (double)overlap_total / 1e6);
        } else if (!options->csv) {
            printf("repetition %d:", rep + 1);
            for (int w = 0; w < workers; w++)
                printf(" worker-%d %llu slices %.1f%%", w,
                       (unsigned long long)s[w].slices, 100 * s[w].share);
            putchar('\n');
        }
        /* A failed run is traced too: the trace shows what went wrong. */
        if (rep == 0 && trace != NULL)
            add_to_trace(trace, &plan, runs, counts, &run, records);
        if (!ok)
            status = EXIT_WRONG;
    next:
        for (int w = 0; w < workers; w++)
            free(runs[w]);
        free(runs);
        free(counts);
        free(s);
        free(records);
        worker_run_release(&run);
        CHECK(munmap(plan.records, bytes));
        if (status != EXIT_OK)
            break;
    }
    if (trace != NULL) {
        struct trace_summary summary = trace_close(trace);
        if (!options->csv)
            printf("\nTrace: %d events in %s (open it in ui.perfetto.dev or "
                   "chrome://tracing)\n",
                   summary.events, options->trace_path);
        if (summary.dropped_overlaps > 0)
            fprintf(stderr, "sched: %d overlapping slices left out of the "
                            "trace\n", summary.dropped_overlaps);
    }
    if (status == EXIT_OK && !options->csv) {
        if (options->all_cores)
            printf("Check: every record is consistent. OK\n");
        else
            printf("Check: every worker ran only on CPU %d, no two at once "
                   "(overlaps < %.2f ms), every record consistent. OK\n",
                   plan.cpu, (double)overlap_allowed(&plan) / 1e6);
    }
    return status;
}
