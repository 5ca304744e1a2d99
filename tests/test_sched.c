/* test_sched.c: integration tests of build/bin/sched (lab 03, E16, E13)
 * and unit tests of common/trace.
 *
 * The machine may be shared, so nothing here checks a share or a slice
 * length against a target: other tasks on the pinned CPU take time from
 * every worker.  What is checked is what must hold on any machine: the
 * pinning (and that a misplaced worker fails the run), the records' own
 * consistency, the kernel's counts being there and of the same order, the
 * CSV contract, the traces' structure (parsed by jq), the crossover's
 * totals, the delay server started and stopped with nothing left, usage
 * errors and Ctrl+C.
 */
#define _GNU_SOURCE
#include "harness.h"

#include "timing.h"
#include "trace.h"

#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct program_result run_sched(const char *const argv[])
{
    return program_run(30 * time_scale(), argv);
}

/* The last CPU this process may use: the one the lab pins to. */
static int last_cpu(void)
{
    cpu_set_t set;
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    int last = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            last = c;
    return last;
}

static void wait_for_children(pid_t pid, int count)
{
    pid_t pids[16];
    double deadline = clock_seconds() + 5 * time_scale();
    while (children_of(pid, pids, 16) < count) {
        ck_assert_msg(clock_seconds() < deadline, "workers never started");
        clock_sleep(0.01);
    }
}

/* ---- CSV ------------------------------------------------------------------ */

#define TIMESLICE_HEADER                                                       \
    "rep,worker,kind,nice,pinned,cpu,slices,kernel_slices,mean_slice_ms,"      \
    "median_slice_ms,max_slice_ms,longest_wait_ms,run_seconds,"                \
    "kernel_run_seconds,kernel_wait_seconds,window_seconds,share,"             \
    "expected_share,gaps_lost,pauses,pause_ms,switches_unseen"

struct slice_row {
    int rep, worker, nice, pinned, cpu;
    char kind[16];
    unsigned long long slices, kernel_slices, gaps_lost, pauses, unseen;
    double pause_ms;
    double mean, median, max, longest_wait, run, kernel_run, kernel_wait,
        window, share, expected;
};

/* Parse the timeslice CSV into rows (at most `capacity`); returns the count. */
static int parse_timeslice(const char *out, struct slice_row *rows, int capacity)
{
    ck_assert_msg(strncmp(out, TIMESLICE_HEADER "\n",
                          strlen(TIMESLICE_HEADER) + 1) == 0,
                  "CSV must start with the header, got: %.200s", out);
    char *copy = strdup(out + strlen(TIMESLICE_HEADER) + 1), *save = NULL;
    int n = 0;
    for (char *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        ck_assert_int_lt(n, capacity);
        struct slice_row *r = &rows[n++];
        int consumed = 0;
        char expected[32] = "";
        int fields = sscanf(
            line,
            "%d,%d,%15[a-z],%d,%d,%d,%llu,%llu,%lf,%lf,%lf,%lf,%lf,%lf,%lf,"
            "%lf,%lf,%31[0-9.],%llu,%llu,%lf,%llu%n",
            &r->rep, &r->worker, r->kind, &r->nice, &r->pinned, &r->cpu,
            &r->slices, &r->kernel_slices, &r->mean, &r->median, &r->max,
            &r->longest_wait, &r->run, &r->kernel_run, &r->kernel_wait,
            &r->window, &r->share, expected, &r->gaps_lost, &r->pauses,
            &r->pause_ms, &r->unseen, &consumed);
        if (fields == 17) { /* an empty expected_share: unknown */
            ck_assert_int_eq(sscanf(strstr(line, ",,") + 2, "%llu,%llu,%lf,%llu%n",
                                    &r->gaps_lost, &r->pauses, &r->pause_ms,
                                    &r->unseen, &consumed), 4);
            r->expected = NAN;
            consumed = (int)strlen(line);
        } else {
            ck_assert_msg(fields == 22 && line[consumed] == '\0',
                          "not a timeslice row: '%s'", line);
            r->expected = atof(expected);
        }
    }
    free(copy);
    return n;
}

/* What every timeslice row must satisfy, loaded machine or not. */
static void check_slice_row(const struct slice_row *r, const char *kind,
                            bool pinned, double window)
{
    ck_assert_str_eq(r->kind, kind);
    ck_assert_int_eq(r->pinned, pinned);
    if (pinned)
        ck_assert_int_eq(r->cpu, last_cpu());
    ck_assert_msg(fabs(r->window - window) < 1e-6, "window %f", r->window);
    ck_assert_uint_ge(r->slices, 1);
    ck_assert_uint_ge(r->kernel_slices, 1);
    /* Every switch the worker counted (slices - 1 after the first, plus
     * those too short to see) is one the kernel counted too, within the
     * kernel's longer window; the first slice may not be a wake-up (a
     * worker that started late did not sleep): hence the + 1.  Counting a
     * pause (no switch) as a slice breaks this. */
    ck_assert_msg(r->kernel_slices + 1 >= r->slices + r->unseen,
                  "kernel %llu slices < measured %llu + %llu unseen",
                  r->kernel_slices, r->slices, r->unseen);
    /* each pause is a gap longer than --gap-us (50 us); a full record
     * (gaps lost) knows the time of the stored ones only */
    if (r->gaps_lost == 0)
        ck_assert_msg(r->pauses == 0 ? r->pause_ms == 0
                                     : r->pause_ms > 0.05 * (double)r->pauses,
                      "%llu pauses of %f ms in all", r->pauses, r->pause_ms);
    /* the mean slice is the run time over the slice count */
    ck_assert_msg(fabs(r->mean * (double)r->slices - r->run * 1e3) <
                      0.01 * r->run * 1e3 + 0.01,
                  "mean %f x %llu slices != run %f s", r->mean, r->slices,
                  r->run);
    ck_assert_msg(r->median <= r->max + 1e-9 && r->mean <= r->max + 1e-6,
                  "median %f mean %f max %f", r->median, r->mean, r->max);
    ck_assert_msg(r->run > 0 && r->run <= window * 1.01 + 0.002,
                  "run %f s in a %f s window", r->run, window);
    ck_assert_msg(fabs(r->share - r->run / window) < 1e-3, "share %f", r->share);
    /* The kernel's run time: never more than what the worker saw plus its
     * set-up before the window; it may be much less on a busy VM, where the
     * kernel does not count the time the hypervisor stole as run time (seen
     * here: 5.6 ms of 10.5 ms). */
    ck_assert_msg(r->kernel_run > 0 &&
                      r->kernel_run <= r->run + 0.05 * time_scale(),
                  "kernel run %f s, measured %f s", r->kernel_run, r->run);
    /* every recorded wait is a gap longer than --gap-us (50 us); how long
     * is the machine's business (a busy one can hold a worker off past the
     * end of the window); a pause is a gap too */
    if (r->slices > 1 || r->pauses > 0)
        ck_assert_msg(r->longest_wait > 0.05, "wait %f ms", r->longest_wait);
    else
        ck_assert_msg(r->longest_wait == 0, "wait %f ms", r->longest_wait);
}

START_TEST(timeslice_processes_pinned_csv)
{
    const char *argv[] = {"sched", "--csv", "--workers", "3", "--seconds",
                          "0.1", NULL};
    struct program_result r = run_sched(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    struct slice_row rows[8];
    int n = parse_timeslice(r.out, rows, 8);
    ck_assert_int_eq(n, 3);
    double shares = 0;
    for (int i = 0; i < n; i++) {
        check_slice_row(&rows[i], "process", true, 0.1);
        ck_assert_int_eq(rows[i].worker, i);
        ck_assert_int_eq(rows[i].nice, 0);
        ck_assert_uint_eq(rows[i].gaps_lost, 0);
        ck_assert_msg(fabs(rows[i].expected - 1.0 / 3) < 1e-4, "expected %f",
                      rows[i].expected);
        shares += rows[i].share;
    }
    /* one CPU: the shares cannot add up to more than all of it */
    ck_assert_msg(shares <= 1.01, "pinned shares add up to %f", shares);
    ck_assert_str_eq(r.err, "");
    program_result_free(&r);
}
END_TEST

START_TEST(timeslice_threads_pinned_csv_and_repeat)
{
    const char *argv[] = {"sched", "--csv", "--kind", "thread", "--workers",
                          "2", "--seconds", "0.05", "--repeat", "2", NULL};
    struct program_result r = run_sched(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    struct slice_row rows[8];
    ck_assert_int_eq(parse_timeslice(r.out, rows, 8), 4);
    for (int i = 0; i < 4; i++) {
        check_slice_row(&rows[i], "thread", true, 0.05);
        ck_assert_int_eq(rows[i].rep, 1 + i / 2);
        ck_assert_int_eq(rows[i].worker, i % 2);
    }
    program_result_free(&r);
}
END_TEST

START_TEST(timeslice_all_cores_is_unpinned)
{
    const char *argv[] = {"sched", "--csv", "--all-cores", "--workers", "2",
                          "--seconds", "0.05", NULL};
    struct program_result r = run_sched(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    struct slice_row rows[4];
    ck_assert_int_eq(parse_timeslice(r.out, rows, 4), 2);
    int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 0; i < 2; i++) {
        check_slice_row(&rows[i], "process", false, 0.05);
        ck_assert_msg(fabs(rows[i].expected - (cpus >= 2 ? 1.0 : 0.5)) < 1e-4,
                      "expected %f", rows[i].expected);
    }
    program_result_free(&r);
}
END_TEST

/* The weights are the kernel's table; the measured ratio is only checked
 * for its direction (other load takes time from both alike). */
START_TEST(timeslice_nice_gives_weighted_expectations)
{
    const char *argv[] = {"sched", "--csv", "--nice", "0,5", "--seconds",
                          "0.2", NULL};
    struct program_result r = run_sched(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    struct slice_row rows[4];
    ck_assert_int_eq(parse_timeslice(r.out, rows, 4), 2);
    ck_assert_int_eq(rows[0].nice, 0);
    ck_assert_int_eq(rows[1].nice, 5);
    ck_assert_msg(fabs(rows[0].expected - 1024.0 / 1359) < 1e-4, "%f",
                  rows[0].expected);
    ck_assert_msg(fabs(rows[1].expected - 335.0 / 1359) < 1e-4, "%f",
                  rows[1].expected);
    ck_assert_msg(rows[0].run > rows[1].run, "nice 0 ran %f s, nice 5 %f s",
                  rows[0].run, rows[1].run);
    program_result_free(&r);
}
END_TEST

/* A full record: the gaps that did not fit are counted, not lost. */
START_TEST(timeslice_capacity_overflow_is_counted)
{
    const char *argv[] = {"sched", "--csv", "--workers", "3", "--seconds",
                          "0.1", "--capacity", "1", NULL};
    struct program_result r = run_sched(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    struct slice_row rows[4];
    ck_assert_int_eq(parse_timeslice(r.out, rows, 4), 3);
    unsigned long long lost = 0;
    for (int i = 0; i < 3; i++) {
        /* gaps = slices - 1 (switches) + pauses; one gap stored, the
         * rest counted as lost */
        unsigned long long gaps = rows[i].slices - 1 + rows[i].pauses;
        ck_assert_uint_eq(rows[i].gaps_lost, gaps > 1 ? gaps - 1 : 0);
        lost += rows[i].gaps_lost;
    }
    /* Three workers on one CPU for 100 ms must each have waited more
     * than once (a slice is a few ms). */
    ck_assert_uint_gt(lost, 0);
    program_result_free(&r);
}
END_TEST

/* The pinning check can fail: worker 1 pinned elsewhere on purpose. */
START_TEST(timeslice_misplaced_worker_fails_the_run)
{
    if (last_cpu() < 1 || sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return; /* one CPU: nowhere to misplace it (the lab refuses) */
    const char *argv[] = {"sched", "--workers", "2", "--seconds", "0.05",
                          "--misplace-worker", "1", NULL};
    struct program_result r = run_sched(argv);
    ck_assert_msg(r.status == 1, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "worker-1 was on CPU"));
    ck_assert_ptr_nonnull(strstr(r.err, "not pinned where it should be"));
    ck_assert_ptr_null(strstr(r.out, "OK"));
    program_result_free(&r);
}
END_TEST

START_TEST(timeslice_narration_has_timeline_table_and_scheduler)
{
    const char *argv[] = {"sched", "--workers", "2", "--seconds", "0.12",
                          NULL};
    struct program_result r = run_sched(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "scheduler (the default"));
    ck_assert_ptr_nonnull(strstr(r.out, "Timeline, one character per ms"));
    /* 120 ms: one block of 100 characters and one of 20, per row */
    const char *row = strstr(r.out, "  worker-0   ");
    ck_assert_ptr_nonnull(row);
    row += strlen("  worker-0   ");
    size_t length = strspn(row, "#+.");
    ck_assert_uint_eq(length, 100);
    ck_assert_ptr_nonnull(strstr(r.out, "  no worker  "));
    ck_assert_ptr_nonnull(strstr(r.out, "kernel"));
    char check[64];
    snprintf(check, sizeof check, "Check: every worker ran only on CPU %d",
             last_cpu());
    ck_assert_ptr_nonnull(strstr(r.out, check));
    program_result_free(&r);
}
END_TEST

/* ---- Traces ------------------------------------------------------------- */

/* Every problem jq finds in a trace file, one per line; "" when it is well
 * formed.  Names present (every process and thread row named, every event
 * named), time never going back on a track, no overlapping slices on a
 * track, every flow's end has a start. */
static const char trace_check_jq[] =
    "def problems:\n"
    "  if (type != \"object\") then \"not an object\"\n"
    "  elif (.displayTimeUnit != \"ms\") then \"displayTimeUnit is not ms\"\n"
    "  elif ((.traceEvents | type) != \"array\") then \"no traceEvents\"\n"
    "  else .traceEvents as $e\n"
    "  | ($e | map(select(.ph == \"M\" and .name == \"thread_name\") | [.pid, .tid]) | unique) as $threads\n"
    "  | ($e | map(select(.ph == \"M\" and .name == \"process_name\") | .pid) | unique) as $processes\n"
    "  | ($e[] | select((.ph|type) != \"string\" or (.pid|type) != \"number\" or (.tid|type) != \"number\" or (.name|type) != \"string\" or .name == \"\") | \"no ph/pid/tid/name: \\(tojson)\"),\n"
    "    ($e[] | select(.ph != \"M\" and (.ts|type) != \"number\") | \"no ts: \\(tojson)\"),\n"
    "    ($e[] | select(.ph == \"X\" and ((.dur|type) != \"number\" or .dur < 0)) | \"no dur: \\(tojson)\"),\n"
    "    ($e[] | select(.ph | IN(\"X\",\"M\",\"C\",\"i\",\"s\",\"f\") | not) | \"phase: \\(tojson)\"),\n"
    "    ($e[] | select(.ph == \"M\" and (.args.name // .args.sort_index) == null) | \"M without args: \\(tojson)\"),\n"
    "    ($e[] | select(.ph == \"X\" or .ph == \"i\") | select([.pid, .tid] as $t | $threads | index([$t]) | not) | \"unnamed thread: \\(tojson)\"),\n"
    "    ($e[] | select(.ph != \"M\") | select(.pid as $p | $processes | index($p) | not) | \"unnamed process: \\(tojson)\"),\n"
    "    ($e | map(select(.ph != \"M\")) | group_by([.pid, .tid])[] | . as $t | range(1; length) | select($t[.].ts < $t[. - 1].ts) | \"time goes back on \\($t[0].pid)/\\($t[0].tid)\"),\n"
    "    ($e | map(select(.ph == \"X\")) | group_by([.pid, .tid])[] | sort_by(.ts) | . as $s | range(1; length) | select($s[.].ts < $s[. - 1].ts + $s[. - 1].dur - 0.0005) | \"overlap on \\($s[0].pid)/\\($s[0].tid) at \\($s[.].ts)\"),\n"
    "    ($e | map(select(.ph == \"s\") | .id) as $starts | $e[] | select(.ph == \"f\" and (.id as $i | $starts | index($i) | not)) | \"flow without start: \\(tojson)\"),\n"
    "    ($e | map(select(.ph != \"M\")) | if length == 0 then \"no events\" else empty end)\n"
    "  end;\n"
    "[problems] | .[0:5][]\n";

struct scratch {
    char dir[64];
};

static void scratch_make(struct scratch *s)
{
    snprintf(s->dir, sizeof s->dir, "%s/test-sched-XXXXXX", temp_base());
    ck_assert_ptr_nonnull(mkdtemp(s->dir));
}

static void scratch_remove(struct scratch *s)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", s->dir);
    ck_assert_int_eq(system(command), 0);
}

/* Run jq over `path` with the filter above (or `extra`, a filter of
 * one's own); returns its output (static). */
static const char *jq(const struct scratch *s, const char *filter,
                      const char *path)
{
    char filter_path[128], command[512];
    snprintf(filter_path, sizeof filter_path, "%s/filter.jq", s->dir);
    FILE *f = fopen(filter_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(filter, f);
    ck_assert_int_eq(fclose(f), 0);
    snprintf(command, sizeof command, "jq -r -f '%s' '%s' 2>&1", filter_path,
             path);
    FILE *pipe = popen(command, "r");
    ck_assert_ptr_nonnull(pipe);
    static char output[8192];
    size_t got = fread(output, 1, sizeof output - 1, pipe);
    output[got] = '\0';
    int status = pclose(pipe);
    ck_assert_msg(status == 0, "jq failed (is it installed? make deps): %s",
                  output);
    return output;
}

static void expect_valid_trace(const struct scratch *s, const char *path)
{
    const char *problems = jq(s, trace_check_jq, path);
    ck_assert_msg(problems[0] == '\0', "%s: %s", path, problems);
}

START_TEST(trace_writer_orders_names_and_drops_overlaps)
{
    struct scratch s;
    scratch_make(&s);
    char path[128];
    snprintf(path, sizeof path, "%s/unit.json", s.dir);
    double t0 = 100.0;
    struct trace *trace = trace_open(path, t0);
    /* added out of order, with a name that needs escaping */
    trace_slice(trace, 1, 2, "second \"quoted\"\n", "cat", t0 + 0.003,
                t0 + 0.004, "{\"n\": 2}");
    trace_slice(trace, 1, 2, "first", NULL, t0 + 0.001, t0 + 0.002, NULL);
    trace_slice(trace, 1, 2, "overlaps first", NULL, t0 + 0.0015, t0 + 0.0025,
                NULL);
    trace_slice(trace, 1, 3, "other track, same time", NULL, t0 + 0.0015,
                t0 + 0.0025, NULL);
    trace_instant(trace, 1, 2, "mark", t0 + 0.0035, NULL);
    trace_counter(trace, 1, "level", t0 + 0.001, 3);
    trace_flow(trace, 7, "submitted -> ran", 1, 3, t0 + 0.002, 1, 2,
               t0 + 0.0031);
    trace_name_thread(trace, 1, 2, "two", 0);
    trace_name_thread(trace, 1, 3, "three", 1);
    trace_name_process(trace, 1, "process one", 0);
    struct trace_summary summary = trace_close(trace);
    ck_assert_int_eq(summary.dropped_overlaps, 1);
    /* 3 names + 3 sort indexes + 2 slices on one track and 1 on the other
     * + instant + counter + 2 flow ends */
    ck_assert_int_eq(summary.events, 13);
    expect_valid_trace(&s, path);
    /* names first; then time order; microseconds from the origin */
    ck_assert_str_eq(jq(&s, "[.traceEvents[0:6][] | .ph] | unique | join(\",\")",
                        path), "M\n");
    ck_assert_str_eq(jq(&s, "[.traceEvents[] | select(.ph != \"M\") | .ts] | "
                            "tostring", path),
                     "[1000,1000,1500,2000,3000,3100,3500]\n");
    ck_assert_str_eq(jq(&s, ".traceEvents[] | select(.ph == \"X\" and .ts == "
                            "3000) | .name + \" \" + (.args.n | tostring) + "
                            "\" \" + (.dur | tostring)", path),
                     "second \"quoted\"\n 2 1000\n");
    scratch_remove(&s);
}
END_TEST

START_TEST(timeslice_trace_is_valid_and_complete)
{
    struct scratch s;
    scratch_make(&s);
    char path[128];
    snprintf(path, sizeof path, "%s/sched.json", s.dir);
    const char *kinds[] = {"process", "thread"};
    const char *argv[] = {"sched", "--kind", kinds[_i], "--workers", "3",
                          "--seconds", "0.08", "--trace", path, NULL};
    struct program_result r = run_sched(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "Trace: "));
    expect_valid_trace(&s, path);
    /* every worker has its row and its running slices; the CPU row holds
     * the same slices, named by worker */
    ck_assert_str_eq(jq(&s, "[.traceEvents[] | select(.name == \"thread_name\") "
                            "| .args.name] | map(select(startswith(\"worker-\") "
                            "or startswith(\"CPU\"))) | length", path), "4\n");
    ck_assert_str_eq(jq(&s, "[.traceEvents[] | select(.ph == \"X\" and .name == "
                            "\"running\")] | length as $a | [.[] | .dur] | add "
                            "as $d | $a > 0 and $d > 0", path), "true\n");
    ck_assert_str_eq(jq(&s, "([.traceEvents[] | select(.ph == \"X\" and .name == "
                            "\"running\")] | length) == ([.traceEvents[] | "
                            "select(.ph == \"X\" and (.name | startswith("
                            "\"worker-\")))] | length)", path), "true\n");
    program_result_free(&r);
    scratch_remove(&s);
}
END_TEST

/* count --trace: who held the emulated GIL when (its own row), the waits
 * and the forced switches on each thread's row. */
START_TEST(count_trace_shows_who_held_the_gil)
{
    struct scratch s;
    scratch_make(&s);
    char path[128];
    snprintf(path, sizeof path, "%s/count.json", s.dir);
    const char *argv[] = {"count", "--mode", "thread", "--gil", "--workers",
                          "2", "--iterations", "200M", "--switch-interval",
                          "0.5", "--trace", path, NULL};
    struct program_result r = program_run(60 * time_scale(), argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "Trace: "));
    expect_valid_trace(&s, path);
    /* the GIL row: one slice per holding, at least one hand-over */
    ck_assert_str_eq(jq(&s, ".traceEvents as $e | ($e[] | select(.name == "
                            "\"thread_name\" and .args.name == \"GIL (who "
                            "holds it)\") | .tid) as $row | [$e[] | select(.ph "
                            "== \"X\" and .tid == $row)] | length >= 2", path),
                     "true\n");
    ck_assert_str_eq(jq(&s, "[.traceEvents[] | select(.name == \"holds the "
                            "GIL\") | .tid] | unique | length", path), "2\n");
    ck_assert_str_eq(jq(&s, "[.traceEvents[] | select(.ph == \"i\" and .name "
                            "== \"forced switch\")] | length > 0", path),
                     "true\n");
    program_result_free(&r);
    scratch_remove(&s);
}
END_TEST

/* pool --trace: every task queued -> running, run by a worker process,
 * and every callback on one thread of the parent (E3). */
START_TEST(pool_trace_shows_tasks_and_callbacks)
{
    struct scratch s;
    scratch_make(&s);
    char path[128];
    snprintf(path, sizeof path, "%s/pool.json", s.dir);
    const char *argv[] = {"pool", "--experiment", "callbacks", "--iterations",
                          "1M", "--trace", path, NULL};
    struct program_result r = program_run(60 * time_scale(), argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    expect_valid_trace(&s, path);
    const char *callbacks = "[.traceEvents[] | select(.ph == \"X\" and (.name "
                            "| startswith(\"callback of task\")))]";
    char filter[512];
    snprintf(filter, sizeof filter, "%s | length", callbacks);
    ck_assert_str_eq(jq(&s, filter, path), "5\n");
    snprintf(filter, sizeof filter, "%s | map([.pid, .tid]) | unique | length",
             callbacks);
    ck_assert_str_eq(jq(&s, filter, path), "1\n"); /* one handler thread */
    ck_assert_str_eq(jq(&s, "[.traceEvents[] | select(.ph == \"X\" and .name == "
                            "\"queued\")] | length", path), "5\n");
    /* the tasks ran in other processes than the callbacks */
    snprintf(filter, sizeof filter,
             "(%s | .[0].pid) as $parent | [.traceEvents[] | select(.ph == "
             "\"X\" and (.name | test(\"^task [0-9]+$\"))) | .pid] | map(. != "
             "$parent) | all", callbacks);
    ck_assert_str_eq(jq(&s, filter, path), "true\n");
    program_result_free(&r);
    scratch_remove(&s);
}
END_TEST

/* A trace that cannot be written stops the run before it starts. */
START_TEST(trace_to_an_unwritable_path_fails_first)
{
    const char *argv[] = {"sched", "--trace", "/nonexistent-dir/sched.json",
                          NULL};
    struct program_result r = run_sched(argv);
    ck_assert_msg(r.status == 4, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_str_eq(r.out, "");
    ck_assert_ptr_nonnull(strstr(r.err, "fopen"));
    program_result_free(&r);
}
END_TEST

/* ---- Crossover and convoy ---------------------------------------------- */

#define CROSSOVER_HEADER "mode,gil,io,io_fraction,workers,tasks,cpu_ms,io_ms,rep,seconds,total"

struct crossover_row {
    char mode[16], io[8];
    int gil, workers, tasks, rep;
    double io_fraction, cpu_ms, io_ms, seconds;
    unsigned long long total;
};

static int parse_crossover(const char *out, struct crossover_row *rows,
                           int capacity)
{
    ck_assert_msg(strncmp(out, CROSSOVER_HEADER "\n",
                          strlen(CROSSOVER_HEADER) + 1) == 0,
                  "CSV must start with the header, got: %.200s", out);
    char *copy = strdup(out + strlen(CROSSOVER_HEADER) + 1), *save = NULL;
    int n = 0;
    for (char *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        ck_assert_int_lt(n, capacity);
        struct crossover_row *r = &rows[n++];
        int consumed = 0;
        int fields = sscanf(line, "%15[a-z],%d,%7[a-z],%lf,%d,%d,%lf,%lf,%d,%lf,%llu%n",
                            r->mode, &r->gil, r->io, &r->io_fraction,
                            &r->workers, &r->tasks, &r->cpu_ms, &r->io_ms,
                            &r->rep, &r->seconds, &r->total, &consumed);
        ck_assert_msg(fields == 11 && line[consumed] == '\0',
                      "not a crossover row: '%s'", line);
    }
    free(copy);
    return n;
}

/* Every mode ran every task once: the totals are the same exact number in
 * every row (tasks x the calibrated count); serial used one worker. */
START_TEST(crossover_csv_all_modes_exact_totals)
{
    const char *ios[] = {"net", "sleep"};
    const char *argv[] = {"sched", "--experiment", "crossover", "--csv",
                          "--io", ios[_i], "--cpu", "1", "--io-ms", "3",
                          "--workers", "4", "--tasks", "8", "--repeat", "2",
                          NULL};
    struct program_result r = run_sched(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    struct crossover_row rows[16];
    ck_assert_int_eq(parse_crossover(r.out, rows, 16), 8);
    int seen[4] = {0};
    for (int i = 0; i < 8; i++) {
        const struct crossover_row *row = &rows[i];
        ck_assert_str_eq(row->io, ios[_i]);
        ck_assert_msg(fabs(row->io_fraction - 0.75) < 1e-4, "%f", row->io_fraction);
        ck_assert_int_eq(row->tasks, 8);
        ck_assert_uint_eq(row->total, rows[0].total);
        ck_assert_uint_eq(row->total % 8, 0);
        ck_assert_uint_gt(row->total, 0);
        /* 8 tasks each wait 3 ms: at least one wait, at most all in a row
         * plus the counting on a busy machine */
        ck_assert_msg(row->seconds >= 0.003 && row->seconds < 10 * time_scale(),
                      "seconds %f", row->seconds);
        int config = strcmp(row->mode, "serial") == 0 ? 0
                     : strcmp(row->mode, "process") == 0 ? 3
                     : row->gil ? 2 : 1;
        ck_assert_int_eq(row->workers, config == 0 ? 1 : 4);
        /* serial waits 8 x 3 ms one after the other */
        if (config == 0)
            ck_assert_msg(row->seconds >= 0.024, "serial %f s", row->seconds);
        seen[config]++;
    }
    for (int c = 0; c < 4; c++)
        ck_assert_int_eq(seen[c], 2);
    program_result_free(&r);
}
END_TEST

/* The delay server is a child the lab starts and stops: its pid is gone
 * after the run and no process was left to the subreaper. */
START_TEST(crossover_delay_server_is_stopped)
{
    become_subreaper();
    const char *argv[] = {"sched", "--experiment", "crossover", "--mode",
                          "thread", "--gil", "--cpu", "0.5", "--io-ms", "2",
                          "--workers", "3", "--tasks", "6", NULL};
    struct program_result r = run_sched(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    const char *at = strstr(r.out, "delay server: pid ");
    ck_assert_ptr_nonnull(at);
    pid_t server = (pid_t)atoi(at + strlen("delay server: pid "));
    ck_assert_int_gt(server, 0);
    ck_assert_int_eq(orphans_adopted(), 0);
    ck_assert_msg(!pid_exists(server), "the delay server %d is still there",
                  (int)server);
    ck_assert_ptr_nonnull(strstr(r.out, "Check: all 6 tasks ran once"));
    ck_assert_ptr_nonnull(strstr(r.out, "GIL: "));
    program_result_free(&r);
}
END_TEST

START_TEST(crossover_file_shows_cold_and_warm_reads)
{
    const char *argv[] = {"sched", "--experiment", "crossover", "--io",
                          "file", "--file-kib", "256", "--cpu", "0.5",
                          "--workers", "2", "--tasks", "4", NULL};
    /* Its data file goes to a private TMPDIR, which must be empty after
     * (the file's directory was once left behind). */
    struct scratch scratch;
    scratch_make(&scratch);
    ck_assert_int_eq(setenv("TMPDIR", scratch.dir, 1), 0);
    struct program_result r = run_sched(argv);
    ck_assert_msg(rmdir(scratch.dir) == 0, "%s is not empty after the run",
                  scratch.dir);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    const char *at = strstr(r.out, "cold read (after POSIX_FADV_DONTNEED) ");
    ck_assert_ptr_nonnull(at);
    double cold, warm;
    ck_assert_int_eq(sscanf(at, "cold read (after POSIX_FADV_DONTNEED) %lf ms, "
                                "warm read %lf ms", &cold, &warm), 2);
    ck_assert_msg(cold > 0 && warm > 0, "cold %f warm %f", cold, warm);
    ck_assert_ptr_nonnull(strstr(r.out, "Check: all 4 tasks ran once"));
    program_result_free(&r);
}
END_TEST

START_TEST(crossover_ctrl_c_stops_workers_and_server)
{
    become_subreaper();
    const char *argv[] = {"sched", "--experiment", "crossover", "--mode",
                          "process", "--cpu", "0", "--io-ms", "5000",
                          "--workers", "2", "--tasks", "2", NULL};
    struct running_program program = program_start(argv);
    wait_for_children(program.pid, 3); /* the server and two workers */
    ck_assert_int_eq(kill(-program.pid, SIGINT), 0);
    struct program_result r = program_finish(&program, 10 * time_scale());
    ck_assert_msg(r.status == 130, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_int_eq(orphans_adopted(), 0);
    program_result_free(&r);
}
END_TEST

/* Beside a CPU-bound thread under the GIL, each reply waits for the GIL:
 * the median latency grows by a good part of the switch interval. */
START_TEST(convoy_gil_delays_the_io_thread)
{
    const char *argv[] = {"sched", "--experiment", "convoy", "--csv",
                          "--requests", "10", "--io-ms", "1",
                          "--switch-interval", "10", NULL};
    struct program_result r = run_sched(argv);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_msg(strncmp(r.out, "setting,rep,request,latency_ms\n", 31) == 0,
                  "header: %.80s", r.out);
    double latency[3][10];
    int counts[3] = {0};
    char *copy = strdup(r.out + 31), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char setting[32];
        int rep, request, consumed = 0;
        double ms;
        ck_assert_int_eq(sscanf(line, "%31[a-z-],%d,%d,%lf%n", setting, &rep,
                                &request, &ms, &consumed), 4);
        ck_assert_int_eq(line[consumed], '\0');
        int s = strcmp(setting, "alone") == 0            ? 0
                : strcmp(setting, "beside-cpu-gil") == 0 ? 1
                : strcmp(setting, "beside-cpu-nogil") == 0 ? 2 : -1;
        ck_assert_msg(s >= 0, "setting '%s'", setting);
        ck_assert_int_eq(request, counts[s] + 1);
        ck_assert_msg(ms >= 0.9, "latency %f ms below the 1 ms delay", ms);
        latency[s][counts[s]++] = ms;
    }
    free(copy);
    for (int s = 0; s < 3; s++)
        ck_assert_int_eq(counts[s], 10);
    double alone = stats_of(latency[0], 10).median;
    double convoy = stats_of(latency[1], 10).median;
    /* the effect is up to the interval (10 ms); a loaded machine slows
     * the server's answers too, so only 40% of it is asked for */
    ck_assert_msg(convoy >= alone + 4, "median %f ms beside the CPU thread, "
                  "%f ms alone", convoy, alone);
    program_result_free(&r);
}
END_TEST

/* ---- Predict, then check (--quiz, --answer) ------------------------------ */

/* The kernel's weights for nice 0 to 10 (kernel/sched/core.c), written out
 * again here so that the lab's table is checked, not just reused. */
static const int weight_of_nice[] = {1024, 820, 655, 526, 423, 335,
                                     272,  215, 172, 137, 110};

/* "    worker-W nice N: ..." lines of a problem: the nice values, in order.
 * Returns how many; `rest` gets what follows each colon. */
static int problem_rows(const char *out, int *nice, char rest[][64], int capacity)
{
    int n = 0;
    for (const char *line = out; line && *line && n < capacity;) {
        int w, v, used = 0;
        if (sscanf(line, "    worker-%d nice %d: %n", &w, &v, &used) == 2 &&
            used > 0 && w == n) {
            nice[n] = v;
            sscanf(line + used, "%63[^\n]", rest[n]);
            n++;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return n;
}

/* --quiz runs nothing and hides every share; the same seed is the same
 * problem; the seed draws 2 to 4 workers with nice values 0 to 10. */
START_TEST(quiz_hides_the_shares_and_a_seed_repeats)
{
    const char *argv[] = {"sched", "--quiz", "--seed", "1", NULL};
    struct program_result first = run_sched(argv);
    struct program_result again = run_sched(argv);
    ck_assert_msg(first.status == 0, "exit %d: %s", first.status, first.err);
    ck_assert_str_eq(first.out, again.out);
    ck_assert_str_eq(first.err, "");
    ck_assert_msg(strstr(first.out, "Timeline") == NULL &&
                      strstr(first.out, "Check:") == NULL &&
                      strstr(first.out, "main pid") == NULL,
                  "the quiz ran the experiment:\n%s", first.out);
    ck_assert_ptr_nonnull(strstr(first.out, "sched quiz (seed 1): "));
    ck_assert_ptr_nonnull(strstr(first.out, "--answer --seed 1"));
    int nice[8];
    char rest[8][64] = {{0}};
    int n = problem_rows(first.out, nice, rest, 8);
    ck_assert_msg(n >= 2 && n <= 4, "%d workers:\n%s", n, first.out);
    for (int w = 0; w < n; w++) {
        ck_assert_msg(nice[w] >= 0 && nice[w] <= 10, "nice %d", nice[w]);
        ck_assert_str_eq(rest[w], "?");
    }
    program_result_free(&first);
    program_result_free(&again);

    /* Without --seed: the command line's own problem, no seed, and the
     * answer is the same command with --answer. */
    const char *own[] = {"sched", "--quiz", "--nice", "0,5", NULL};
    struct program_result r = run_sched(own);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_null(strstr(r.out, "seed"));
    ck_assert_ptr_nonnull(strstr(r.out, "the same command with --answer"));
    ck_assert_int_eq(problem_rows(r.out, nice, rest, 8), 2);
    ck_assert_int_eq(nice[0], 0);
    ck_assert_int_eq(nice[1], 5);
    program_result_free(&r);
}
END_TEST

/* --answer: each share is the weight table's, exactly (to the printed
 * tenth), the same as the run's "expected" column; then the run, and each
 * measured share beside its prediction.  Loop 0: a seed's problem; loop 1:
 * the command line's. */
START_TEST(answer_is_the_weight_tables_share_then_the_run)
{
    const char *seeded[] = {"sched", "--answer", "--seed", "1", "--seconds",
                            "0.06", NULL};
    const char *own[] = {"sched", "--answer", "--nice", "0,5", "--kind",
                         "thread", "--seconds", "0.06", NULL};
    struct program_result r = run_sched(_i == 0 ? seeded : own);
    ck_assert_msg(r.status == 0, "exit %d: %s\n%s", r.status, r.err, r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "The run, to check it:"));
    ck_assert_ptr_nonnull(strstr(r.out, "Check: every worker ran only on CPU"));
    int nice[8];
    char rest[8][64] = {{0}};
    int n = problem_rows(r.out, nice, rest, 8);
    ck_assert_msg(n >= 2 && n <= 4, "%d workers:\n%s", n, r.out);
    int total = 0;
    for (int w = 0; w < n; w++)
        total += weight_of_nice[nice[w]];
    const char *checked = strstr(r.out, "The answer, checked against this run");
    ck_assert_msg(checked != NULL, "%s", r.out);
    for (int w = 0; w < n; w++) {
        double share = 0;
        int weight = 0, sum = 0;
        ck_assert_msg(sscanf(rest[w], "%lf%% = weight %d / %d", &share, &weight,
                             &sum) == 3, "'%s'", rest[w]);
        ck_assert_int_eq(weight, weight_of_nice[nice[w]]);
        ck_assert_int_eq(sum, total);
        double exact = 100.0 * weight / total;
        ck_assert_msg(fabs(share - exact) <= 0.05 + 1e-9, "worker-%d: %.1f%% "
                      "printed, %f%% by the table", w, share, exact);
        /* the run's own expected column, and the verdict's prediction */
        char key[64];
        snprintf(key, sizeof key, "worker-%d nice %3d weight %5d: ", w, nice[w],
                 weight);
        const char *row = strstr(r.out, key);
        double measured = -1, expected = -1;
        ck_assert_msg(row && sscanf(row + strlen(key), "%lf%% measured, %lf%% "
                                    "expected", &measured, &expected) == 2,
                      "no '%s':\n%s", key, r.out);
        ck_assert_msg(fabs(expected - exact) <= 0.05 + 1e-9, "%f", expected);
        snprintf(key, sizeof key, "  worker-%d nice %2d: predicted ", w, nice[w]);
        row = strstr(checked, key);
        double predicted = -1, again = -1;
        ck_assert_msg(row && sscanf(row + strlen(key), "%lf%%, measured %lf%%",
                                    &predicted, &again) == 2,
                      "no '%s':\n%s", key, checked);
        ck_assert_msg(fabs(predicted - exact) <= 0.05 + 1e-9, "%f", predicted);
        ck_assert_msg(fabs(again - measured) <= 0.05 + 1e-9, "%f vs %f", again,
                      measured);
    }
    program_result_free(&r);
}
END_TEST

/* ---- Usage errors and Ctrl+C -------------------------------------------- */

static const struct bad_line bad_lines[] = {
    {{"--experiment", "nope", NULL}, "--experiment"},
    {{"--kind", "fiber", NULL}, "--kind"},
    {{"--nice", "0,abc", NULL}, "--nice"},
    {{"--nice", "0,99", NULL}, "--nice"},
    {{"--nice", "0,5", "--workers", "3", NULL}, "--nice"},
    {{"--gap-us", "0", NULL}, "--gap-us"},
    {{"--seconds", "abc", NULL}, "--seconds"},
    {{"--capacity", "0", NULL}, "--capacity"},
    {{"--misplace-worker", "5", NULL}, "--misplace-worker"},
    {{"--misplace-worker", "0", "--all-cores", NULL}, "--misplace-worker"},
    {{"--trace", "", NULL}, "--trace"},
    {{"--io-ms", "5", NULL}, "--io-ms"},
    {{"--experiment", "crossover", "--nice", "0", NULL}, "--nice"},
    {{"--experiment", "crossover", "--io", "disk", NULL}, "--io"},
    {{"--experiment=crossover", "--io", "file", "--io-ms", "3", NULL}, "--io-ms"},
    {{"--experiment", "crossover", "--gil", NULL}, "--gil"},
    {{"--experiment=crossover", "--cpu", "0", "--io-ms", "0", NULL}, "--cpu"},
    {{"--experiment", "convoy", "--workers", "3", NULL}, "--workers"},
    {{"--experiment", "crossover", "--trace", "x.json", NULL}, "--trace"},
    {{"--experiment", "convoy", "--mode", "serial", NULL}, "--mode"},
    {{"--quiz", "--answer", NULL}, "--quiz"},
    {{"--quiz", "--csv", NULL}, "--quiz"},
    {{"--answer", "--all-cores", NULL}, "--answer"},
    {{"--answer", "--misplace-worker", "1", NULL}, "--answer"},
    {{"--quiz", "--trace", "x.json", NULL}, "--quiz"},
    {{"--quiz", "--experiment", "crossover", NULL}, "--quiz"},
    {{"--seed", "3", NULL}, "--seed"},
    {{"--quiz", "--seed", "3", "--nice", "0,5", NULL}, "--seed"},
    {{"--quiz", "--seed", "-1", NULL}, "--seed"},
};

START_TEST(bad_command_line_is_refused_with_exit_2)
{
    expect_usage_error("sched", &bad_lines[_i]);
}
END_TEST

START_TEST(timeslice_ctrl_c_leaves_no_child_behind)
{
    become_subreaper();
    const char *argv[] = {"sched", "--workers", "2", "--seconds", "20", NULL};
    struct running_program program = program_start(argv);
    wait_for_children(program.pid, 2);
    ck_assert_int_eq(kill(-program.pid, SIGINT), 0);
    struct program_result r = program_finish(&program, 10 * time_scale());
    ck_assert_msg(r.status == 130, "exit %d, stderr: %s", r.status, r.err);
    ck_assert_int_eq(orphans_adopted(), 0);
    program_result_free(&r);
}
END_TEST

Suite *sched_suite(void)
{
    Suite *suite = suite_create("sched");
    TCase *timeslice = tcase_create("sched_timeslice");
    tcase_set_timeout(timeslice, 60);
    tcase_add_test(timeslice, timeslice_processes_pinned_csv);
    tcase_add_test(timeslice, timeslice_threads_pinned_csv_and_repeat);
    tcase_add_test(timeslice, timeslice_all_cores_is_unpinned);
    tcase_add_test(timeslice, timeslice_nice_gives_weighted_expectations);
    tcase_add_test(timeslice, timeslice_capacity_overflow_is_counted);
    tcase_add_test(timeslice, timeslice_misplaced_worker_fails_the_run);
    tcase_add_test(timeslice, timeslice_narration_has_timeline_table_and_scheduler);
    tcase_add_test(timeslice, timeslice_ctrl_c_leaves_no_child_behind);
    suite_add_tcase(suite, timeslice);

    TCase *trace = tcase_create("sched_trace");
    tcase_set_timeout(trace, 60);
    tcase_add_test(trace, trace_writer_orders_names_and_drops_overlaps);
    tcase_add_loop_test(trace, timeslice_trace_is_valid_and_complete, 0, 2);
    tcase_add_test(trace, count_trace_shows_who_held_the_gil);
    tcase_add_test(trace, pool_trace_shows_tasks_and_callbacks);
    tcase_add_test(trace, trace_to_an_unwritable_path_fails_first);
    suite_add_tcase(suite, trace);

    TCase *crossover = tcase_create("sched_crossover");
    tcase_set_timeout(crossover, 60);
    tcase_add_loop_test(crossover, crossover_csv_all_modes_exact_totals, 0, 2);
    tcase_add_test(crossover, crossover_delay_server_is_stopped);
    tcase_add_test(crossover, crossover_file_shows_cold_and_warm_reads);
    tcase_add_test(crossover, crossover_ctrl_c_stops_workers_and_server);
    tcase_add_test(crossover, convoy_gil_delays_the_io_thread);
    suite_add_tcase(suite, crossover);

    TCase *quiz = tcase_create("sched_quiz");
    tcase_set_timeout(quiz, 60);
    tcase_add_test(quiz, quiz_hides_the_shares_and_a_seed_repeats);
    tcase_add_loop_test(quiz, answer_is_the_weight_tables_share_then_the_run, 0, 2);
    suite_add_tcase(suite, quiz);

    TCase *usage = tcase_create("sched_usage");
    tcase_set_timeout(usage, 30);
    tcase_add_loop_test(usage, bad_command_line_is_refused_with_exit_2, 0,
                        sizeof bad_lines / sizeof bad_lines[0]);
    suite_add_tcase(suite, usage);
    return suite;
}
