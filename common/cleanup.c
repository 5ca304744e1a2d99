/* cleanup.c: removal of a run's temporary files on every exit path. */
#define _GNU_SOURCE
#include "cleanup.h"

#include "checked.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CLEANUP_CAPACITY = 16 };
static struct {
    cleanup_fn fn;
    void *arg;
} steps[CLEANUP_CAPACITY];
static int step_count;
static pid_t owner;          /* the process whose files these are */
static atomic_flag done = ATOMIC_FLAG_INIT;

void cleanup_push(cleanup_fn fn, void *arg)
{
    if (step_count == CLEANUP_CAPACITY)
        die_at(__FILE__, __LINE__, "cleanup_push: too many steps", ENOMEM);
    if (owner == 0) {
        owner = getpid();
        atexit(cleanup_run);
    }
    steps[step_count].fn = fn;
    steps[step_count].arg = arg;
    step_count++;
}

void cleanup_run(void)
{
    if (owner != getpid() || atomic_flag_test_and_set(&done))
        return; /* not ours (a child), or already done (exit after die_at) */
    for (int i = step_count - 1; i >= 0; i--)
        steps[i].fn(steps[i].arg);
}

/* Remove the files of a flat directory, then the directory.  A thread that
 * was still writing when the watchdog fired may add a file between the two
 * steps, so a few passes are allowed. */
static void remove_tempdir(void *arg)
{
    const char *path = arg;
    for (int pass = 0; pass < 3; pass++) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd == -1)
            return; /* already gone */
        DIR *directory = fdopendir(fd);
        if (directory == NULL) {
            close(fd);
            return;
        }
        struct dirent *entry;
        while ((entry = readdir(directory)) != NULL)
            if (strcmp(entry->d_name, ".") != 0 &&
                strcmp(entry->d_name, "..") != 0)
                unlinkat(fd, entry->d_name, 0);
        closedir(directory);
        if (rmdir(path) == 0)
            return;
    }
    fprintf(stderr, "cleanup: could not remove %s\n", path);
}

const char *cleanup_tempdir(const char *prefix, char *path, size_t size)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    int length = snprintf(path, size, "%s/%s-XXXXXX", base, prefix);
    if (length < 0 || (size_t)length >= size)
        die_at(__FILE__, __LINE__, "cleanup_tempdir: path too long",
               ENAMETOOLONG);
    CHECK_PTR(mkdtemp(path), NULL);
    cleanup_push(remove_tempdir, path);
    return path;
}
