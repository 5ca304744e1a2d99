/* tickets.c: selling tickets -- the race, the lock, and a buyer killed
 * inside the lock (E9, E12).  This file: the flags, one trial and its check,
 * the narration, main.  The lesson itself is buyer.c.
 *
 * The experiment.  The documents keep {"count": 1} in db.txt.  Each of 20
 * buyer processes first looks at the count (search), then buys (get): reads
 * it, waits 0.1 s, and if it is positive decrements it, waits 0.2 s and
 * writes it back.  Many buyers "get" the one ticket: they read 1 before
 * anyone wrote 0.  The documents' slide is titled "Lock" and imports Lock,
 * but never uses it: they show no locked version and no output of one.
 *
 * This program does the same with a choice of store, lock and workers:
 *   --store file   the documents' db.txt, in a private temporary directory
 *   --store shm    a record in shared memory
 *   --lock none    BUGGY ON PURPOSE: the read-modify-write race
 *   --lock mutex   a robust, process-shared pthread mutex
 *   --lock file    an fcntl lock on a lock file (kernel-released on death)
 *   --lock naive   a semaphore, which is what Python's multiprocessing.Lock is
 *   --mode process|thread
 * and, beyond the documents, --kill-holder kills a buyer inside its critical
 * section (crash.c).
 *
 * Run:    build/bin/tickets                         (the race: oversold)
 *         build/bin/tickets --lock mutex            (correct, and slower)
 *         build/bin/tickets --lock mutex --kill-holder --store shm
 *         build/bin/tickets --lock naive --kill-holder --timeout 3
 * Notice: in which order the buyers read the stock, and how many read it
 *         before the first write-back; with a lock, elapsed = buyers x read
 *         delay + sales x write delay.
 */
#define _GNU_SOURCE
#include "tickets.h"

#include "checked.h"
#include "cleanup.h"
#include "flags.h"
#include "proc.h"
#include "timing.h"
#include "watchdog.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- One trial: a fresh stock, every buyer once, then the checks -------- */

struct outcome {
    int sold;       /* surviving buyers who believe they bought */
    int64_t left;   /* tickets left in the store */
    int recorded;   /* sales in the store's list of buyers */
    int oversold;
    int killed;     /* the victim, dead as planned, or -1 */
    int failed;     /* a buyer that ended any other way, or -1 */
    int failures;   /* how many did */
    int failed_status;
    int readers;    /* buyers that read the stock */
    int early;      /* ... before the first write-back */
    int first_writer; /* whose write-back was first, or -1 */
    double start_span;  /* first buyer's start to the last one's, seconds */
    double first_write; /* first buyer's start to the first write-back */
    int late_starters;  /* buyers that started after the first write-back */
    bool correct;   /* the store and the buyers agree */
    double seconds;
};

static void reset(const struct setup *s, uint64_t *rng, bool kill_holder,
                  int victim_rank, int kill_point)
{
    struct shared *sh = s->shared;
    store_reset(s);
    lock_reset(s);
    crash_choose(s, rng, kill_holder, victim_rank, kill_point);
    atomic_store(&sh->events, 0);
    memset(sh->record, 0, (size_t)s->buyers * sizeof sh->record[0]);
}

static struct outcome check_trial(const struct setup *s,
                                  const struct worker_run *run)
{
    const struct shared *sh = s->shared;
    struct outcome o = {.killed = -1, .failed = -1, .first_writer = -1,
                        .seconds = run->seconds};
    struct store final;
    store_read(s, &final); /* after crash_audit(): repaired if need be */
    o.left = final.left;
    o.recorded = final.sold;

    int victim = atomic_load(&sh->victim);
    bool claims_match = true;
    double first_start = 0, last_start = 0, first_write = 0;
    int first_write_order = 0;
    for (int i = 0; i < run->count; i++) {
        const struct worker *w = &run->workers[i];
        const struct buyer_record *r = &sh->record[i];
        if (i == 0 || w->started < first_start)
            first_start = w->started;
        if (i == 0 || w->started > last_start)
            last_start = w->started;
        if (r->write_order > 0 &&
            (first_write_order == 0 || r->write_order < first_write_order)) {
            first_write_order = r->write_order;
            first_write = r->wrote_at;
            o.first_writer = i;
        }
        o.readers += r->read_order > 0;
        if (w->status != 0) {
            if (i == victim && w->status == -SIGKILL &&
                atomic_load(&sh->victim_dies)) {
                o.killed = i; /* it never said; the store's list speaks */
            } else if (o.failures++ == 0) {
                o.failed = i;
                o.failed_status = w->status;
            }
            continue;
        }
        bool in_list = false;
        for (int k = 0; k < final.sold; k++)
            in_list |= final.buyers[k] == i;
        o.sold += w->result == 1;
        claims_match &= (w->result == 1) == in_list;
    }
    /* Nobody writes the count back as the whole stock again: the first
     * write-back, by a buyer who read the whole stock, leaves one less, and
     * every later one leaves less than it read.  So a buyer who read the
     * whole stock read it before the first write-back (exactly, where the
     * order numbers could be a few nanoseconds off). */
    for (int i = 0; i < run->count; i++) {
        const struct buyer_record *r = &sh->record[i];
        o.early += r->read_order > 0 && r->read == s->stock;
        o.late_starters += first_write_order > 0 &&
                           run->workers[i].started > first_write;
    }
    o.start_span = last_start - first_start;
    o.first_write = first_write_order > 0 ? first_write - first_start : -1;
    o.oversold = o.sold > s->stock ? o.sold - (int)s->stock : 0;
    o.correct = o.failures == 0 && !atomic_load(&sh->torn) &&
                o.oversold == 0 && claims_match &&
                o.recorded + o.left == s->stock;
    return o;
}

/* ---- Narration ------------------------------------------------------------ */

static const char *const store_names[] = {"file", "shm", NULL};
static const char *const lock_names[] = {"none", "mutex", "file", "naive", NULL};
static const char *const mode_names[] = {"process", "thread", NULL};

static const struct setup *sorting; /* for by_read_order */

/* Without a lock: those who read before the first write-back (the whole
 * stock), then the others. */
static int read_group(int buyer)
{
    const struct buyer_record *r = &sorting->shared->record[buyer];
    if (r->read_order == 0)
        return 2; /* never read */
    return sorting->lock == LOCK_NONE && r->read != sorting->stock;
}

/* In the order the buyers read the stock (with a lock: took it); those that
 * never read come last. */
static int by_read_order(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    int gi = read_group(i), gj = read_group(j);
    int ri = sorting->shared->record[i].read_order;
    int rj = sorting->shared->record[j].read_order;
    if (gi != gj)
        return gi - gj;
    return ri != rj ? (ri > rj) - (ri < rj) : (i > j) - (i < j);
}

static void narrate_buyers(const struct setup *s, const struct worker_run *run,
                           const struct outcome *o)
{
    const struct shared *sh = s->shared;
    int order[MAX_BUYERS];
    for (int i = 0; i < run->count; i++)
        order[i] = i;
    sorting = s;
    qsort(order, (size_t)run->count, sizeof order[0], by_read_order);
    printf("  in the order they %s the stock:\n",
           s->lock == LOCK_NONE ? "read" : "took the lock and read");
    bool marked = false;
    for (int k = 0; k < run->count; k++) {
        int i = order[k];
        const struct worker *w = &run->workers[i];
        const struct buyer_record *r = &sh->record[i];
        if (s->lock == LOCK_NONE && !marked && o->first_writer >= 0 &&
            read_group(i) == 1) {
            printf("  -- here buyer-%d wrote the stock back; the buyers "
                   "below read after it --\n", o->first_writer);
            marked = true;
        }
        char searched[32] = "";
        if (r->read_order > 0 || w->status == 0)
            snprintf(searched, sizeof searched, "searched %" PRId64 ", ",
                     r->searched);
        if (w->status != 0) {
            char how[64];
            proc_describe_exitcode(w->status, how, sizeof how);
            if (i == o->killed)
                printf("  buyer-%-3d pid %-7d %s%s, inside the lock (%s)\n", i,
                       (int)w->pid, searched, how,
                       kill_point_texts[atomic_load(&sh->kill_point)]);
            else
                printf("  buyer-%-3d pid %-7d %s: FAILED (not a planned "
                       "kill)\n", i, (int)w->pid, how);
        } else {
            printf("  buyer-%-3d pid %-7d %sread %-4" PRId64 " %s\n", i,
                   (int)w->pid, searched, r->read,
                   w->result ? "-> bought a ticket" : "-> none left");
        }
    }
}

static void narrate(const struct setup *s, const struct worker_run *run,
                    const struct outcome *o, double read_ms, double write_ms)
{
    if (run->count <= 40)
        narrate_buyers(s, run, o);
    if (s->shared->repair[0])
        printf("  REPAIRED: %s.\n", s->shared->repair);
    if (o->killed >= 0 && s->lock == LOCK_FILE)
        printf("  buyer-%d died holding the file lock; the kernel released "
               "the lock with its\n  last descriptor, and db.txt was whole "
               "(writes are atomic renames).\n", o->killed);
    if (o->killed >= 0 && o->recorded + o->left == s->stock &&
        o->recorded > o->sold)
        printf("  The store records %d sale%s but %d surviving buyer%s: "
               "buyer-%d bought, then died\n  before it could say so.  "
               "Counted from the store's list of buyers.\n",
               o->recorded, o->recorded == 1 ? "" : "s", o->sold,
               o->sold == 1 ? "" : "s", o->killed);
    if (s->lock == LOCK_NONE && o->first_write >= 0) {
        char span[32], first[32];
        duration_text(o->start_span, span, sizeof span);
        duration_text(o->first_write, first, sizeof first);
        printf("  the buyers started within %s; the first write-back came "
               "%s after the first\n  start: %d of %d buyers started after "
               "it, %d of %d read the stock before it\n",
               span, first, o->late_starters, run->count, o->early,
               o->readers);
    }

    char took[32];
    duration_text(o->seconds, took, sizeof took);
    printf("  sold %d, left %" PRId64 ", stock %" PRId64 ": ", o->sold, o->left,
           s->stock);
    if (o->failures > 0)
        printf("FAILED: %d buyer%s ended without finishing (see above)\n",
               o->failures, o->failures == 1 ? "" : "s");
    else if (o->oversold > 0 && s->lock == LOCK_NONE && o->early == run->count)
        printf("OVERSOLD by %d -- the race: they all read the stock before "
               "anyone wrote it back\n", o->oversold);
    else if (o->oversold > 0 && s->lock == LOCK_NONE)
        printf("OVERSOLD by %d -- the race: %d of %d read the stock before "
               "the first write-back\n", o->oversold, o->early, run->count);
    else if (o->oversold > 0)
        printf("OVERSOLD by %d\n", o->oversold);
    else if (s->lock == LOCK_NONE && o->sold + o->left > s->stock)
        printf("LOST UPDATES: %d buyers hold tickets, yet the store counts "
               "%" PRId64 " left;\n  %" PRId64 " sale%s overwritten by other "
               "buyers' write-backs -- the same race\n", o->sold, o->left,
               o->sold + o->left - s->stock,
               o->sold + o->left - s->stock == 1 ? " was" : "s were");
    else
        printf("%s\n", o->correct ? "correct" : "WRONG (see above)");
    if (o->failures > 0) {
        return; /* the buyers did not all do their part: no timing claim */
    } else if (s->lock == LOCK_NONE) {
        printf("  elapsed %s: the buyers overlapped (one alone takes %g ms, "
               "or %g + %g ms if it buys)\n", took, read_ms, read_ms,
               write_ms);
    } else {
        /* Who waited the write delay: those who wrote back, and a victim
         * killed in the middle of its write. */
        int writers = o->killed >= 0 &&
                      atomic_load(&s->shared->kill_point) == KILL_MID_WRITE;
        for (int i = 0; i < run->count; i++)
            writers += s->shared->record[i].write_order > 0;
        char expected[32];
        duration_text((o->readers * read_ms + writers * write_ms) / 1000,
                      expected, sizeof expected);
        printf("  elapsed %s: one buyer at a time, %d x %g ms reading + %d x "
               "%g ms writing = %s\n", took, o->readers, read_ms, writers,
               write_ms, expected);
    }
}

/* The line after --trials K: what the trials show, from their numbers. */
static void summarize_trials(const struct setup *s, const int *oversold,
                             const int *early, int trials)
{
    double *values = xcalloc((size_t)trials, sizeof *values);
    int all_early = 0, fewest = s->buyers;
    for (int t = 0; t < trials; t++) {
        values[t] = oversold[t];
        all_early += early[t] == s->buyers;
        fewest = early[t] < fewest ? early[t] : fewest;
    }
    struct stats st = stats_of(values, trials);
    free(values);
    printf("oversold over %d trials: min %g, median %g, max %g", trials,
           st.min, st.median, st.max);
    if (s->lock != LOCK_NONE) {
        printf("\n");
        return;
    }
    printf(st.min == st.max ? ": the same in every trial\n"
                            : ": it varied from trial to trial\n");
    if (all_early == trials)
        printf("  in every trial, all %d buyers read the stock before the "
               "first write-back\n", s->buyers);
    else
        printf("  in %d of %d trials, some buyers read the stock after the "
               "first write-back\n  (as few as %d of %d read before it): "
               "they started too late to race\n", trials - all_early, trials,
               fewest, s->buyers);
}

/* ---- main ------------------------------------------------------------------ */

static const char *const kill_point_choices[] = {
    "random", "after-read", "before-write", "mid-write", "before-unlock", NULL};

int main(int argc, char **argv)
{
    uint64_t buyers = 20, stock = 1, trials = 1, seed = 0, victim = 0;
    double read_ms = 10, write_ms = 20, timeout = 60;
    int store = STORE_FILE, lock = LOCK_NONE, mode = 0, kill_point = 0;
    bool kill_holder = false, csv = false;
    struct flag flags[] = {
        {.name = "buyers", .type = FLAG_COUNT, .target = &buyers, .min = 1,
         .max = MAX_BUYERS, .value_name = "N",
         .help = "how many buyers (the documents: 20)"},
        {.name = "stock", .type = FLAG_COUNT, .target = &stock, .min = 0,
         .max = MAX_STOCK, .value_name = "S", .help = "tickets for sale"},
        {.name = "read-delay", .type = FLAG_DECIMAL, .target = &read_ms,
         .low = 0, .high = 10000, .value_name = "MS",
         .help = "pause after reading the stock, ms (the documents: 100)"},
        {.name = "write-delay", .type = FLAG_DECIMAL, .target = &write_ms,
         .low = 0, .high = 10000, .value_name = "MS",
         .help = "pause before writing it back, ms, only for a buyer who "
                 "buys (the documents: 200)"},
        {.name = "store", .type = FLAG_CHOICE, .target = &store,
         .choices = store_names, .value_name = "KIND",
         .help = "where the count lives: db.txt, or shared memory"},
        {.name = "lock", .type = FLAG_CHOICE, .target = &lock,
         .choices = lock_names, .value_name = "KIND",
         .help = "none (BUGGY ON PURPOSE), mutex, file or naive"},
        {.name = "mode", .type = FLAG_CHOICE, .target = &mode,
         .choices = mode_names, .value_name = "M",
         .help = "buyers are processes or threads"},
        {.name = "trials", .type = FLAG_COUNT, .target = &trials, .min = 1,
         .max = 10000, .value_name = "K",
         .help = "repeat the sale K times, fresh stock each time"},
        {.name = "kill-holder", .type = FLAG_SWITCH, .target = &kill_holder,
         .help = "kill one buyer with SIGKILL inside its critical section"},
        {.name = "victim", .type = FLAG_COUNT, .target = &victim, .min = 1,
         .max = MAX_BUYERS, .value_name = "K",
         .help = "--kill-holder: the K-th buyer to take the lock dies",
         .default_text = "drawn from --seed"},
        {.name = "kill-point", .type = FLAG_CHOICE, .target = &kill_point,
         .choices = kill_point_choices, .value_name = "P",
         .help = "--kill-holder: where it dies (random: drawn from --seed)"},
        flag_seed_random(&seed), /* only with --kill-holder: refused otherwise */
        flag_timeout(&timeout),
        flag_csv(&csv),
        FLAG_END,
    };
    struct program program = {
        .name = "tickets",
        .synopsis = "selling tickets: the read-modify-write race, the lock, "
                    "and a buyer killed inside the lock (E9, E12)",
        .description =
            "Each buyer, as in the documents: search (look at the count, no "
            "lock), then\nget: lock, read the stock, wait --read-delay; if "
            "a ticket is left, take it,\nwait --write-delay and write the "
            "stock back; unlock.  Without a lock (BUGGY\nON PURPOSE) several "
            "buyers read the same stock: the ticket is oversold.  A\nlock "
            "makes it correct and serial: elapsed = buyers x read delay + "
            "sales x\nwrite delay.\n"
            "Locks: mutex (robust, process-shared; file or shm store), file "
            "(an OFD\nfcntl lock; file store), naive (a semaphore, as "
            "Python's Lock; file or shm).\n"
            "--kill-holder (processes, with a lock): one buyer dies inside "
            "its critical\nsection: the --victim-th to take the lock, at "
            "--kill-point; what is not given\nis drawn from --seed (random "
            "and printed when absent).  After the buyers the\nparent takes "
            "the lock once more, so a last holder's death is repaired too.\n\n"
            "CSV (--csv): store,lock,mode,buyers,stock,trial,sold,left,"
            "oversold,seconds,\n  recorded,killed,early; one row per trial; "
            "sold = surviving buyers who\n  believe they bought; oversold = "
            "sold - stock when positive; recorded =\n  sales in the store's "
            "list of buyers; killed = 1 if the victim died as\n  planned; "
            "early = buyers who read the stock before the first write-back.",
        .exit_notes = "  With a lock, exit 1 means the store and the buyers "
                      "disagree (oversold, a lost\n  or torn sale).  Without "
                      "a lock, overselling is the expected result: exit 0.\n"
                      "  A buyer that ends any other way than the planned "
                      "kill fails the run: exit 4\n  if a system call failed "
                      "in it, else 1.\n"
                      "  --lock naive --kill-holder always ends in exit 3: "
                      "the dead holder's semaphore\n  is never released (the "
                      "parent's last check waits for it too), and the\n  "
                      "watchdog says so; so does any buyer that dies holding "
                      "it.",
        .flags = flags,
    };
    flags_parse_or_exit(&program, argc, argv);
    if (lock == LOCK_FILE && store != STORE_FILE)
        flags_usage_error(&program, "--lock file: locks the store's file; "
                                    "use it with --store file");
    if (kill_holder && lock == LOCK_NONE)
        flags_usage_error(&program, "--kill-holder: needs a lock (mutex, "
                                    "file or naive): without one there is no "
                                    "holder to kill");
    if (kill_holder && mode != 0)
        flags_usage_error(&program, "--kill-holder: only with --mode process "
                                    "(SIGKILL ends a whole process, not one "
                                    "thread)");
    bool given_victim = flags_given(&program, "victim");
    bool given_point = flags_given(&program, "kill-point") && kill_point != 0;
    if (!kill_holder && (given_victim || flags_given(&program, "kill-point")))
        flags_usage_error(&program, "--%s: only with --kill-holder",
                          given_victim ? "victim" : "kill-point");
    if (flags_given(&program, "seed") && !kill_holder)
        flags_usage_error(&program, "--seed: nothing is random without "
                                    "--kill-holder (the seed picks the victim "
                                    "and its kill point)");
    if (flags_given(&program, "seed") && given_victim && given_point)
        flags_usage_error(&program, "--seed: nothing is random: --victim and "
                                    "--kill-point are both given");
    if (given_victim && victim > buyers)
        flags_usage_error(&program, "--victim: %" PRIu64 " is more than the "
                          "%" PRIu64 " buyers", victim, buyers);
    bool writes = kill_point - 1 == KILL_BEFORE_WRITE ||
                  kill_point - 1 == KILL_MID_WRITE;
    if (writes && (stock == 0 || (given_victim && victim > stock)))
        flags_usage_error(&program, "--kill-point %s: the victim would never "
                          "write (only the first %" PRIu64 " buyers to take "
                          "the lock buy a ticket)", kill_point_choices[kill_point],
                          stock);
    bool random = kill_holder && !(given_victim && given_point);
    if (random && !flags_given(&program, "seed"))
        seed = clock_nanoseconds(); /* random unless asked to repeat */

    watchdog_start(program.name, timeout);

    static struct setup s;
    s.shared = CHECK_PTR(mmap(NULL, sizeof *s.shared, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                         MAP_FAILED);
    s.store = store;
    s.lock = lock;
    s.read_delay = read_ms / 1000;
    s.write_delay = write_ms / 1000;
    s.stock = (int64_t)stock;
    s.buyers = (int)buyers;
    cleanup_tempdir("tickets", s.directory, sizeof s.directory);
    snprintf(s.db, sizeof s.db, "%s/db.txt", s.directory);
    snprintf(s.lockfile, sizeof s.lockfile, "%s/lock", s.directory);
    if (lock == LOCK_FILE)
        close(CHECK(open(s.lockfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600)));
    watchdog_set_diagnosis(crash_diagnose, &s);

    enum run_mode run_mode = mode == 0 ? RUN_PROCESSES : RUN_THREADS;
    if (csv) {
        printf("store,lock,mode,buyers,stock,trial,sold,left,oversold,"
               "seconds,recorded,killed,early\n");
    } else {
        printf("tickets: %d buyer %s, %d ticket%s, store %s, lock %s",
               (int)buyers, mode == 0 ? "processes" : "threads", (int)stock,
               stock == 1 ? "" : "s",
               store == STORE_FILE ? s.db : "in shared memory",
               lock_names[lock]);
        if (random)
            printf("; seed %" PRIu64, seed);
        printf("\n");
        if (lock == LOCK_NONE)
            printf("  BUGGY ON PURPOSE: no lock, so buyers may all read the "
                   "stock before anyone writes it back.\n");
    }

    int *oversold = xcalloc(trials, sizeof *oversold);
    int *early = xcalloc(trials, sizeof *early);
    bool all_correct = true;
    struct outcome failure = {.failed = -1};
    uint64_t rng = seed, done = 0;
    for (uint64_t t = 0; t < trials; t++) {
        reset(&s, &rng, kill_holder, (int)victim, kill_point - 1);
        struct worker_run run = workers_run(run_mode, (int)buyers, buyer, &s,
                                            NULL);
        crash_audit(&s); /* the last locker: repairs a last holder's death */
        struct outcome o = check_trial(&s, &run);
        oversold[t] = o.oversold;
        early[t] = o.early;
        all_correct &= o.failures == 0 && (lock == LOCK_NONE || o.correct);
        if (csv)
            printf("%s,%s,%s,%d,%d,%d,%d,%" PRId64 ",%d,%.6f,%d,%d,%d\n",
                   store_names[store], lock_names[lock], mode_names[mode],
                   (int)buyers, (int)stock, (int)t + 1, o.sold, o.left,
                   o.oversold, o.seconds, o.recorded, o.killed >= 0, o.early);
        else if (trials == 1)
            narrate(&s, &run, &o, read_ms, write_ms);
        else if (lock == LOCK_NONE && o.failures == 0)
            printf("  trial %-4d sold %-4d left %-4" PRId64 " oversold %-4d "
                   "read before the first write-back: %d of %d\n", (int)t + 1,
                   o.sold, o.left, o.oversold, o.early, (int)buyers);
        else
            printf("  trial %-4d sold %-4d left %-4" PRId64 " oversold %-4d "
                   "%s%s\n", (int)t + 1, o.sold, o.left, o.oversold,
                   o.failures > 0 ? "FAILED: a buyer did not finish "
                   : o.correct    ? ""
                                  : "WRONG ",
                   s.shared->repair[0] ? "(repaired after a buyer died)" : "");
        worker_run_release(&run);
        done = t + 1;
        if (o.failures > 0) {
            failure = o;
            break; /* the sale cannot be checked: stop here */
        }
    }
    watchdog_stop();

    if (!csv && trials > 1 && failure.failures == 0)
        summarize_trials(&s, oversold, early, (int)trials);
    free(oversold);
    free(early);
    if (failure.failures > 0) {
        char how[64];
        proc_describe_exitcode(failure.failed_status, how, sizeof how);
        fprintf(stderr, "tickets: FAILED: in trial %d, buyer-%d %s, and not "
                        "as a planned kill;\ntickets: %d buyer%s failed, so "
                        "the sale cannot be checked\n", (int)done,
                failure.failed, how, failure.failures,
                failure.failures == 1 ? "" : "s");
        return failure.failed_status == EXIT_SYSTEM ? EXIT_SYSTEM : EXIT_WRONG;
    }
    if (!all_correct) {
        fprintf(stderr, "tickets: WRONG: with --lock %s the store and the "
                        "buyers disagree (see above)\n", lock_names[lock]);
        return EXIT_WRONG;
    }
    return EXIT_OK;
}
