/* tickets.c: selling tickets -- the race, the lock, and a buyer killed
 * inside the lock (E9, E12).
 *
 * The experiment.  The documents keep a ticket count in a JSON file.  Each
 * of 20 buyer processes reads it, waits 0.1 s, decrements it if it is
 * positive, waits 0.2 s and writes it back.  With 1 ticket, many buyers "get"
 * it: they all read 1 before anyone wrote 0.  With a Lock around the
 * read-modify-write, exactly one buyer gets it, but the buyers now go one at
 * a time.
 *
 * This program does the same with a choice of store, lock and workers:
 *   --store file   the documents' JSON file, in a private temporary directory
 *   --store shm    a record in shared memory
 *   --lock none    BUGGY ON PURPOSE: the read-modify-write race
 *   --lock mutex   a robust, process-shared pthread mutex
 *   --lock file    an fcntl lock on a lock file (kernel-released on death)
 *   --lock naive   a semaphore, which is what Python's multiprocessing.Lock is
 *   --mode process|thread
 *
 * Beyond the documents, --kill-holder kills a buyer inside its critical
 * section.  A robust mutex tells the next buyer (EOWNERDEAD), which repairs
 * the half-done update; a file lock is released by the kernel, and atomic
 * writes keep the file whole; a semaphore stays taken forever, and the
 * watchdog ends the run with a diagnosis naming the dead holder.
 *
 * Run:    build/bin/tickets                         (the race: oversold)
 *         build/bin/tickets --lock mutex            (correct, and slower)
 *         build/bin/tickets --lock mutex --kill-holder --store shm
 *         build/bin/tickets --lock naive --kill-holder --timeout 3
 * Notice: without a lock the oversell changes from run to run (--trials 10);
 *         with it, elapsed = buyers x (read + write delay).
 */
#define _GNU_SOURCE
#include "checked.h"
#include "cleanup.h"
#include "flags.h"
#include "proc.h"
#include "timing.h"
#include "watchdog.h"
#include "workers.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_BUYERS = 1000, MAX_STOCK = 1000 };

/* ---- The store: what the documents' db.json holds ---------------------- */

/* The count, and who bought: the list of buyers is what lets a crash be
 * accounted for ("ticket 1 went to buyer-3, who died before saying so"). */
struct store {
    int64_t left;
    int32_t sold;
    int32_t buyers[MAX_STOCK];
};

/* Written before a two-step update of the shared-memory store, cleared
 * after.  Found set, it says the writer died in the middle. */
struct intent {
    int32_t writing; /* 0, or 1 while an update is under way */
    int32_t buyer;
    int64_t left_before;
    int32_t sold_before;
};

enum store_kind { STORE_FILE, STORE_SHM };
enum lock_kind { LOCK_NONE, LOCK_MUTEX, LOCK_FILE, LOCK_NAIVE };
enum kill_point { KILL_AFTER_READ, KILL_BEFORE_WRITE, KILL_MID_WRITE,
                  KILL_BEFORE_UNLOCK, KILL_POINTS };
static const char *const kill_point_names[KILL_POINTS] = {
    "just after reading", "after deciding, before writing",
    "in the middle of writing", "after writing, before unlocking"};

/* Everything the buyers share, in one MAP_SHARED mapping. */
struct shared {
    struct store store;     /* --store shm */
    struct intent intent;   /* --store shm: the update in progress */
    pthread_mutex_t mutex;  /* --lock mutex */
    sem_t semaphore;        /* --lock naive */

    /* The lab's own bookkeeping (not part of the lesson's store). */
    atomic_int entered;      /* buyers that entered the critical section */
    atomic_int victim_rank;  /* --kill-holder: the n-th to enter dies */
    atomic_int kill_point;
    atomic_int holder;       /* who holds the lock now, -1 if nobody */
    atomic_int holder_pid;
    atomic_int waiting;      /* buyers blocked on the lock */
    atomic_bool torn;        /* a buyer found the store unreadable */
    int64_t seen[MAX_BUYERS]; /* the stock each buyer read */
    char repair[512];         /* what a buyer repaired after EOWNERDEAD */
};

struct setup {
    struct shared *shared;
    enum store_kind store;
    enum lock_kind lock;
    double read_delay, write_delay; /* seconds */
    int64_t stock;
    char directory[256]; /* the private temporary directory */
    char db[300];        /* directory/db.json */
    char lockfile[300];  /* directory/lock */
};

/* The file store.  A write goes to a temporary file in the same directory,
 * is flushed with fsync, then renamed over db.json: rename() replaces the
 * name in one step, so a reader sees the old file or the new one, never a
 * half-written one, even if the writer is killed at any point. */
static bool parse_store(const char *text, struct store *out)
{
    int used = 0;
    long long left;
    if (sscanf(text, "{\"count\": %lld, \"buyers\": [%n", &left, &used) != 1 ||
        used == 0)
        return false;
    out->left = left;
    out->sold = 0;
    const char *p = text + used;
    while (*p != ']') {
        int buyer, n = 0;
        if (out->sold == MAX_STOCK ||
            sscanf(p, "%d%n", &buyer, &n) != 1)
            return false;
        out->buyers[out->sold++] = buyer;
        p += n;
        if (strncmp(p, ", ", 2) == 0)
            p += 2;
        else if (*p != ']')
            return false;
    }
    return strcmp(p, "]}\n") == 0;
}

static void store_read(const struct setup *s, struct store *out)
{
    if (s->store == STORE_SHM) {
        out->left = s->shared->store.left;
        out->sold = s->shared->store.sold;
        memcpy(out->buyers, s->shared->store.buyers,
               (size_t)out->sold * sizeof out->buyers[0]);
        return;
    }
    char text[16384];
    int fd = CHECK(open(s->db, O_RDONLY | O_CLOEXEC));
    ssize_t length = CHECK(read(fd, text, sizeof text - 1));
    close(fd);
    text[length] = '\0';
    if (!parse_store(text, out)) {
        atomic_store(&s->shared->torn, true); /* must never happen */
        out->left = 0;
        out->sold = 0;
    }
}

static _Noreturn void die_here(void)
{
    /* A crash, as the OOM killer or a segfault would cause it: no cleanup,
     * no unlock.  (The buyer kills itself so the point is exact.) */
    kill(getpid(), SIGKILL);
    for (;;)
        pause();
}

static void maybe_die(const struct setup *s, bool victim, enum kill_point point)
{
    if (victim && atomic_load(&s->shared->kill_point) == (int)point)
        die_here();
}

static void store_write(const struct setup *s, const struct store *value,
                        int buyer, bool victim)
{
    struct shared *sh = s->shared;
    if (s->store == STORE_SHM) {
        /* Two steps, so a crash can tear it: the intent record says so. */
        sh->intent = (struct intent){.writing = 1, .buyer = buyer,
                                     .left_before = sh->store.left,
                                     .sold_before = sh->store.sold};
        sh->store.left = value->left;
        maybe_die(s, victim, KILL_MID_WRITE);
        sh->store.buyers[value->sold - 1] = value->buyers[value->sold - 1];
        sh->store.sold = value->sold;
        sh->intent.writing = 0;
        return;
    }
    char text[16384];
    int length = snprintf(text, sizeof text, "{\"count\": %" PRId64 ", \"buyers\": [",
                          value->left);
    for (int i = 0; i < value->sold; i++)
        length += snprintf(text + length, sizeof text - (size_t)length, "%s%d",
                           i ? ", " : "", (int)value->buyers[i]);
    length += snprintf(text + length, sizeof text - (size_t)length, "]}\n");
    char temporary[320];
    snprintf(temporary, sizeof temporary, "%s.XXXXXX", s->db);
    int fd = CHECK(mkostemp(temporary, O_CLOEXEC));
    CHECK(write(fd, text, (size_t)length / 2));
    maybe_die(s, victim, KILL_MID_WRITE); /* leaves a torn temporary file */
    CHECK(write(fd, text + length / 2, (size_t)(length - length / 2)));
    CHECK(fsync(fd)); /* the bytes are in the file before its name is */
    close(fd);
    CHECK(rename(temporary, s->db));
}

/* ---- The locks ---------------------------------------------------------- */

/* After EOWNERDEAD: the previous holder died inside the critical section.
 * Put the store back in a consistent state, then tell the mutex so. */
static void repair(const struct setup *s, int me)
{
    struct shared *sh = s->shared;
    int dead = atomic_load(&sh->holder);
    int dead_pid = atomic_load(&sh->holder_pid);
    char what[256];
    if (s->store == STORE_SHM && sh->intent.writing) {
        /* Torn: roll back to the state before that write. */
        sh->store.left = sh->intent.left_before;
        sh->store.sold = sh->intent.sold_before;
        sh->intent.writing = 0;
        snprintf(what, sizeof what,
                 "Its update was cut in half: rolled back to %" PRId64
                 " left, %d sold; that sale never happened",
                 sh->store.left, (int)sh->store.sold);
    } else if (s->store == STORE_SHM) {
        bool sold_to_dead = false;
        for (int k = 0; k < sh->store.sold; k++)
            sold_to_dead |= sh->store.buyers[k] == dead;
        snprintf(what, sizeof what, "The store was consistent: %s",
                 sold_to_dead ? "its sale was complete before it died"
                              : "it died before changing anything");
    } else {
        snprintf(what, sizeof what,
                 "db.json was whole (writes are atomic renames); a "
                 "half-written\n    temporary file may remain, removed at exit");
    }
    snprintf(sh->repair, sizeof sh->repair,
             "buyer-%d got EOWNERDEAD: buyer-%d (pid %d) died holding the "
             "mutex.\n    %s.\n    pthread_mutex_consistent() made the mutex "
             "usable again",
             me, dead, dead_pid, what);
    CHECK_PT(pthread_mutex_consistent(&sh->mutex));
}

/* Returns the descriptor holding a file lock, or -1. */
static int lock_acquire(const struct setup *s, int me)
{
    struct shared *sh = s->shared;
    int fd = -1;
    atomic_fetch_add(&sh->waiting, 1);
    switch (s->lock) {
    case LOCK_NONE:
        break;
    case LOCK_MUTEX: {
        int rc = pthread_mutex_lock(&sh->mutex);
        if (rc == EOWNERDEAD)
            repair(s, me);
        else if (rc != 0)
            die_at(__FILE__, __LINE__, "pthread_mutex_lock", rc);
        break;
    }
    case LOCK_FILE: {
        /* An open file description lock (F_OFD_SETLKW): owned by this open
         * file, so it also excludes threads of one process (classic POSIX
         * fcntl locks are per process and would not), and the kernel
         * releases it when the last descriptor closes: at death too. */
        fd = CHECK(open(s->lockfile, O_RDWR | O_CLOEXEC));
        struct flock whole = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        while (fcntl(fd, F_OFD_SETLKW, &whole) == -1)
            if (errno != EINTR)
                die_at(__FILE__, __LINE__, "fcntl(F_OFD_SETLKW)", errno);
        break;
    }
    case LOCK_NAIVE:
        while (sem_wait(&sh->semaphore) == -1)
            if (errno != EINTR)
                die_at(__FILE__, __LINE__, "sem_wait", errno);
        break;
    }
    atomic_fetch_sub(&sh->waiting, 1);
    atomic_store(&sh->holder, me);
    atomic_store(&sh->holder_pid, (int)getpid());
    return fd;
}

static void lock_release(const struct setup *s, int fd)
{
    struct shared *sh = s->shared;
    atomic_store(&sh->holder, -1);
    switch (s->lock) {
    case LOCK_NONE:
        break;
    case LOCK_MUTEX:
        CHECK_PT(pthread_mutex_unlock(&sh->mutex));
        break;
    case LOCK_FILE:
        close(fd); /* closing the description releases its lock */
        break;
    case LOCK_NAIVE:
        CHECK(sem_post(&sh->semaphore));
        break;
    }
}

/* ---- A buyer: the documents' get() -------------------------------------- */

static int buyer(struct worker *self)
{
    const struct setup *s = self->input;
    struct shared *sh = s->shared;
    int me = self->index;

    int fd = lock_acquire(s, me);
    bool victim = atomic_fetch_add(&sh->entered, 1) + 1 ==
                  atomic_load(&sh->victim_rank);
    struct store seen;
    store_read(s, &seen); /* the read ... */
    sh->seen[me] = seen.left;
    maybe_die(s, victim, KILL_AFTER_READ);
    clock_sleep(s->read_delay);
    bool buys = seen.left > 0; /* ... the decision, on what was read ... */
    if (buys) {
        seen.left--;
        seen.buyers[seen.sold++] = me;
    }
    maybe_die(s, victim, KILL_BEFORE_WRITE);
    clock_sleep(s->write_delay);
    if (buys)
        store_write(s, &seen, me, victim); /* ... and the write-back */
    maybe_die(s, victim, KILL_BEFORE_UNLOCK);
    lock_release(s, fd);

    self->result = buys; /* this buyer believes it has a ticket */
    return 0;
}

/* ---- One trial: a fresh stock, every buyer once, then the checks ------- */

struct outcome {
    int sold;      /* buyers who believe they bought */
    int64_t left;  /* tickets left in the store */
    int recorded;  /* sales in the store's list of buyers */
    int oversold;
    int killed;    /* the buyer that died, or -1 */
    int killed_pid;
    bool correct;  /* with a lock: the store and the buyers agree */
    double seconds;
};

static void reset(const struct setup *s, uint64_t *rng, bool kill_holder)
{
    struct shared *sh = s->shared;
    sh->store.left = s->stock;
    sh->store.sold = 0;
    sh->intent.writing = 0;
    atomic_store(&sh->entered, 0);
    atomic_store(&sh->holder, -1);
    atomic_store(&sh->waiting, 0);
    atomic_store(&sh->torn, false);
    sh->repair[0] = '\0';
    if (s->store == STORE_FILE) {
        char text[64];
        int length = snprintf(text, sizeof text,
                              "{\"count\": %" PRId64 ", \"buyers\": []}\n",
                              s->stock);
        int fd = CHECK(open(s->db, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                            0600));
        CHECK(write(fd, text, (size_t)length));
        close(fd);
    }
    if (s->lock == LOCK_MUTEX) {
        /* Robust: if the owner dies, the next locker gets EOWNERDEAD instead
         * of waiting forever.  Process-shared: it lives in shared memory. */
        pthread_mutexattr_t attributes;
        CHECK_PT(pthread_mutexattr_init(&attributes));
        CHECK_PT(pthread_mutexattr_setpshared(&attributes,
                                              PTHREAD_PROCESS_SHARED));
        CHECK_PT(pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST));
        CHECK_PT(pthread_mutex_init(&sh->mutex, &attributes));
        CHECK_PT(pthread_mutexattr_destroy(&attributes));
    }
    if (s->lock == LOCK_NAIVE)
        CHECK(sem_init(&sh->semaphore, 1, 1)); /* 1: process-shared */

    /* splitmix64: a tiny, well-mixed generator, so --seed repeats a run. */
    *rng += 0x9e3779b97f4a7c15u;
    uint64_t z = *rng;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    /* The victim is the n-th buyer to enter, n <= stock: it has a ticket
     * to buy, so its death always interrupts a sale. */
    int64_t candidates = s->stock > 0 ? s->stock : 1;
    atomic_store(&sh->victim_rank,
                 kill_holder ? (int)(z % (uint64_t)candidates) + 1 : 0);
    atomic_store(&sh->kill_point, (int)((z >> 32) % KILL_POINTS));
}

static struct outcome run_trial(const struct setup *s, enum run_mode mode,
                                int buyers, struct worker_run *run)
{
    struct outcome o = {.killed = -1};
    *run = workers_run(mode, buyers, buyer, s, NULL);
    o.seconds = run->seconds;

    struct store final;
    store_read(s, &final);
    o.left = final.left;
    o.recorded = final.sold;
    bool claims_match = true;
    for (int i = 0; i < buyers; i++) {
        const struct worker *w = &run->workers[i];
        bool in_list = false;
        for (int k = 0; k < final.sold; k++)
            in_list |= final.buyers[k] == i;
        if (w->status != 0) {
            o.killed = i;
            o.killed_pid = (int)w->pid;
            continue; /* it never said; the store's list speaks for it */
        }
        o.sold += w->result == 1;
        claims_match &= (w->result == 1) == in_list;
    }
    o.oversold = o.sold > s->stock ? o.sold - (int)s->stock : 0;
    o.correct = !atomic_load(&s->shared->torn) && o.oversold == 0 &&
                claims_match && o.recorded + o.left == s->stock;
    return o;
}

/* ---- Narration ---------------------------------------------------------- */

static const char *const store_names[] = {"file", "shm", NULL};
static const char *const lock_names[] = {"none", "mutex", "file", "naive", NULL};
static const char *const mode_names[] = {"process", "thread", NULL};

static void narrate(const struct setup *s, const struct worker_run *run,
                    const struct outcome *o, double read_ms, double write_ms)
{
    if (run->count <= 40) {
        for (int i = 0; i < run->count; i++) {
            const struct worker *w = &run->workers[i];
            if (w->status != 0) {
                char how[64];
                printf("  buyer-%-3d pid %-7d %s, inside the lock (%s)\n", i,
                       (int)w->pid,
                       proc_describe_exitcode(w->status, how, sizeof how),
                       kill_point_names[atomic_load(&s->shared->kill_point)]);
            } else {
                printf("  buyer-%-3d pid %-7d read %-4" PRId64 " %s\n", i,
                       (int)w->pid, s->shared->seen[i],
                       w->result ? "-> bought a ticket" : "-> none left");
            }
        }
    }
    if (s->shared->repair[0])
        printf("  REPAIRED: %s.\n", s->shared->repair);
    if (o->killed >= 0 && s->lock == LOCK_FILE)
        printf("  buyer-%d died holding the file lock; the kernel released "
               "the lock with its\n  last descriptor, and db.json was whole "
               "(writes are atomic renames).\n", o->killed);
    if (o->killed >= 0 && o->recorded + o->left == s->stock &&
        o->recorded > o->sold)
        printf("  The store records %d sale%s but %d surviving buyer%s: "
               "buyer-%d bought, then died\n  before it could say so.  "
               "Counted from the store's list of buyers.\n",
               o->recorded, o->recorded == 1 ? "" : "s", o->sold,
               o->sold == 1 ? "" : "s", o->killed);

    char took[32];
    duration_text(o->seconds, took, sizeof took);
    printf("  sold %d, left %" PRId64 ", stock %" PRId64 ": ", o->sold, o->left,
           s->stock);
    if (o->oversold > 0)
        printf("OVERSOLD by %d%s\n", o->oversold,
               s->lock == LOCK_NONE
                   ? " -- the race: they all read the stock before anyone "
                     "wrote it back"
                   : "");
    else if (s->lock == LOCK_NONE && o->sold + o->left > s->stock)
        printf("LOST UPDATES: %d buyers hold tickets, yet the store counts "
               "%" PRId64 " left;\n  %" PRId64 " sale%s overwritten by other "
               "buyers' write-backs -- the same race\n", o->sold, o->left,
               o->sold + o->left - s->stock,
               o->sold + o->left - s->stock == 1 ? " was" : "s were");
    else
        printf("%s\n", o->correct ? "correct" : "WRONG (see above)");
    double serial = run->count * (read_ms + write_ms) / 1000.0;
    char expected[32];
    duration_text(serial, expected, sizeof expected);
    if (s->lock == LOCK_NONE)
        printf("  elapsed %s: the buyers overlapped (one alone takes %g + %g "
               "ms)\n", took, read_ms, write_ms);
    else
        printf("  elapsed %s: one buyer at a time, %d x (%g + %g) ms = %s\n",
               took, run->count, read_ms, write_ms, expected);
}

/* ---- If the watchdog fires: who holds the lock, who waits -------------- */

static void diagnose(void *arg, FILE *out)
{
    const struct setup *s = arg;
    struct shared *sh = s->shared;
    int holder = atomic_load(&sh->holder);
    int pid = atomic_load(&sh->holder_pid);
    int waiting = atomic_load(&sh->waiting);
    if (holder < 0) {
        fprintf(out, "tickets: no buyer holds the lock; %d wait for it\n",
                waiting);
        return;
    }
    /* Has the holder ended?  Either it is a zombie (look without reaping
     * it) or the main thread has already reaped it (no such process). */
    siginfo_t info = {0};
    bool zombie = waitid(P_PID, (id_t)pid, &info,
                         WEXITED | WNOHANG | WNOWAIT) == 0 &&
                  info.si_pid == pid;
    bool dead = zombie || (kill(pid, 0) == -1 && errno == ESRCH);
    if (!dead) {
        fprintf(out, "tickets: buyer-%d (pid %d) holds the lock; %d buyers "
                     "wait for it\n", holder, pid, waiting);
        return;
    }
    fprintf(out,
            "tickets: DEADLOCK: buyer-%d (pid %d) died holding the lock "
            "(SIGKILL, %s).\n"
            "tickets: %d buyers are blocked in sem_wait() on it, and nothing "
            "can ever post it:\n"
            "tickets: a semaphore has no owner, so nobody can tell that its "
            "holder is gone.\n"
            "tickets: Python's multiprocessing.Lock is such a semaphore.  A "
            "robust mutex\n"
            "tickets: (--lock mutex) would hand the next buyer EOWNERDEAD "
            "instead.\n",
            holder, pid, kill_point_names[atomic_load(&sh->kill_point)],
            waiting);
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
    uint64_t buyers = 20, stock = 1, trials = 1, seed = 0;
    double read_ms = 10, write_ms = 20, timeout = 60;
    int store = STORE_FILE, lock = LOCK_NONE, mode = 0;
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
         .help = "pause before writing it back, ms (the documents: 200)"},
        {.name = "store", .type = FLAG_CHOICE, .target = &store,
         .choices = store_names, .value_name = "KIND",
         .help = "where the count lives: a JSON file, or shared memory"},
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
        flag_seed(&seed),
        flag_timeout(&timeout),
        flag_csv(&csv),
        FLAG_END,
    };
    struct program program = {
        .name = "tickets",
        .synopsis = "selling tickets: the read-modify-write race, the lock, "
                    "and a buyer killed inside the lock (E9, E12)",
        .description =
            "Each buyer: lock, read the stock, wait --read-delay, decrement if "
            "positive,\nwait --write-delay, write it back, unlock.  Without "
            "a lock (BUGGY ON PURPOSE)\nseveral buyers read the same stock: "
            "the ticket is oversold.  A lock makes\nit correct and serial: "
            "elapsed = buyers x (read + write delay).\n"
            "Locks: mutex (robust, process-shared; file or shm store), file "
            "(an OFD\nfcntl lock; file store), naive (a semaphore, as "
            "Python's Lock; file or shm).\n"
            "--kill-holder (processes, with a lock): one buyer dies inside "
            "its critical\nsection at a point chosen by --seed.\n\n"
            "CSV (--csv): store,lock,mode,buyers,stock,trial,sold,left,"
            "oversold,seconds\n  one row per trial; sold = buyers who "
            "believe they bought; oversold =\n  sold - stock when positive.",
        .exit_notes = "  With a lock, exit 1 means the store and the buyers "
                      "disagree (oversold, a lost\n  or torn sale).  Without "
                      "a lock, overselling is the expected result: exit 0.\n"
                      "  --lock naive --kill-holder ends in exit 3: the dead "
                      "holder's semaphore is never\n  released, and the "
                      "watchdog says so.",
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
    if (!flags_given(&program, "seed"))
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
    cleanup_tempdir("tickets", s.directory, sizeof s.directory);
    snprintf(s.db, sizeof s.db, "%s/db.json", s.directory);
    snprintf(s.lockfile, sizeof s.lockfile, "%s/lock", s.directory);
    if (lock == LOCK_FILE)
        close(CHECK(open(s.lockfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600)));
    watchdog_set_diagnosis(diagnose, &s);

    enum run_mode run_mode = mode == 0 ? RUN_PROCESSES : RUN_THREADS;
    if (csv) {
        printf("store,lock,mode,buyers,stock,trial,sold,left,oversold,"
               "seconds\n");
    } else {
        printf("tickets: %d buyer %s, %d ticket%s, store %s, lock %s; "
               "seed %" PRIu64 "\n",
               (int)buyers, mode == 0 ? "processes" : "threads", (int)stock,
               stock == 1 ? "" : "s",
               store == STORE_FILE ? s.db : "in shared memory",
               lock_names[lock], seed);
        if (lock == LOCK_NONE)
            printf("  BUGGY ON PURPOSE: no lock, so buyers may all read the "
                   "stock before anyone writes it back.\n");
    }

    int *oversold = xcalloc(trials, sizeof *oversold);
    bool all_correct = true;
    uint64_t rng = seed;
    for (uint64_t t = 0; t < trials; t++) {
        reset(&s, &rng, kill_holder);
        struct worker_run run;
        struct outcome o = run_trial(&s, run_mode, (int)buyers, &run);
        oversold[t] = o.oversold;
        all_correct &= lock == LOCK_NONE || o.correct;
        if (csv)
            printf("%s,%s,%s,%d,%d,%d,%d,%" PRId64 ",%d,%.6f\n",
                   store_names[store], lock_names[lock], mode_names[mode],
                   (int)buyers, (int)stock, (int)t + 1, o.sold, o.left,
                   o.oversold, o.seconds);
        else if (trials == 1)
            narrate(&s, &run, &o, read_ms, write_ms);
        else
            printf("  trial %-4d sold %-4d left %-4" PRId64 " oversold %-4d "
                   "%s%s\n", (int)t + 1, o.sold, o.left, o.oversold,
                   lock == LOCK_NONE || o.correct ? "" : "WRONG ",
                   s.shared->repair[0] ? "(repaired after a buyer died)" : "");
        worker_run_release(&run);
    }
    watchdog_stop();

    if (!csv && trials > 1) {
        double *values = xcalloc(trials, sizeof *values);
        for (uint64_t t = 0; t < trials; t++)
            values[t] = oversold[t];
        struct stats st = stats_of(values, (int)trials);
        printf("oversold over %d trials: min %g, median %g, max %g%s\n",
               (int)trials, st.min, st.median, st.max,
               lock == LOCK_NONE ? " -- the race is different every time"
                                 : "");
        free(values);
    }
    free(oversold);
    if (!all_correct) {
        fprintf(stderr, "tickets: WRONG: with --lock %s the store and the "
                        "buyers disagree (see above)\n", lock_names[lock]);
        return EXIT_WRONG;
    }
    return EXIT_OK;
}
