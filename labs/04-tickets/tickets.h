/* tickets.h: what the files of lab 04 share: the store, the locks, the
 * buyers' records and the run's settings.
 *
 * Read the files in this order:
 *   buyer.c    the lesson: the documents' search() and get(), and the race
 *   store.c    where the count lives: db.txt, or a record in shared memory
 *   locks.c    the four locks (none, mutex, file, naive)
 *   crash.c    --kill-holder: a buyer dies inside the lock, who repairs
 *   tickets.c  the flags, one trial, its check, the narration, main
 */
#ifndef TICKETS_H
#define TICKETS_H

#include "workers.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum { MAX_BUYERS = 1000, MAX_STOCK = 1000 };

/* ---- The store ------------------------------------------------------------ */

/* What the documents' db.txt holds, {"count": N}, plus who bought: the list
 * of buyers is what lets a crash be accounted for ("ticket 1 went to
 * buyer-3, who died before saying so").  A value: what a buyer holds after
 * reading. */
struct store {
    int64_t left;
    int32_t sold;
    int32_t buyers[MAX_STOCK];
};

/* The same in shared memory (--store shm).  The count is atomic only so that
 * the documents' unlocked search() may look at it while a buyer writes it
 * (a plain read racing a write is undefined behaviour in C).  That does not
 * make the read-modify-write atomic: without a lock, the race is intact, and
 * the list of buyers stays plain memory, where ThreadSanitizer sees it. */
struct shm_store {
    _Atomic int64_t left;
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
extern const char *const kill_point_names[KILL_POINTS]; /* for --kill-point */
extern const char *const kill_point_texts[KILL_POINTS]; /* for the narration */

/* What each buyer did, written by that buyer only, read by the parent after
 * the join.  The order numbers come from one shared counter of reads and
 * write-backs, so the parent can tell who read before the first write-back. */
struct buyer_record {
    int64_t searched;  /* the count search() saw */
    int64_t read;      /* the count get() read */
    int read_order;    /* 1, 2, ...: when it read; 0: it never read */
    int write_order;   /* when its write-back was complete; 0: none */
    double wrote_at;   /* clock_seconds() then */
};

/* Everything the buyers and the parent share, in one MAP_SHARED mapping. */
struct shared {
    struct shm_store store; /* --store shm */
    struct intent intent;   /* --store shm: the update in progress */
    pthread_mutex_t mutex;  /* --lock mutex */
    sem_t semaphore;        /* --lock naive */

    /* The lab's own bookkeeping (not part of the lesson's store). */
    atomic_int events;       /* reads and write-backs so far */
    atomic_int entered;      /* buyers that took the lock */
    atomic_int victim_rank;  /* --kill-holder: the n-th to take it dies */
    atomic_int kill_point;
    atomic_int victim;       /* the victim's index once chosen, else -1 */
    atomic_bool victim_dies; /* set by the victim itself, just before */
    atomic_int holder;       /* who holds the lock now, -1 if nobody */
    atomic_int holder_pid;
    atomic_int waiting;      /* buyers blocked on the lock */
    atomic_bool parent_waits; /* the parent's audit waits for it too */
    atomic_bool torn;        /* somebody found db.txt unreadable */
    struct buyer_record record[MAX_BUYERS];
    char repair[512];        /* what was repaired after EOWNERDEAD */
};

/* The run's settings; read-only once the buyers start. */
struct setup {
    struct shared *shared;
    enum store_kind store;
    enum lock_kind lock;
    double read_delay, write_delay; /* seconds */
    int64_t stock;
    int buyers;
    char directory[256]; /* the private temporary directory */
    char db[300];        /* directory/db.txt */
    char lockfile[300];  /* directory/lock */
};

enum { PARENT = -1 }; /* "who" for the parent's audit, in place of a buyer */

/* buyer.c */
int buyer(struct worker *self);

/* store.c */
void store_reset(const struct setup *s);
int64_t store_search(const struct setup *s);
void store_read(const struct setup *s, struct store *out);
void store_write(const struct setup *s, const struct store *value, int me);

/* locks.c */
void lock_reset(const struct setup *s);
int lock_acquire(const struct setup *s, int me);
void lock_release(const struct setup *s, int fd);

/* crash.c */
void crash_choose(const struct setup *s, uint64_t *rng, bool kill_holder,
                  int victim_rank, int kill_point);
void crash_on_entry(const struct setup *s, int me);
void crash_point(const struct setup *s, int me, enum kill_point point);
void crash_repair(const struct setup *s, int me);
void crash_audit(const struct setup *s);
void crash_diagnose(void *setup, FILE *out);

#endif
