/* cluster.c: the counting experiment spread over MPI ranks on several hosts (E17).
 *
 * The experiment.  The documents announce that "with a little
 * configuration, processes can be spread across several machines" and never
 * show it.  This program shows it with MPI, the engine C programs use for
 * that: the same job as lab 02 count -- W tasks, each adding 1 to a sum N
 * times (common/kernel.h) -- split over the ranks of an MPI job that
 * `mpirun` started on one or several hosts.
 *
 * What is new compared with processes on one machine (lab 02):
 *   - no shared memory: a rank's sum lives in that rank's address space, on
 *     its own host; the only way to combine results is an explicit message;
 *   - so rank 0 collects them with collective operations: MPI_Reduce(SUM)
 *     for the total, MPI_Reduce(MAX) for the slowest rank's time, and
 *     MPI_Gather for each rank's own report (host, pid, time);
 *   - the launch path: mpirun -> one daemon (orted) per host -> the ranks.
 *     Starting all that costs far more than a fork (about 0.35 s on the
 *     machine in results/machine.txt), so it is measured apart, by an empty
 *     run (--experiment empty: MPI_Init and MPI_Finalize only), and never
 *     mixed into the counting time.
 *
 * Experiments (--experiment):
 *   count     each rank counts its block of the W x N additions; rank 0
 *             reduces, checks the total (exit 1 when wrong) and prints a
 *             table of ranks, hosts, pids and times
 *   pingpong  ranks 0 and 1 bounce a message: round-trip latency (8 bytes)
 *             and bandwidth (--size bytes), to set beside lab 05's pipe
 *   empty     MPI_Init, MPI_Finalize, nothing else: what cluster.sh times
 *             to measure mpirun's start-up
 *
 * Run:    labs/10-cluster/cluster.sh --hosts 2 --slots 1   (2 fake hosts)
 *         mpirun -np 2 build/bin/cluster --workers 2 --iterations 100M
 * Notice: each rank names its own host and pid; the sum only exists once
 *         rank 0 has reduced it; hosts on one machine share its cores.
 *
 * Flags are parsed before MPI_Init: a bad command line is refused (exit 2)
 * before any MPI machinery starts, and cluster.sh checks it with
 * --validate before it starts mpirun at all.
 */
#define _GNU_SOURCE /* gethostname's HOST_NAME_MAX, getpid */
#include "checked.h"
#include "flags.h"
#include "kernel.h"
#include "launch.h"
#include "timing.h"
#include "watchdog.h"

#include <mpi.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Command line ------------------------------------------------------ */

static const char *const experiment_names[] = {"count", "pingpong", "empty",
                                               NULL};
enum { EXP_COUNT, EXP_PINGPONG, EXP_EMPTY };

struct options {
    int experiment;
    uint64_t workers, iterations, repeat, warmup;
    uint64_t roundtrips, size, inject_error;
    double timeout, startup;
    bool csv, validate;
    bool inject_given, startup_given;
};

/* Before MPI_Init a rank does not know its rank yet, but Open MPI's
 * launcher has already told it in the environment.  Only rank 0 (or a
 * program run without mpirun) reports a bad command line: otherwise every
 * rank would print the same error. */
static bool launched_as_rank_zero(void)
{
    const char *rank = getenv("OMPI_COMM_WORLD_RANK");
    return rank == NULL || strcmp(rank, "0") == 0;
}

static _Noreturn void usage_error(const struct program *program,
                                  const char *message)
{
    if (launched_as_rank_zero()) {
        fprintf(stderr, "%s: %s\n", program->name, message);
        fprintf(stderr, "Try '%s --help' for more information.\n",
                program->name);
    }
    exit(EXIT_USAGE);
}

static struct options parse(int argc, char **argv, struct program *program)
{
    struct options options = {.experiment = EXP_COUNT, .workers = 5,
                              .iterations = 100000000, .repeat = 1,
                              .warmup = 1, .roundtrips = 10000,
                              .size = 1 << 20, .timeout = 60};
    /* The shared flags, in this lab's words: W and N describe the whole
     * job, which the ranks split between them. */
    struct flag workers = flag_workers(&options.workers, 1024);
    workers.help = "tasks of N additions each (the documents' W), "
                   "block-split over the ranks";
    struct flag iterations = flag_iterations(&options.iterations);
    iterations.help = "additions per task (k, M, G suffixes allowed)";
    struct flag flags[] = {
        {.name = "experiment", .type = FLAG_CHOICE,
         .target = &options.experiment, .choices = experiment_names,
         .value_name = "E",
         .help = "count (default), pingpong (ranks 0 and 1), or empty "
                 "(start-up only)"},
        workers,
        iterations,
        flag_repeat(&options.repeat),
        flag_warmup(&options.warmup),
        {.name = "roundtrips", .type = FLAG_COUNT,
         .target = &options.roundtrips, .min = 1, .max = 10000000,
         .value_name = "M",
         .help = "pingpong: 8-byte round trips per repetition (latency)"},
        {.name = "size", .type = FLAG_COUNT, .target = &options.size,
         .min = 1, .max = 64 << 20, .value_name = "B",
         .help = "pingpong: message size for the bandwidth part (k, M "
                 "suffixes allowed)"},
        {.name = "startup", .type = FLAG_DECIMAL, .target = &options.startup,
         .low = 0, .high = 3600, .value_name = "S",
         .help = "mpirun's start-up, measured by an empty run (cluster.sh "
                 "passes it), to print beside the run"},
        {.name = "inject-error", .type = FLAG_COUNT,
         .target = &options.inject_error, .min = 0, .max = 1000000,
         .value_name = "R",
         .help = "for the tests: rank R adds one too many, so the check "
                 "must fail (exit 1)"},
        flag_timeout(&options.timeout),
        flag_csv(&options.csv),
        {.name = "validate", .type = FLAG_SWITCH, .target = &options.validate,
         .help = "check the flags, print the --timeout in seconds, exit; "
                 "no MPI (cluster.sh's first step)"},
        FLAG_END,
    };
    program->flags = flags;
    char error[512];
    int rc = flags_parse(program, argc, argv, error, sizeof error);
    if (rc == 1) {
        if (launched_as_rank_zero())
            flags_print_help(program);
        exit(EXIT_OK);
    }
    if (rc < 0)
        usage_error(program, error);

    /* Checks across flags, before anything runs. */
    bool pingpong = options.experiment == EXP_PINGPONG;
    if (!pingpong && (flags_given(program, "roundtrips") ||
                      flags_given(program, "size")))
        usage_error(program, "--roundtrips, --size: only with --experiment "
                             "pingpong");
    if (options.experiment != EXP_COUNT &&
        (flags_given(program, "workers") ||
         flags_given(program, "iterations") ||
         flags_given(program, "inject-error")))
        usage_error(program, "--workers, --iterations, --inject-error: only "
                             "with --experiment count");
    if (options.workers * options.iterations / options.workers !=
        options.iterations)
        usage_error(program, "--workers x --iterations: the total does not "
                             "fit in 64 bits");
    options.inject_given = flags_given(program, "inject-error");
    options.startup_given = flags_given(program, "startup");
    program->flags = NULL; /* the table lived on this stack frame */
    return options;
}

/* ---- Who this rank is -------------------------------------------------- */

struct self {
    int rank, size;
    char host[MPI_MAX_PROCESSOR_NAME];
    int pid;
};

/* What this rank is doing, for the watchdog's diagnosis (atomics only: the
 * watchdog thread reads them). */
enum phase { IN_INIT, COUNTING, REDUCING, PINGING, FINALIZING };
static const char *const phase_text[] = {
    [IN_INIT] = "starting MPI (MPI_Init: contacting its host's daemon)",
    [COUNTING] = "counting its block",
    [REDUCING] = "in MPI_Reduce/MPI_Gather, waiting for the other ranks",
    [PINGING] = "in the ping-pong, waiting for the other rank's message",
    [FINALIZING] = "in MPI_Finalize, waiting for the other ranks",
};
static _Atomic int current_phase = IN_INIT, current_rep, current_rank = -1;
static struct self me; /* written before `current_rank` is set, then read-only */

static void diagnose(void *arg, FILE *out)
{
    const struct options *options = arg;
    int rank = current_rank, phase = current_phase, rep = current_rep;
    if (rank < 0)
        fprintf(out, "cluster: pid %d was %s\n", (int)getpid(),
                phase_text[IN_INIT]);
    else
        fprintf(out, "cluster: rank %d of %d on %s (pid %d) was %s, %s %d\n",
                rank, me.size, me.host, me.pid, phase_text[phase],
                rep < 0 ? "warm-up" : "repetition",
                rep < 0 ? rep + (int)options->warmup + 1 : rep + 1);
    fprintf(out, "cluster: one rank counts about 1-3 G iterations/s on a "
                 "core of its own; raise --timeout\n         or lower "
                 "--iterations (ranks on one machine share its cores)\n");
}

/* ---- The measured work: each rank's block of W x N -------------------- */

/* Block split: the W x N additions are cut into `size` blocks that differ
 * by at most one, rank r taking block r.  (Whole tasks per rank would leave
 * ranks idle whenever W is not a multiple of the rank count.) */
static uint64_t share_of(uint64_t total, int rank, int size)
{
    uint64_t base = total / (uint64_t)size, extra = total % (uint64_t)size;
    return base + ((uint64_t)rank < extra ? 1 : 0);
}

/* One repetition on this rank: count, then combine at rank 0.  The loop is
 * kernel_count(), the count lab's, whose empty asm keeps every addition
 * from being folded away by the compiler (see kernel.h). */
struct rep_result {
    double seconds;       /* this rank's counting time */
    uint64_t sum;         /* this rank's sum */
    uint64_t total;       /* rank 0: MPI_Reduce SUM of the sums */
    double slowest;       /* rank 0: MPI_Reduce MAX of the times */
    double run_seconds;   /* rank 0: barrier to reduced results */
};

static struct rep_result count_once(const struct options *options,
                                    uint64_t share, double *all_seconds,
                                    uint64_t *all_sums)
{
    struct rep_result r = {0};
    MPI_Barrier(MPI_COMM_WORLD); /* every rank starts together */
    double run_started = clock_seconds();
    current_phase = COUNTING;
    double started = clock_seconds();
    r.sum = kernel_count(0, share);
    r.seconds = clock_seconds() - started;
    if (options->inject_given && (int)options->inject_error == me.rank)
        r.sum += 1; /* BUGGY ON PURPOSE (--inject-error, for the tests) */
    current_phase = REDUCING;
    /* The sums exist only in each rank's memory, on its own host: the
     * reduction is the message that brings them together. */
    /* EXERCISE 1: the reduction: every rank's r.sum, added up, into rank
     * 0's r.total (MPI_Reduce, one MPI_UINT64_T, MPI_SUM, root 0) */
    MPI_Reduce(&r.sum, &r.total, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&r.seconds, &r.slowest, 1, MPI_DOUBLE, MPI_MAX, 0,
               MPI_COMM_WORLD);
    r.run_seconds = clock_seconds() - run_started;
    /* Each rank's own figures, for the table (after the run is timed). */
    MPI_Gather(&r.seconds, 1, MPI_DOUBLE, all_seconds, 1, MPI_DOUBLE, 0,
               MPI_COMM_WORLD);
    MPI_Gather(&r.sum, 1, MPI_UINT64_T, all_sums, 1, MPI_UINT64_T, 0,
               MPI_COMM_WORLD);
    return r;
}

/* ---- Rank 0's narration ------------------------------------------------ */

struct layout {
    char (*hosts)[MPI_MAX_PROCESSOR_NAME]; /* per rank */
    int *pids;                             /* per rank */
    int host_count;                        /* distinct names */
    char host_list[256];                   /* "nodeA, nodeB" */
};

/* Every rank sends rank 0 its host name and pid, once. */
static struct layout gather_layout(void)
{
    struct layout l = {0};
    if (me.rank == 0) {
        l.hosts = xcalloc((size_t)me.size, sizeof *l.hosts);
        l.pids = xcalloc((size_t)me.size, sizeof *l.pids);
    }
    MPI_Gather(me.host, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, l.hosts,
               MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, MPI_COMM_WORLD);
    MPI_Gather(&me.pid, 1, MPI_INT, l.pids, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (me.rank != 0)
        return l;
    for (int r = 0; r < me.size; r++) {
        bool seen = false;
        for (int q = 0; q < r && !seen; q++)
            seen = strcmp(l.hosts[q], l.hosts[r]) == 0;
        if (seen)
            continue;
        size_t used = strlen(l.host_list);
        snprintf(l.host_list + used, sizeof l.host_list - used, "%s%s",
                 l.host_count ? ", " : "", l.hosts[r]);
        l.host_count++;
    }
    return l;
}

static void layout_free(struct layout *l)
{
    free(l->hosts);
    free(l->pids);
}

static void narrate_rep(const struct layout *l, const struct rep_result *r,
                        const double *all_seconds, const uint64_t *all_sums,
                        const struct options *options, int rep)
{
    printf("\n== %s %d: each rank counts its block, then rank 0 reduces\n",
           rep < 0 ? "warm-up" : "repetition",
           rep < 0 ? rep + (int)options->warmup + 1 : rep + 1);
    printf("  %-9s %-12s %-8s %14s %10s\n", "rank", "host", "pid",
           "iterations", "time");
    for (int rank = 0; rank < me.size; rank++) {
        char took[32], label[24];
        snprintf(label, sizeof label, "%d/%d", rank, me.size);
        uint64_t expected = share_of(options->workers * options->iterations,
                                     rank, me.size);
        printf("  %-9s %-12s %-8d %14llu %10s  %s\n", label, l->hosts[rank],
               l->pids[rank], (unsigned long long)all_sums[rank],
               duration_text(all_seconds[rank], took, sizeof took),
               all_sums[rank] == expected ? "ok" : "WRONG");
    }
    char slowest[32], run[32];
    printf("  sum (MPI_Reduce SUM) %llu; slowest rank (MPI_Reduce MAX) %s; "
           "the run on rank 0 %s\n",
           (unsigned long long)r->total,
           duration_text(r->slowest, slowest, sizeof slowest),
           duration_text(r->run_seconds, run, sizeof run));
}

static void print_stats_row(const char *label, const double *samples, int n)
{
    struct stats s = stats_of(samples, n);
    char median[32], min[32], max[32];
    printf("  %-22s %10s %10s %10s\n", label,
           duration_text(s.median, median, sizeof median),
           duration_text(s.min, min, sizeof min),
           duration_text(s.max, max, sizeof max));
}

static void print_summary(const struct layout *l, const double *runs,
                          const double *slowest, const struct options *options)
{
    int n = (int)options->repeat;
    printf("\nSummary: %d rank%s on %d host%s (%s), median of %d run%s\n",
           me.size, me.size == 1 ? "" : "s", l->host_count,
           l->host_count == 1 ? "" : "s", l->host_list, n, n == 1 ? "" : "s");
    printf("  %-22s %10s %10s %10s\n", "measure", "median", "min", "max");
    print_stats_row("run (rank 0)", runs, n);
    print_stats_row("slowest rank's count", slowest, n);
    char startup[32];
    if (options->startup_given)
        printf("  mpirun start-up %s, measured apart by an empty run "
               "(MPI_Init + MPI_Finalize\n  on every rank); not included in "
               "the times above\n",
               duration_text(options->startup, startup, sizeof startup));
    else
        printf("  mpirun start-up: not measured in this run (cluster.sh "
               "measures it with an\n  empty run and passes --startup); it is "
               "not in the times above\n");
}

/* ---- The count experiment ---------------------------------------------- */

static int run_count(const struct options *options)
{
    if (options->inject_given && options->inject_error >= (uint64_t)me.size) {
        if (me.rank == 0)
            fprintf(stderr, "cluster: --inject-error: rank %llu, but this job "
                            "has ranks 0 to %d\n"
                            "Try 'cluster --help' for more information.\n",
                    (unsigned long long)options->inject_error, me.size - 1);
        return EXIT_USAGE;
    }
    uint64_t total = options->workers * options->iterations;
    uint64_t share = share_of(total, me.rank, me.size);
    struct layout layout = gather_layout();
    int n = (int)options->repeat;
    double *runs = xcalloc((size_t)n, sizeof *runs);
    double *slowest = xcalloc((size_t)n, sizeof *slowest);
    double *all_seconds = xcalloc((size_t)me.size, sizeof *all_seconds);
    uint64_t *all_sums = xcalloc((size_t)me.size, sizeof *all_sums);
    bool correct = true;

    if (me.rank == 0 && options->csv)
        printf("type,rep,rank,size,host,pid,iterations,seconds\n");
    else if (me.rank == 0)
        printf("cluster: %llu tasks x %llu iterations = %llu additions, "
               "block-split over %d rank%s on %d host%s (%s)\n",
               (unsigned long long)options->workers,
               (unsigned long long)options->iterations,
               (unsigned long long)total, me.size, me.size == 1 ? "" : "s",
               layout.host_count, layout.host_count == 1 ? "" : "s",
               layout.host_list);
    if (me.rank == 0 && options->csv && options->startup_given)
        printf("startup,0,0,%d,%s,%d,0,%.6f\n", me.size, me.host, me.pid,
               options->startup);

    for (int rep = -(int)options->warmup; rep < n && correct; rep++) {
        current_rep = rep;
        struct rep_result r = count_once(options, share, all_seconds, all_sums);
        int verdict = 1;
        if (me.rank == 0) {
            verdict = r.total == total;
            if (!verdict && !options->csv)
                narrate_rep(&layout, &r, all_seconds, all_sums, options, rep);
            if (verdict && rep >= 0) {
                runs[rep] = r.run_seconds;
                slowest[rep] = r.slowest;
                if (options->csv) {
                    for (int q = 0; q < me.size; q++)
                        printf("rank,%d,%d,%d,%s,%d,%llu,%.6f\n", rep + 1, q,
                               me.size, layout.hosts[q], layout.pids[q],
                               (unsigned long long)all_sums[q],
                               all_seconds[q]);
                    printf("slowest,%d,0,%d,%s,%d,%llu,%.6f\n", rep + 1,
                           me.size, me.host, me.pid,
                           (unsigned long long)r.total, r.slowest);
                    printf("run,%d,0,%d,%s,%d,%llu,%.6f\n", rep + 1, me.size,
                           me.host, me.pid, (unsigned long long)r.total,
                           r.run_seconds);
                } else if (rep == 0) {
                    narrate_rep(&layout, &r, all_seconds, all_sums, options, rep);
                }
            }
            if (!verdict) {
                fprintf(stderr,
                        "cluster: WRONG: the ranks' sum is %llu, expected %llu "
                        "x %llu = %llu%s\n",
                        (unsigned long long)r.total,
                        (unsigned long long)options->workers,
                        (unsigned long long)options->iterations,
                        (unsigned long long)total,
                        options->inject_given
                            ? " (--inject-error made one rank wrong on purpose)"
                            : "");
            }
        }
        /* Rank 0 alone knows the verdict: every rank must hear it, or
         * the others would start the next repetition and wait forever in
         * its barrier. */
        MPI_Bcast(&verdict, 1, MPI_INT, 0, MPI_COMM_WORLD);
        correct = verdict;
    }
    if (me.rank == 0 && correct && !options->csv) {
        print_summary(&layout, runs, slowest, options);
        printf("Check: the reduced sum is %llu = %llu x %llu in every "
               "repetition. OK\n",
               (unsigned long long)total, (unsigned long long)options->workers,
               (unsigned long long)options->iterations);
    }
    free(runs);
    free(slowest);
    free(all_seconds);
    free(all_sums);
    layout_free(&layout);
    return correct ? EXIT_OK : EXIT_WRONG;
}

/* ---- The ping-pong experiment ------------------------------------------ */

/* Ranks 0 and 1 send a message back and forth `trips` times; rank 1 adds 1
 * to the counter in its first 8 bytes before sending it back, so rank 0
 * checks that every reply is the answer to the message it just sent.
 * Returns the seconds taken (rank 0), or -1 when a reply was wrong. */
static double bounce(unsigned char *buffer, int bytes, uint64_t trips)
{
    enum { TAG = 17 };
    int peer = me.rank == 0 ? 1 : 0;
    double started = clock_seconds();
    for (uint64_t i = 0; i < trips; i++) {
        uint64_t counter;
        if (me.rank == 0) {
            counter = 2 * i;
            memcpy(buffer, &counter, sizeof counter);
            MPI_Send(buffer, bytes, MPI_BYTE, peer, TAG, MPI_COMM_WORLD);
            MPI_Recv(buffer, bytes, MPI_BYTE, peer, TAG, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            memcpy(&counter, buffer, sizeof counter);
            if (counter != 2 * i + 1)
                return -1;
        } else {
            MPI_Recv(buffer, bytes, MPI_BYTE, peer, TAG, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            memcpy(&counter, buffer, sizeof counter);
            counter += 1;
            memcpy(buffer, &counter, sizeof counter);
            MPI_Send(buffer, bytes, MPI_BYTE, peer, TAG, MPI_COMM_WORLD);
        }
    }
    return clock_seconds() - started;
}

static int run_pingpong(const struct options *options)
{
    if (me.size < 2) {
        if (me.rank == 0)
            fprintf(stderr, "cluster: --experiment pingpong: needs 2 ranks "
                            "or more (mpirun -np 2, or cluster.sh --slots "
                            "2), this job has %d\n"
                            "Try 'cluster --help' for more information.\n",
                    me.size);
        return EXIT_USAGE;
    }
    struct layout layout = gather_layout();
    /* Latency: 8-byte messages (the counter), like lab 05's round trips.
     * Bandwidth: --size bytes, as many trips as make about 64 MiB each way
     * (at least 16, at most 100,000), so one repetition takes a fraction
     * of a second on loopback or shared memory. */
    const int small = 8;
    int big = (int)options->size < small ? small : (int)options->size;
    uint64_t big_trips = ((uint64_t)64 << 20) / (uint64_t)big;
    big_trips = big_trips < 16 ? 16 : big_trips > 100000 ? 100000 : big_trips;
    unsigned char *buffer = xcalloc((size_t)big, 1);
    int n = (int)options->repeat;
    double *latency = xcalloc((size_t)n, sizeof *latency);
    double *bandwidth = xcalloc((size_t)n, sizeof *bandwidth);
    int verdict = 1;

    if (me.rank == 0 && options->csv)
        printf("kind,host0,host1,bytes,roundtrips,rep,seconds\n");
    else if (me.rank == 0)
        printf("cluster: ping-pong between rank 0 (%s, pid %d) and rank 1 "
               "(%s, pid %d)%s\n",
               layout.hosts[0], layout.pids[0], layout.hosts[1],
               layout.pids[1],
               strcmp(layout.hosts[0], layout.hosts[1]) == 0
                   ? ", on the same host"
                   : ", on two hosts");
    current_phase = PINGING;
    for (int rep = -(int)options->warmup; rep < n && verdict; rep++) {
        current_rep = rep;
        double small_s = -1, big_s = -1;
        MPI_Barrier(MPI_COMM_WORLD);
        if (me.rank < 2) {
            small_s = bounce(buffer, small, options->roundtrips);
            big_s = bounce(buffer, big, big_trips);
        }
        if (me.rank == 0) {
            verdict = small_s >= 0 && big_s >= 0;
            if (verdict && rep >= 0) {
                latency[rep] = small_s / (double)options->roundtrips;
                bandwidth[rep] = 2.0 * big * (double)big_trips / big_s;
                if (options->csv) {
                    printf("latency,%s,%s,%d,%llu,%d,%.6f\n", layout.hosts[0],
                           layout.hosts[1], small,
                           (unsigned long long)options->roundtrips, rep + 1,
                           small_s);
                    printf("bandwidth,%s,%s,%d,%llu,%d,%.6f\n",
                           layout.hosts[0], layout.hosts[1], big,
                           (unsigned long long)big_trips, rep + 1, big_s);
                }
            }
        }
        MPI_Bcast(&verdict, 1, MPI_INT, 0, MPI_COMM_WORLD);
    }
    if (me.rank == 0 && !verdict)
        fprintf(stderr, "cluster: WRONG: a ping-pong reply did not answer the "
                        "message just sent\n");
    if (me.rank == 0 && verdict && !options->csv) {
        struct stats l = stats_of(latency, n), b = stats_of(bandwidth, n);
        printf("  round trip, %d bytes: median %.2f us (min %.2f, max %.2f) "
               "over %llu round trips x %d\n",
               small, l.median * 1e6, l.min * 1e6, l.max * 1e6,
               (unsigned long long)options->roundtrips, n);
        printf("  bandwidth, %d-byte messages: median %.0f MB/s (min %.0f, "
               "max %.0f), %llu round trips x %d\n",
               big, b.median / 1e6, b.min / 1e6, b.max / 1e6,
               (unsigned long long)big_trips, n);
        printf("  (lab 05 measured a pipe and its queue the same way: "
               "results/ipc-roundtrip-summary.csv)\n");
        printf("Check: every reply answered the message just sent. OK\n");
    }
    free(buffer);
    free(latency);
    free(bandwidth);
    layout_free(&layout);
    return verdict ? EXIT_OK : EXIT_WRONG;
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv)
{
    struct program program = {
        .name = "cluster",
        .synopsis = "the counting experiment spread over MPI ranks on "
                    "several hosts (E17)",
        .description =
            "Run it under mpirun, or through labs/10-cluster/cluster.sh, "
            "which makes\nseveral hosts out of this machine:\n"
            "  labs/10-cluster/cluster.sh --hosts 2 --slots 1 -- --workers 2\n"
            "  mpirun -np 2 build/bin/cluster --workers 2 --iterations 100M\n"
            "count: the W x N additions of lab 02 are block-split over the "
            "ranks; each\nrank counts its block (kernel.h's loop), rank 0 "
            "reduces the sums\n(MPI_Reduce SUM) and the times (MAX), gathers "
            "every rank's host, pid and\ntime, checks the total and prints a "
            "table.  mpirun's start-up is not in\nthe times: cluster.sh "
            "measures it with an empty run and passes --startup.\n"
            "cluster.sh also runs mpirun through this program (cluster "
            "--launch, launch.c),\nwhich times it and reaps every daemon "
            "and rank it leaves behind.\n\n"
            "CSV (--csv), count: type,rep,rank,size,host,pid,iterations,"
            "seconds\n"
            "  type rank: one per rank and repetition, its share and its "
            "counting time;\n  slowest: the MAX of those times, iterations = "
            "the reduced total;\n  run: rank 0's time from the start barrier "
            "to the reduced results;\n  startup: the --startup figure (rep "
            "0), when given.\n"
            "CSV, pingpong: kind,host0,host1,bytes,roundtrips,rep,seconds\n"
            "  kind latency (8-byte messages) or bandwidth (--size bytes).",
        .exit_notes = "  Exit 1: the reduced sum is not W x N (or a "
                      "ping-pong reply was wrong).\n  Under mpirun, the job's "
                      "status is the first failing rank's.",
    };
    /* cluster.sh's launcher role (launch.c): not a rank, no MPI. */
    if (argc > 1 && strcmp(argv[1], "--launch") == 0)
        return launch_main(argc - 1, argv + 1);
    struct options options = parse(argc, argv, &program);
    if (options.validate) {
        /* cluster.sh's first step: the command line is good; here is the
         * timeout to give mpirun's own watchdog. */
        printf("%g\n", options.timeout);
        return EXIT_OK;
    }

    /* The watchdog (a thread) starts before MPI_Init, so the threads
     * Open MPI starts inherit its blocked signals, and a rank stuck in
     * MPI_Init is bounded too. */
    watchdog_start(program.name, options.timeout);
    watchdog_set_diagnosis(diagnose, &options);

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &me.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &me.size);
    int length;
    MPI_Get_processor_name(me.host, &length); /* this host's name */
    me.pid = (int)getpid();
    current_rank = me.rank;

    int status = EXIT_OK;
    if (options.experiment == EXP_COUNT)
        status = run_count(&options);
    else if (options.experiment == EXP_PINGPONG)
        status = run_pingpong(&options);
    /* EXP_EMPTY: nothing between MPI_Init and MPI_Finalize. */

    fflush(stdout);
    current_phase = FINALIZING;
    MPI_Finalize();
    watchdog_stop();
    return status;
}
