/* test_tickets.c: integration tests of build/bin/tickets (lab 04, E9, E12).
 *
 * They run the real binary and check its claims: a lock never oversells
 * (hundreds of randomized trials, every store, lock and mode), no lock
 * oversells, a buyer killed inside the lock is survived (robust mutex, file
 * lock) or diagnosed (the naive semaphore: exit 3, the dead holder named),
 * ThreadSanitizer sees the race, bad command lines are refused, and no run --
 * finished, stopped by the watchdog or by Ctrl+C -- leaves a process or a
 * temporary file behind.
 *
 * Every run gets a fresh, private TMPDIR that must be empty afterwards: the
 * lab's mkdtemp() directory, its db.json, its lock file and any half-written
 * temporary file must all be gone.  The test's own randomness comes from
 * rand_r() with a fixed seed, printed in every failure message that depends
 * on it.
 */
#define _GNU_SOURCE
#include "harness.h"

#include "timing.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER "store,lock,mode,buyers,stock,trial,sold,left,oversold,seconds"
#define TEST_SEED 20250202u /* the tests' own randomness: rand_r(seed + _i) */

static bool tsan(void) { return VARIANT[0] == 't'; }

/* ---- A private TMPDIR per run ------------------------------------------ */

/* The TMPDIR this test process started with (read once, before any
 * setenv of ours). */
static const char *base_tmpdir(void)
{
    static char base[1024];
    if (base[0] == '\0') {
        const char *env = getenv("TMPDIR");
        snprintf(base, sizeof base, "%s",
                 env != NULL && env[0] != '\0' ? env : "/tmp");
    }
    return base;
}

/* Remove a directory and what is in it (the lab's directory is flat; any
 * depth is handled). */
static void remove_tree(const char *path)
{
    DIR *directory = opendir(path);
    if (directory == NULL)
        return;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char child[2048];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        if (unlink(child) == -1 && (errno == EISDIR || errno == EPERM))
            remove_tree(child);
    }
    closedir(directory);
    rmdir(path);
}

/* What a run leaves behind.  sandbox_enter() makes this test process the
 * subreaper of the programs it starts and gives them a fresh, empty TMPDIR
 * (program_start inherits the environment).  sandbox_leave() counts the
 * orphans, lists what is left in the directory and removes it all, asserting
 * nothing, so a failing test leaves no litter; sandbox_check() asserts. */
struct sandbox {
    char directory[1100];
    char leftovers[1024]; /* names left in the directory, space-separated */
    int orphans;
};

static void sandbox_enter(struct sandbox *box)
{
    become_subreaper();
    snprintf(box->directory, sizeof box->directory, "%s/tickets-test-XXXXXX",
             base_tmpdir());
    ck_assert_msg(mkdtemp(box->directory) != NULL, "mkdtemp(%s): %s",
                  box->directory, strerror(errno));
    ck_assert_int_eq(setenv("TMPDIR", box->directory, 1), 0);
}

static void sandbox_leave(struct sandbox *box)
{
    box->orphans = orphans_adopted();
    box->leftovers[0] = '\0';
    DIR *directory = opendir(box->directory);
    if (directory == NULL) {
        snprintf(box->leftovers, sizeof box->leftovers, "(cannot open: %s)",
                 strerror(errno));
        return;
    }
    size_t used = 0, size = sizeof box->leftovers;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        int n = snprintf(box->leftovers + used, size - used, "%s%s",
                         used ? " " : "", entry->d_name);
        if (n > 0 && (size_t)n < size - used)
            used += (size_t)n;
    }
    closedir(directory);
    remove_tree(box->directory);
}

/* Nothing left running or unreaped, no temporary file left. */
static void sandbox_check(const struct sandbox *box, const char *what)
{
    ck_assert_msg(box->orphans == 0, "%s: left %d process(es) behind", what,
                  box->orphans);
    ck_assert_msg(box->leftovers[0] == '\0', "%s: left in its TMPDIR %s: %s",
                  what, box->directory, box->leftovers);
}

/* Run tickets in a sandbox: afterwards nothing it started may be left
 * running (or unreaped) and its TMPDIR must be empty. */
static struct program_result run_tickets(double timeout, const char *const argv[])
{
    char command[512];
    describe(argv, command, sizeof command);
    struct sandbox box;
    sandbox_enter(&box);
    struct program_result r = program_run(timeout * time_scale(), argv);
    sandbox_leave(&box);
    ck_assert_msg(!r.timed_out, "%s: still running after %.1f s", command,
                  timeout * time_scale());
    sandbox_check(&box, command);
    return r;
}

/* ---- The CSV contract --------------------------------------------------- */

struct row {
    char store[8], lock[8], mode[8];
    int buyers, stock, trial, sold, left, oversold;
    double seconds;
};

/* Parse every row of a --csv output; check the header, the field count, and
 * that the rows are trials 1..expected of this configuration.  Returns the
 * rows (malloc'd; free them). */
static struct row *parse_csv(const char *out, const char *store,
                             const char *lock, const char *mode, int buyers,
                             int stock, int expected, const char *context)
{
    ck_assert_msg(strncmp(out, HEADER "\n", strlen(HEADER) + 1) == 0,
                  "%s: CSV must start with the header, got: %.100s", context,
                  out);
    struct row *rows = calloc((size_t)expected + 1, sizeof *rows);
    ck_assert_ptr_nonnull(rows);
    int count = 0;
    char *copy = strdup(out + strlen(HEADER) + 1);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        ck_assert_msg(count < expected, "%s: more than %d rows: '%s'", context,
                      expected, line);
        struct row *r = &rows[count];
        int consumed = 0;
        int fields = sscanf(line, "%7[a-z],%7[a-z],%7[a-z],%d,%d,%d,%d,%d,%d,%lf%n",
                            r->store, r->lock, r->mode, &r->buyers, &r->stock,
                            &r->trial, &r->sold, &r->left, &r->oversold,
                            &r->seconds, &consumed);
        ck_assert_msg(fields == 10 && line[consumed] == '\0',
                      "%s: not a CSV row of 10 fields: '%s'", context, line);
        ck_assert_msg(strcmp(r->store, store) == 0 && strcmp(r->lock, lock) == 0 &&
                          strcmp(r->mode, mode) == 0 && r->buyers == buyers &&
                          r->stock == stock,
                      "%s: row of another configuration: '%s'", context, line);
        ck_assert_msg(r->trial == count + 1, "%s: trial %d out of order: '%s'",
                      context, count + 1, line);
        ck_assert_msg(r->seconds > 0 && r->seconds < 600, "%s: seconds: '%s'",
                      context, line);
        ck_assert_msg(r->sold >= 0 && r->sold <= buyers && r->left >= 0 &&
                          r->left <= stock && r->oversold >= 0,
                      "%s: impossible counts: '%s'", context, line);
        ck_assert_msg(r->oversold == (r->sold > stock ? r->sold - stock : 0),
                      "%s: oversold is not sold - stock: '%s'", context, line);
        count++;
    }
    free(copy);
    ck_assert_msg(count == expected, "%s: %d rows, expected %d", context, count,
                  expected);
    return rows;
}

/* ---- 1. A lock never oversells ----------------------------------------- */

static const struct {
    const char *store, *lock, *mode;
} locked[] = {
    {"file", "mutex", "process"}, {"file", "mutex", "thread"},
    {"file", "naive", "process"}, {"file", "naive", "thread"},
    {"file", "file", "process"},  {"file", "file", "thread"},
    {"shm", "mutex", "process"},  {"shm", "mutex", "thread"},
    {"shm", "naive", "process"},  {"shm", "naive", "thread"},
};
/* 5 runs x 4 trials x 10 configurations = 200 locked trials in the plain
 * build.  The sanitized builds are there to catch memory errors and races in
 * the same code paths, not to repeat the statistics: at their 2-5x cost per
 * fork they run 2 of the 5 runs (80 trials). */
enum { LOCKED_RUNS = 5, LOCKED_RUNS_SANITIZED = 2, LOCKED_TRIALS = 4 };

/* Buyers from 2 to 64, log-uniform: every size is tried, and the big (slow,
 * serialized) ones do not eat the suite's time. */
static int random_buyers(unsigned *seed)
{
    double u = rand_r(seed) / ((double)RAND_MAX + 1);
    return (int)floor(exp(log(2) + u * (log(65) - log(2))));
}

START_TEST(locked_variants_never_oversell)
{
    unsigned seed = TEST_SEED + (unsigned)_i;
    int runs = time_scale() > 1 ? LOCKED_RUNS_SANITIZED : LOCKED_RUNS;
    for (int run = 0; run < runs; run++) {
        int buyers = random_buyers(&seed);
        int stock = 1 + rand_r(&seed) % 3;
        /* 0 .. 1 ms: long enough to hold the lock across a context switch,
         * short enough that 64 buyers in single file take a moment. */
        double read_ms = rand_r(&seed) % 101 / 100.0;
        double write_ms = rand_r(&seed) % 101 / 100.0;
        char b[16], s[16], rd[16], wd[16], k[16];
        snprintf(b, sizeof b, "%d", buyers);
        snprintf(s, sizeof s, "%d", stock);
        snprintf(rd, sizeof rd, "%.2f", read_ms);
        snprintf(wd, sizeof wd, "%.2f", write_ms);
        snprintf(k, sizeof k, "%d", LOCKED_TRIALS);
        const char *argv[] = {"tickets", "--csv", "--store", locked[_i].store,
                              "--lock", locked[_i].lock, "--mode",
                              locked[_i].mode, "--buyers", b, "--stock", s,
                              "--read-delay", rd, "--write-delay", wd,
                              "--trials", k, NULL};
        char context[600], command[512];
        describe(argv, command, sizeof command);
        snprintf(context, sizeof context, "%s (test seed %u, run %d)", command,
                 TEST_SEED + (unsigned)_i, run);
        struct program_result r = run_tickets(60, argv);
        ck_assert_msg(r.status == 0, "%s: exit %d, stderr: %s", context,
                      r.status, r.err);
        ck_assert_msg(strcmp(r.err, "") == 0, "%s: stderr: %s", context, r.err);
        struct row *rows = parse_csv(r.out, locked[_i].store, locked[_i].lock,
                                     locked[_i].mode, buyers, stock,
                                     LOCKED_TRIALS, context);
        /* With the lock the buyers go one at a time, each holding it for
         * read + write delay: the trial cannot be faster than their sum. */
        double serial = buyers * (read_ms + write_ms) / 1000.0;
        for (int t = 0; t < LOCKED_TRIALS; t++) {
            const struct row *row = &rows[t];
            ck_assert_msg(row->oversold == 0, "%s: trial %d oversold %d",
                          context, row->trial, row->oversold);
            ck_assert_msg(row->sold + row->left == stock,
                          "%s: trial %d: sold %d + left %d != stock %d",
                          context, row->trial, row->sold, row->left, stock);
            ck_assert_msg(row->sold == (buyers < stock ? buyers : stock),
                          "%s: trial %d: sold %d of %d to %d buyers", context,
                          row->trial, row->sold, stock, buyers);
            ck_assert_msg(row->seconds >= 0.98 * serial,
                          "%s: trial %d took %.6f s, less than the %.6f s of "
                          "buyers one at a time: the lock did not serialize",
                          context, row->trial, row->seconds, serial);
        }
        free(rows);
        program_result_free(&r);
    }
}
END_TEST

/* ---- 2 and 5. No lock oversells ---------------------------------------- */

/* With the default delays (read 10 ms, write 20 ms) every buyer reads the
 * stock long before the first one writes it back: every trial oversells.
 * Sanitized builds start a process several times slower (and a busy
 * machine slower still), so there the window is widened by time_scale():
 * the claim is about the race, not about how fast fork() is. */
static void no_lock_oversells(const char *store, const char *mode, int buyers,
                              int trials)
{
    char b[16], k[16], read_ms[16], write_ms[16];
    snprintf(b, sizeof b, "%d", buyers);
    snprintf(k, sizeof k, "%d", trials);
    snprintf(read_ms, sizeof read_ms, "%g", 10 * time_scale());
    snprintf(write_ms, sizeof write_ms, "%g", 20 * time_scale());
    const char *argv[] = {"tickets", "--csv", "--store", store, "--mode", mode,
                          "--buyers", b, "--trials", k, "--read-delay", read_ms,
                          "--write-delay", write_ms, NULL};
    char command[512];
    describe(argv, command, sizeof command);
    struct program_result r = run_tickets(60, argv);
    ck_assert_msg(r.status == 0, "%s: exit %d (no lock: overselling is the "
                  "expected result, exit 0), stderr: %s", command, r.status,
                  r.err);
    struct row *rows = parse_csv(r.out, store, "none", mode, buyers, 1, trials,
                                 command);
    for (int t = 0; t < trials; t++)
        ck_assert_msg(rows[t].oversold > 0,
                      "%s: trial %d did not oversell (sold %d, left %d): the "
                      "race must show on every trial", command, rows[t].trial,
                      rows[t].sold, rows[t].left);
    free(rows);
    program_result_free(&r);

    /* The narration says it is wrong on purpose, and by how much. */
    const char *narrated[] = {"tickets", "--store", store, "--mode", mode,
                              "--buyers", b, "--read-delay", read_ms,
                              "--write-delay", write_ms, NULL};
    describe(narrated, command, sizeof command);
    r = run_tickets(60, narrated);
    ck_assert_msg(r.status == 0, "%s: exit %d, stderr: %s", command, r.status,
                  r.err);
    ck_assert_msg(strstr(r.out, "BUGGY ON PURPOSE") != NULL,
                  "%s: no BUGGY ON PURPOSE notice: %s", command, r.out);
    ck_assert_msg(strstr(r.out, "OVERSOLD by ") != NULL, "%s: no OVERSOLD: %s",
                  command, r.out);
    program_result_free(&r);
}

static const struct {
    const char *store;
    int buyers;
} unlocked[] = {
    {"file", 2}, {"file", 5}, {"file", 20},
    {"shm", 2},  {"shm", 5},  {"shm", 20},
};

START_TEST(no_lock_oversells_on_every_trial)
{
    no_lock_oversells(unlocked[_i].store, "process", unlocked[_i].buyers, 5);
}
END_TEST

/* ThreadSanitizer runs only in the tsan build, where it must report the
 * race of the unlocked thread variant on the shared-memory store; elsewhere
 * the same variant must oversell, which is the race seen from the outside.
 * The file store's race goes through the file system (read, write, rename
 * of db.json), which TSan does not see as a data race: there, in every
 * build, the check is that the unlocked threads oversell. */
START_TEST(thread_race_is_seen)
{
    const char *store = _i == 0 ? "shm" : "file";
    if (!tsan() || _i == 1) {
        no_lock_oversells(store, "thread", 5, 5);
        return;
    }
    const char *argv[] = {"tickets", "--mode", "thread", "--lock", "none",
                          "--store", "shm", "--buyers", "4", "--read-delay",
                          "1", "--write-delay", "1", NULL};
    struct sandbox box;
    sandbox_enter(&box);
    struct program_result r = program_run(60 * time_scale(), argv);
    /* halt_on_error: TSan ends the process without its exit handlers, so
     * the lab's temporary directory may stay: not the lab's fault, and not
     * checked here (sandbox_leave removes it). */
    sandbox_leave(&box);
    ck_assert_int_eq(box.orphans, 0);
    ck_assert_msg(r.status == 66, "exit %d, expected 66 (TSan's exitcode), "
                  "stderr: %s", r.status, r.err);
    ck_assert_msg(strstr(r.err, "WARNING: ThreadSanitizer: data race") != NULL,
                  "no data race reported: %s", r.err);
    program_result_free(&r);
}
END_TEST

/* The locked thread variants are clean under TSan (and correct elsewhere). */
START_TEST(locked_threads_are_race_free)
{
    const char *lock = _i % 2 == 0 ? "mutex" : "naive";
    const char *store = _i < 2 ? "shm" : "file";
    const char *argv[] = {"tickets", "--mode", "thread", "--lock", lock,
                          "--store", store, "--buyers", "4", "--read-delay",
                          "1", "--write-delay", "1", "--trials", "3", NULL};
    char command[512];
    describe(argv, command, sizeof command);
    struct program_result r = run_tickets(60, argv);
    ck_assert_msg(r.status == 0, "%s: exit %d, stderr: %s", command, r.status,
                  r.err);
    ck_assert_msg(strstr(r.err, "WARNING") == NULL, "%s: stderr: %s", command,
                  r.err);
    program_result_free(&r);
}
END_TEST

/* ---- 3. A holder killed inside the lock -------------------------------- */

/* A lock that a death leaves taken would hang the run: the lab's own
 * watchdog must say so (exit 3, with its diagnosis) long before Check's
 * timeout.  The text of --timeout, scaled for sanitized builds. */
static const char *kill_timeout(void)
{
    static char text[16];
    snprintf(text, sizeof text, "%g", 15 * time_scale());
    return text;
}

static const struct {
    const char *store, *lock;
} survivable[] = {
    {"shm", "mutex"},
    {"file", "mutex"},
    {"file", "file"},
};
enum { KILL_RUNS = 5, KILL_TRIALS = 10 }; /* 50 trials per configuration */

START_TEST(killed_holder_is_survived)
{
    const char *store = survivable[_i].store, *lock = survivable[_i].lock;
    unsigned seed = TEST_SEED + 100 + (unsigned)_i;
    for (int run = 0; run < KILL_RUNS; run++) {
        /* More buyers than tickets: the victim (the n-th to enter, n <=
         * stock) always has a successor, which finds the mess. */
        int stock = 1 + rand_r(&seed) % 3;
        int buyers = stock + 1 + rand_r(&seed) % 6;
        char b[16], s[16], rd[16], wd[16], k[16], sd[16];
        snprintf(b, sizeof b, "%d", buyers);
        snprintf(s, sizeof s, "%d", stock);
        snprintf(rd, sizeof rd, "%.2f", rand_r(&seed) % 101 / 100.0);
        snprintf(wd, sizeof wd, "%.2f", rand_r(&seed) % 101 / 100.0);
        snprintf(k, sizeof k, "%d", KILL_TRIALS);
        snprintf(sd, sizeof sd, "%d", rand_r(&seed) % 1000000);
        const char *argv[] = {"tickets", "--csv", "--kill-holder", "--store",
                              store, "--lock", lock, "--buyers", b, "--stock",
                              s, "--read-delay", rd, "--write-delay", wd,
                              "--trials", k, "--seed", sd, "--timeout",
                              kill_timeout(), NULL};
        char context[600], command[512];
        describe(argv, command, sizeof command);
        snprintf(context, sizeof context, "%s (test seed %u, run %d)", command,
                 TEST_SEED + 100 + (unsigned)_i, run);
        /* Exit 0: the lab found sold + left = stock from the store's list
         * of buyers, and never read a torn db.json (that would be exit 1). */
        struct program_result r = run_tickets(60, argv);
        ck_assert_msg(r.status == 0, "%s: exit %d, stderr: %s", context,
                      r.status, r.err);
        struct row *rows = parse_csv(r.out, store, lock, "process", buyers,
                                     stock, KILL_TRIALS, context);
        for (int t = 0; t < KILL_TRIALS; t++) {
            /* The dead buyer never says it bought; it may have. */
            ck_assert_msg(rows[t].oversold == 0, "%s: trial %d oversold %d",
                          context, rows[t].trial, rows[t].oversold);
            int accounted = rows[t].sold + rows[t].left;
            ck_assert_msg(accounted == stock || accounted == stock - 1,
                          "%s: trial %d: sold %d + left %d, stock %d: more "
                          "than the dead buyer's ticket is missing", context,
                          rows[t].trial, rows[t].sold, rows[t].left, stock);
        }
        free(rows);
        program_result_free(&r);
    }
}
END_TEST

/* With the robust mutex every trial is repaired (EOWNERDEAD), and the
 * narration of one trial says what was repaired. */
START_TEST(mutex_narrates_the_repair)
{
    const char *store = _i == 0 ? "shm" : "file";
    const char *trials[] = {"tickets", "--kill-holder", "--lock", "mutex",
                            "--store", store, "--buyers", "4", "--stock", "2",
                            "--read-delay", "0.5", "--write-delay", "0.5",
                            "--trials", "12", "--seed", "7", "--timeout",
                            kill_timeout(), NULL};
    char command[512];
    describe(trials, command, sizeof command);
    struct program_result r = run_tickets(60, trials);
    ck_assert_msg(r.status == 0, "%s: exit %d, stderr: %s", command, r.status,
                  r.err);
    int repaired = 0;
    for (const char *p = r.out; (p = strstr(p, "(repaired after a buyer died)"));
         p++)
        repaired++;
    ck_assert_msg(repaired == 12, "%s: %d of 12 trials repaired: %s", command,
                  repaired, r.out);
    ck_assert_msg(strstr(r.out, "WRONG") == NULL, "%s: %s", command, r.out);
    program_result_free(&r);

    const char *one[] = {"tickets", "--kill-holder", "--lock", "mutex",
                         "--store", store, "--buyers", "4", "--read-delay",
                         "0.5", "--write-delay", "0.5", "--trials", "1",
                         "--timeout", kill_timeout(), NULL};
    describe(one, command, sizeof command);
    r = run_tickets(60, one);
    ck_assert_msg(r.status == 0, "%s: exit %d, stderr: %s", command, r.status,
                  r.err);
    ck_assert_msg(strstr(r.out, "killed by signal 9") != NULL,
                  "%s: no buyer killed: %s", command, r.out);
    const char *line = strstr(r.out, "  REPAIRED: buyer-");
    ck_assert_msg(line != NULL, "%s: no REPAIRED line: %s", command, r.out);
    ck_assert_msg(strstr(line, "EOWNERDEAD") != NULL &&
                      strstr(line, "pthread_mutex_consistent") != NULL,
                  "%s: %s", command, line);
    ck_assert_msg(strstr(r.out, ": correct\n") != NULL, "%s: %s", command,
                  r.out);
    program_result_free(&r);
}
END_TEST

START_TEST(file_lock_narrates_the_kernel_release)
{
    const char *argv[] = {"tickets", "--kill-holder", "--lock", "file",
                          "--store", "file", "--buyers", "4", "--read-delay",
                          "0.5", "--write-delay", "0.5", "--timeout",
                          kill_timeout(), NULL};
    char command[512];
    describe(argv, command, sizeof command);
    struct program_result r = run_tickets(60, argv);
    ck_assert_msg(r.status == 0, "%s: exit %d, stderr: %s", command, r.status,
                  r.err);
    ck_assert_msg(strstr(r.out, "killed by signal 9") != NULL,
                  "%s: no buyer killed: %s", command, r.out);
    ck_assert_msg(strstr(r.out, "died holding the file lock") != NULL &&
                      strstr(r.out, "db.json was whole") != NULL,
                  "%s: %s", command, r.out);
    ck_assert_msg(strstr(r.out, ": correct\n") != NULL, "%s: %s", command,
                  r.out);
    program_result_free(&r);
}
END_TEST

/* ---- 4. The naive lock: everyone waits for a dead holder --------------- */

START_TEST(naive_lock_deadlock_is_stopped_and_diagnosed)
{
    const char *store = _i % 2 == 0 ? "file" : "shm";
    const char *seed = _i < 2 ? "1" : "2";
    const double timeout = 0.5;
    const char *argv[] = {"tickets", "--lock", "naive", "--kill-holder",
                          "--store", store, "--buyers", "4", "--read-delay",
                          "1", "--write-delay", "1", "--seed", seed,
                          "--timeout", "0.5", NULL};
    char command[512];
    describe(argv, command, sizeof command);
    struct sandbox box;
    sandbox_enter(&box);
    struct program_result r = program_run(30 * time_scale(), argv);
    /* The dead holder's pid, from the diagnosis; does it still exist
     * (asked before sandbox_leave, which would reap a zombie)? */
    const char *line = strstr(r.err, "DEADLOCK: buyer-");
    int holder = -1, pid = 0;
    bool named = line != NULL &&
                 sscanf(line, "DEADLOCK: buyer-%d (pid %d) died holding the lock",
                        &holder, &pid) == 2 && pid > 1;
    bool holder_exists = named && pid_exists(pid);
    sandbox_leave(&box);

    ck_assert_msg(r.status == 3, "%s: exit %d, expected 3, stderr: %s", command,
                  r.status, r.err);
    /* The harness starts its clock a moment after the program starts its
     * own, so the lower bound allows a few milliseconds. */
    ck_assert_msg(r.seconds >= timeout - 0.05 &&
                      r.seconds < (timeout + 1) * time_scale(),
                  "%s: took %.3f s, expected %.2f s to %.1f s", command,
                  r.seconds, timeout - 0.05, (timeout + 1) * time_scale());
    ck_assert_msg(strstr(r.err, "within 0.5 s") != NULL, "%s: %s", command,
                  r.err);
    ck_assert_msg(strstr(r.err, "died holding the lock") != NULL,
                  "%s: no dead holder named: %s", command, r.err);
    ck_assert_msg(named && holder >= 0 && holder < 4,
                  "%s: cannot read the dead holder's pid: %s", command, r.err);
    ck_assert_msg(!holder_exists, "%s: the dead holder, pid %d, still exists",
                  command, pid);
    sandbox_check(&box, command);
    program_result_free(&r);
}
END_TEST

/* ---- 6. Bad command lines ---------------------------------------------- */

static const struct bad_line bad_lines[] = {
    {{"--store", "disk"}, "--store"},
    {{"--lock", "spin"}, "--lock"},
    {{"--mode", "fiber"}, "--mode"},
    {{"--buyers", "0"}, "--buyers"},
    {{"--buyers", "1001"}, "--buyers"},
    {{"--read-delay", "-1"}, "--read-delay"},
    {{"--read-delay", "abc"}, "--read-delay"},
    {{"--write-delay", "10001"}, "--write-delay"},
    {{"--trials", "0"}, "--trials"},
    {{"--stock", "1001"}, "--stock"},
    {{"--lock", "file", "--store", "shm"}, "--lock file"},
    {{"--kill-holder"}, "--kill-holder"},
    {{"--kill-holder", "--lock", "none"}, "--kill-holder"},
    {{"--kill-holder", "--mode", "thread"}, "--kill-holder"},
    {{"--kill-holder", "--lock", "mutex", "--mode", "thread"}, "--mode process"},
    {{"--timeout", "0"}, "--timeout"},
    {{"--bogus"}, "--bogus"},
};

START_TEST(bad_command_line_is_refused_with_exit_2)
{
    expect_usage_error("tickets", &bad_lines[_i]);
}
END_TEST

/* ---- 7. Ctrl+C leaves nothing ------------------------------------------ */

/* A run that hangs by design (the naive lock's dead holder), interrupted
 * by Ctrl+C: _i == 0 as soon as the first buyer exists (mid-start),
 * _i == 1 once the deadlock has formed (19 buyers left: the dead one may
 * already be reaped). */
START_TEST(ctrl_c_leaves_nothing_behind)
{
    const char *argv[] = {"tickets", "--lock", "naive", "--kill-holder",
                          "--timeout", "60", NULL};
    struct sandbox box;
    sandbox_enter(&box);
    struct running_program program = program_start(argv);
    pid_t children[64];
    double deadline = clock_seconds() + 10 * time_scale();
    bool started;
    while (!(started = children_of(program.pid, children, 64) >= (_i == 0 ? 1 : 19)) &&
           clock_seconds() < deadline)
        clock_sleep(0.001);
    if (started && _i == 1)
        clock_sleep(0.2); /* every buyer has had time to block */
    /* Ctrl+C to the whole group (or, if it never started, just stop it). */
    ck_assert_int_eq(kill(-program.pid, started ? SIGINT : SIGKILL), 0);
    struct program_result r = program_finish(&program, 10 * time_scale());
    sandbox_leave(&box);
    ck_assert_msg(started, "the buyers never started: %s", r.err);
    ck_assert_msg(r.status == 130, "exit %d, expected 130, stderr: %s",
                  r.status, r.err);
    ck_assert_msg(strstr(r.err, "interrupted by INT") != NULL, "stderr: %s",
                  r.err);
    sandbox_check(&box, "tickets interrupted by Ctrl+C");
    program_result_free(&r);
}
END_TEST

/* ---- 8. Narration ------------------------------------------------------- */

/* One line per buyer, buyer-0 .. buyer-(n-1) in order; their pids. */
static void buyer_pids(const char *out, int buyers, int *pids)
{
    int found = 0;
    for (const char *line = strstr(out, "  buyer-"); line != NULL;
         line = strstr(line + 1, "  buyer-")) {
        if (line != out && line[-1] != '\n')
            continue; /* "buyer-" inside another line */
        int index;
        ck_assert_msg(sscanf(line, "  buyer-%d pid %d", &index, &pids[found]) == 2,
                      "not a buyer line: %.80s", line);
        ck_assert_msg(found < buyers && index == found,
                      "buyer-%d where buyer-%d was expected: %s", index, found,
                      out);
        found++;
    }
    ck_assert_msg(found == buyers, "%d buyer lines, expected %d: %s", found,
                  buyers, out);
}

START_TEST(narration_shows_one_line_per_buyer)
{
    bool process = _i == 0;
    const char *argv[] = {"tickets", "--buyers", "5", "--mode",
                          process ? "process" : "thread", NULL};
    struct sandbox box;
    sandbox_enter(&box);
    struct running_program program = program_start(argv);
    pid_t main_pid = program.pid;
    struct program_result r = program_finish(&program, 30 * time_scale());
    sandbox_leave(&box);
    ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
    sandbox_check(&box, "tickets --buyers 5");

    /* The store lives in a private directory under our TMPDIR. */
    char expected[1200];
    snprintf(expected, sizeof expected, "store %s/tickets-", box.directory);
    ck_assert_msg(strstr(r.out, expected) != NULL,
                  "the store is not under TMPDIR %s: %s", box.directory, r.out);
    ck_assert_ptr_nonnull(strstr(r.out, process ? "5 buyer processes"
                                                : "5 buyer threads"));
    int pids[5];
    buyer_pids(r.out, 5, pids);
    for (int i = 0; i < 5; i++) {
        if (process) {
            ck_assert_msg(pids[i] != main_pid, "buyer-%d has the main pid %d",
                          i, (int)main_pid);
            for (int j = 0; j < i; j++)
                ck_assert_msg(pids[i] != pids[j], "buyer-%d and buyer-%d share "
                              "pid %d", i, j, pids[i]);
        } else {
            ck_assert_msg(pids[i] == main_pid, "buyer-%d: pid %d, not the main "
                          "pid %d", i, pids[i], (int)main_pid);
        }
    }
    ck_assert_ptr_nonnull(strstr(r.out, "OVERSOLD by "));
    program_result_free(&r);
}
END_TEST

Suite *tickets_suite(void)
{
    Suite *suite = suite_create("tickets");
    TCase *locking = tcase_create("tickets_locking");
    tcase_set_timeout(locking, 60);
    tcase_add_loop_test(locking, locked_variants_never_oversell, 0,
                        (int)(sizeof locked / sizeof *locked));
    tcase_add_loop_test(locking, no_lock_oversells_on_every_trial, 0,
                        (int)(sizeof unlocked / sizeof *unlocked));
    tcase_add_loop_test(locking, thread_race_is_seen, 0, 2);
    tcase_add_loop_test(locking, locked_threads_are_race_free, 0, 4);
    suite_add_tcase(suite, locking);

    TCase *killing = tcase_create("tickets_kill_holder");
    tcase_set_timeout(killing, 60);
    tcase_add_loop_test(killing, killed_holder_is_survived, 0,
                        (int)(sizeof survivable / sizeof *survivable));
    tcase_add_loop_test(killing, mutex_narrates_the_repair, 0, 2);
    tcase_add_test(killing, file_lock_narrates_the_kernel_release);
    tcase_add_loop_test(killing, naive_lock_deadlock_is_stopped_and_diagnosed,
                        0, 4);
    suite_add_tcase(suite, killing);

    TCase *usage = tcase_create("tickets_usage");
    tcase_set_timeout(usage, 30);
    tcase_add_loop_test(usage, bad_command_line_is_refused_with_exit_2, 0,
                        (int)(sizeof bad_lines / sizeof *bad_lines));
    tcase_add_loop_test(usage, ctrl_c_leaves_nothing_behind, 0, 2);
    tcase_add_loop_test(usage, narration_shows_one_line_per_buyer, 0, 2);
    suite_add_tcase(suite, usage);
    return suite;
}
