/* cleanup.c: removal of a run's temporary files on every exit path. */
#define _GNU_SOURCE
#include "cleanup.h"

#include "checked.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { CLEANUP_CAPACITY = 16 };
static struct {
    cleanup_fn fn;
    void *arg;
} steps[CLEANUP_CAPACITY];
static int step_count;
static _Atomic pid_t owner;  /* the process whose files these are */
static atomic_flag done = ATOMIC_FLAG_INIT;
/* Making a file and registering its removal is one step as far as
 * cleanup_run() can see: the watchdog thread may run it (Ctrl+C) while
 * the main thread is between mkdtemp() and cleanup_push(), and the
 * directory would be left.  Held for microseconds, never across a wait. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void push_locked(cleanup_fn fn, void *arg)
{
    if (step_count == CLEANUP_CAPACITY) {
        pthread_mutex_unlock(&lock);
        die_at(__FILE__, __LINE__, "cleanup_push: too many steps", ENOMEM);
    }
    if (owner == 0) {
        owner = getpid();
        atexit(cleanup_run);
    }
    steps[step_count].fn = fn;
    steps[step_count].arg = arg;
    step_count++;
}

void cleanup_push(cleanup_fn fn, void *arg)
{
    pthread_mutex_lock(&lock);
    push_locked(fn, arg);
    pthread_mutex_unlock(&lock);
}

/* Has this thread run the steps (or is it running them)? */
static _Thread_local bool ran_here;

void cleanup_run(void)
{
    /* A child never takes the lock: it may have inherited it held. */
    if (owner != getpid() || ran_here)
        return; /* not ours (a child), or this thread did it already */
    ran_here = true;
    if (atomic_flag_test_and_set(&done)) {
        /* Another thread is removing the files, and will end the process
         * when it is done (every caller exits next).  Returning now would
         * let this thread's _exit() cut that removal short -- the watchdog
         * answering Ctrl+C while the main thread is in die_at(), say --
         * so wait: the lock is never released, this thread ends with the
         * process, and the first way out decides the exit status. */
        pthread_mutex_lock(&lock);
        for (;;)
            pause();
    }
    pthread_mutex_lock(&lock);
    for (int i = step_count - 1; i >= 0; i--)
        steps[i].fn(steps[i].arg);
    /* Kept locked: the process is exiting, and nothing may be made now
     * that would not be removed. */
}

/* A private directory and a descriptor of it, opened when it was made.
 * Cleanup often runs when something has gone wrong -- quite possibly
 * because the process ran out of descriptors (EMFILE) -- so it must not
 * need a new one: the directory is read (getdents64) and emptied (unlinkat)
 * through the descriptor it already holds.  Children never hold it
 * (proc.h closes it in them). */
enum { TEMPDIR_CAPACITY = CLEANUP_CAPACITY };
static struct tempdir {
    /* A copy: the caller's buffer may be gone by the time cleanup runs
     * (a local array in the function that made the directory). */
    char path[4096];
    int fd;
} tempdirs[TEMPDIR_CAPACITY];
static int tempdir_count;

/* Unlink every entry of the directory open at fd; false if it cannot be
 * read. */
static bool empty_directory(int fd)
{
    if (lseek(fd, 0, SEEK_SET) == -1)
        return false;
    /* A buffer on the stack: no allocation on this path either. */
    _Alignas(8) char buffer[4096];
    for (;;) {
        long got = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
        if (got == -1)
            return false;
        if (got == 0)
            return true;
        for (long at = 0; at < got;) {
            struct linux_dirent64 {
                uint64_t d_ino;
                int64_t d_off;
                unsigned short d_reclen;
                unsigned char d_type;
                char d_name[];
            } *entry = (struct linux_dirent64 *)(buffer + at);
            if (strcmp(entry->d_name, ".") != 0 &&
                strcmp(entry->d_name, "..") != 0)
                unlinkat(fd, entry->d_name, 0);
            at += entry->d_reclen;
        }
    }
}

/* Remove the files of a flat directory, then the directory.  A thread that
 * was still writing when the watchdog fired may add a file between the two
 * steps, so a few passes are allowed.  Gone already (ENOENT) is fine;
 * anything else is said, never taken for "gone". */
static void remove_tempdir(void *arg)
{
    struct tempdir *dir = arg;
    int error = 0;
    if (dir->fd < 0)
        return; /* removed already (cleanup_tempdir_remove) */
    for (int pass = 0; pass < 3; pass++) {
        if (!empty_directory(dir->fd)) {
            error = errno;
            break;
        }
        if (rmdir(dir->path) == 0 || errno == ENOENT) {
            close(dir->fd);
            dir->fd = -1;
            return;
        }
        error = errno;
    }
    fprintf(stderr, "cleanup: could not remove %s: %s\n", dir->path,
            strerror(error));
}

void cleanup_tempdir_remove(const char *path)
{
    /* By its text: the record holds a copy, not the caller's buffer. */
    if (ran_here)
        return; /* inside cleanup_run(): it removes them all */
    pthread_mutex_lock(&lock);
    for (int i = 0; i < tempdir_count; i++)
        if (tempdirs[i].fd >= 0 && strcmp(tempdirs[i].path, path) == 0)
            remove_tempdir(&tempdirs[i]);
    pthread_mutex_unlock(&lock);
}

const char *cleanup_tempdir(const char *prefix, char *path, size_t size)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    int length = snprintf(path, size, "%s/%s-XXXXXX", base, prefix);
    if (length < 0 || (size_t)length >= size ||
        (size_t)length >= sizeof tempdirs[0].path)
        die_at(__FILE__, __LINE__, "cleanup_tempdir: path too long",
               ENAMETOOLONG);
    pthread_mutex_lock(&lock);
    if (tempdir_count == TEMPDIR_CAPACITY) {
        pthread_mutex_unlock(&lock);
        die_at(__FILE__, __LINE__, "cleanup_tempdir: too many directories",
               ENOMEM);
    }
    if (mkdtemp(path) == NULL) {
        int saved = errno;
        pthread_mutex_unlock(&lock);
        die_at(__FILE__, __LINE__, "mkdtemp(path)", saved);
    }
    /* The descriptor cleanup will use, taken now while it can be had. */
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1) {
        int saved = errno;
        rmdir(path); /* still empty: removing it needs no descriptor */
        pthread_mutex_unlock(&lock);
        die_at(__FILE__, __LINE__, "open(temporary directory)", saved);
    }
    struct tempdir *dir = &tempdirs[tempdir_count++];
    snprintf(dir->path, sizeof dir->path, "%s", path); /* fits: see above */
    dir->fd = fd;
    push_locked(remove_tempdir, dir);
    pthread_mutex_unlock(&lock);
    return path;
}
