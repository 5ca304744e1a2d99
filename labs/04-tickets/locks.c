/* locks.c: the four --lock choices around get(): none (BUGGY ON PURPOSE),
 * a robust process-shared mutex, an OFD file lock, and a semaphore (what
 * Python's multiprocessing.Lock is).
 *
 * What each does when its holder dies inside (--kill-holder, crash.c):
 *   mutex  robust: the next locker gets EOWNERDEAD, repairs, goes on;
 *   file   the kernel releases the lock with the dead holder's descriptors;
 *   naive  nothing: a semaphore has no owner, so it stays taken for ever.
 */
#define _GNU_SOURCE
#include "tickets.h"

#include "checked.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* Before each trial: a fresh, free lock. */
void lock_reset(const struct setup *s)
{
    struct shared *sh = s->shared;
    atomic_store(&sh->holder, -1);
    atomic_store(&sh->waiting, 0);
    atomic_store(&sh->parent_waits, false);
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
}

/* Take the lock; `me` is a buyer's index, or PARENT for the audit after the
 * buyers.  Returns the descriptor holding a file lock, or -1. */
int lock_acquire(const struct setup *s, int me)
{
    struct shared *sh = s->shared;
    int fd = -1;
    if (me == PARENT)
        atomic_store(&sh->parent_waits, true);
    else
        atomic_fetch_add(&sh->waiting, 1);
    switch (s->lock) {
    case LOCK_NONE: /* BUGGY ON PURPOSE: no lock; every buyer walks in */
        break;
    case LOCK_MUTEX: {
        int rc = pthread_mutex_lock(&sh->mutex);
        if (rc == EOWNERDEAD)
            crash_repair(s, me); /* the holder died inside: repair first */
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
    if (me == PARENT) {
        atomic_store(&sh->parent_waits, false);
        return fd;
    }
    atomic_fetch_sub(&sh->waiting, 1);
    crash_on_entry(s, me); /* who holds it now; is it the victim? */
    return fd;
}

void lock_release(const struct setup *s, int fd)
{
    atomic_store(&s->shared->holder, -1);
    switch (s->lock) {
    case LOCK_NONE: /* BUGGY ON PURPOSE: there was nothing to release */
        break;
    case LOCK_MUTEX:
        CHECK_PT(pthread_mutex_unlock(&s->shared->mutex));
        break;
    case LOCK_FILE:
        close(fd); /* closing the description releases its lock */
        break;
    case LOCK_NAIVE:
        CHECK(sem_post(&s->shared->semaphore));
        break;
    }
}
