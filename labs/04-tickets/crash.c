/* crash.c: --kill-holder: one buyer dies inside its critical section, and
 * who finds the mess and repairs it.
 *
 * The victim is the n-th buyer to take the lock; it kills itself with
 * SIGKILL at one of four points (just after reading, after deciding to buy,
 * in the middle of writing, after writing), as the OOM killer or a segfault
 * would strike: no cleanup, no unlock.  n is at most the stock (and the
 * buyers), so the victim has a ticket to buy and every point is reached.
 *
 * With a robust mutex the next locker gets EOWNERDEAD and repairs the store
 * (crash_repair).  If the victim was the last buyer to take the lock, nobody
 * comes after it: so the parent takes the lock once more after the buyers
 * (crash_audit) -- it is the last locker, and repairs if it must.  With a
 * semaphore (--lock naive) that last wait never ends either: the watchdog
 * stops the run (exit 3) and crash_diagnose says why.
 */
#define _GNU_SOURCE
#include "tickets.h"

#include "checked.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *const kill_point_names[KILL_POINTS] = {
    "after-read", "before-write", "mid-write", "before-unlock"};
const char *const kill_point_texts[KILL_POINTS] = {
    "just after reading", "after deciding, before writing",
    "in the middle of writing", "after writing, before unlocking"};

/* splitmix64: a tiny, well-mixed generator, so --seed repeats a run. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Before each trial: who dies, and where.  victim_rank 0 and kill_point -1
 * mean "drawn from rng". */
void crash_choose(const struct setup *s, uint64_t *rng, bool kill_holder,
                  int victim_rank, int kill_point)
{
    struct shared *sh = s->shared;
    atomic_store(&sh->entered, 0);
    atomic_store(&sh->victim, -1);
    atomic_store(&sh->victim_dies, false);
    sh->repair[0] = '\0';
    uint64_t z = next_random(rng);
    /* The first `stock` buyers to take the lock each buy a ticket, so any of
     * them reaches every point.  With no stock, nobody writes: only the
     * points outside the write can be reached. */
    int64_t buyers_who_buy = s->stock < s->buyers ? s->stock : s->buyers;
    int64_t candidates = buyers_who_buy > 0 ? buyers_who_buy : s->buyers;
    if (victim_rank == 0)
        victim_rank = (int)(z % (uint64_t)candidates) + 1;
    if (kill_point < 0) {
        static const int without_write[] = {KILL_AFTER_READ, KILL_BEFORE_UNLOCK};
        kill_point = victim_rank <= buyers_who_buy
                         ? (int)((z >> 32) % KILL_POINTS)
                         : without_write[(z >> 32) % 2];
    }
    atomic_store(&sh->victim_rank, kill_holder ? victim_rank : 0);
    atomic_store(&sh->kill_point, kill_point);
}

/* Called by a buyer that has just taken the lock. */
void crash_on_entry(const struct setup *s, int me)
{
    struct shared *sh = s->shared;
    atomic_store(&sh->holder, me);
    atomic_store(&sh->holder_pid, (int)getpid());
    if (atomic_fetch_add(&sh->entered, 1) + 1 == atomic_load(&sh->victim_rank))
        atomic_store(&sh->victim, me);
}

void crash_point(const struct setup *s, int me, enum kill_point point)
{
    if (atomic_load(&s->shared->victim) != me ||
        atomic_load(&s->shared->kill_point) != (int)point)
        return;
    /* A crash: no cleanup, no unlock.  (The buyer kills itself so the point
     * is exact.)  It says so first: a SIGKILL from anywhere else is not the
     * planned death. */
    atomic_store(&s->shared->victim_dies, true);
    kill(getpid(), SIGKILL);
    for (;;)
        pause();
}

/* After EOWNERDEAD: the previous holder died inside the critical section.
 * Put the store back in a consistent state, then tell the mutex so. */
void crash_repair(const struct setup *s, int me)
{
    struct shared *sh = s->shared;
    int dead = atomic_load(&sh->holder);
    int dead_pid = atomic_load(&sh->holder_pid);
    char what[256];
    if (s->store == STORE_SHM && sh->intent.writing) {
        /* Torn: roll back to the state before that write. */
        atomic_store(&sh->store.left, sh->intent.left_before);
        sh->store.sold = sh->intent.sold_before;
        sh->intent.writing = 0;
        snprintf(what, sizeof what,
                 "Its update was cut in half: rolled back to %" PRId64
                 " left, %d sold; that sale never happened",
                 atomic_load(&sh->store.left), (int)sh->store.sold);
    } else if (s->store == STORE_SHM) {
        bool sold_to_dead = false;
        for (int k = 0; k < sh->store.sold; k++)
            sold_to_dead |= sh->store.buyers[k] == dead;
        snprintf(what, sizeof what, "The store was consistent: %s",
                 sold_to_dead ? "its sale was complete before it died"
                              : "it died before changing anything");
    } else {
        snprintf(what, sizeof what,
                 "db.txt was whole (writes are atomic renames); a "
                 "half-written\n    temporary file may remain, removed at exit");
    }
    char who[64];
    if (me == PARENT)
        snprintf(who, sizeof who, "the parent, locking after the buyers,");
    else
        snprintf(who, sizeof who, "buyer-%d", me);
    snprintf(sh->repair, sizeof sh->repair,
             "%s got EOWNERDEAD: buyer-%d (pid %d) died holding the "
             "mutex.\n    %s.\n    pthread_mutex_consistent() made the mutex "
             "usable again",
             who, dead, dead_pid, what);
    CHECK_PT(pthread_mutex_consistent(&sh->mutex));
}

/* After the buyers: the parent takes the lock once, as the last locker, so
 * a holder that died with nobody after it is found and repaired too. */
void crash_audit(const struct setup *s)
{
    if (s->lock == LOCK_NONE)
        return;
    int fd = lock_acquire(s, PARENT);
    lock_release(s, fd);
}

/* ---- If the watchdog fires: who holds the lock, who waits ---------------- */

void crash_diagnose(void *setup, FILE *out)
{
    const struct setup *s = setup;
    struct shared *sh = s->shared;
    int holder = atomic_load(&sh->holder);
    int pid = atomic_load(&sh->holder_pid);
    int waiting = atomic_load(&sh->waiting);
    bool parent = atomic_load(&sh->parent_waits);
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
    char how[80];
    if (holder == atomic_load(&sh->victim))
        snprintf(how, sizeof how, "SIGKILL, %s",
                 kill_point_texts[atomic_load(&sh->kill_point)]);
    else
        snprintf(how, sizeof how, "it ended without releasing it");
    char who[96];
    if (waiting > 0)
        snprintf(who, sizeof who, "%d buyer%s %s", waiting,
                 waiting == 1 ? " is" : "s are", "blocked");
    else if (parent)
        snprintf(who, sizeof who, "the parent's last check is blocked");
    else
        snprintf(who, sizeof who, "nobody is blocked yet");
    fprintf(out,
            "tickets: DEADLOCK: buyer-%d (pid %d) died holding the lock "
            "(%s).\n"
            "tickets: %s in sem_wait() on it, and nothing can ever post it:\n"
            "tickets: a semaphore has no owner, so nobody can tell that its "
            "holder is gone.\n"
            "tickets: Python's multiprocessing.Lock is such a semaphore.  A "
            "robust mutex\n"
            "tickets: (--lock mutex) would hand the next locker EOWNERDEAD "
            "instead.\n",
            holder, pid, how, who);
}
