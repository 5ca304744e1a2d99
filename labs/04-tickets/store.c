/* store.c: where the count lives: the documents' db.txt (--store file), or
 * a record in shared memory (--store shm).
 *
 * db.txt holds {"count": N, "buyers": [...]}: the documents' count, plus the
 * list of who bought (the lab's check needs it).  A write goes to a
 * temporary file in the same directory, is flushed with fsync, then renamed
 * over db.txt: rename() replaces the name in one step, so a reader sees the
 * old file or the new one, never a half-written one, even if the writer is
 * killed at any point.  (The documents' json.dump(dic, open("db.txt", "w"))
 * truncates the file first: a reader can find it empty.)
 *
 * The shared-memory record is written in two steps, so a writer killed in
 * between leaves it torn; an intent record, set before and cleared after,
 * lets whoever finds the mess roll it back (crash.c).
 */
#define _GNU_SOURCE
#include "tickets.h"

#include "checked.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool parse(const char *text, struct store *out)
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
        if (out->sold == MAX_STOCK || sscanf(p, "%d%n", &buyer, &n) != 1)
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

static void read_file(const struct setup *s, struct store *out)
{
    char text[16384];
    int fd = CHECK(open(s->db, O_RDONLY | O_CLOEXEC));
    ssize_t length = CHECK(read(fd, text, sizeof text - 1));
    close(fd);
    text[length] = '\0';
    if (!parse(text, out)) {
        atomic_store(&s->shared->torn, true); /* must never happen */
        out->left = 0;
        out->sold = 0;
    }
}

/* write() may write less than asked (a file size limit, a signal): go on
 * until every byte is written, or the call fails. */
static void write_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            die_at(__FILE__, __LINE__, "write", errno);
        data += n;
        length -= (size_t)n;
    }
}

/* Write `text` to `path` in one step, as described above.  With `me` the
 * victim and --kill-point mid-write, the writer dies halfway through. */
static void replace_file(const struct setup *s, const char *text, int me)
{
    size_t length = strlen(text);
    char temporary[320];
    snprintf(temporary, sizeof temporary, "%s.XXXXXX", s->db);
    int fd = CHECK(mkostemp(temporary, O_CLOEXEC));
    write_all(fd, text, length / 2);
    crash_point(s, me, KILL_MID_WRITE); /* leaves a torn temporary file */
    write_all(fd, text + length / 2, length - length / 2);
    CHECK(fsync(fd)); /* the bytes are in the file before its name is */
    close(fd);
    CHECK(rename(temporary, s->db));
}

static void format(const struct store *value, char *text, size_t size)
{
    int length = snprintf(text, size, "{\"count\": %" PRId64 ", \"buyers\": [",
                          value->left);
    for (int i = 0; i < value->sold; i++)
        length += snprintf(text + length, size - (size_t)length, "%s%d",
                           i ? ", " : "", (int)value->buyers[i]);
    snprintf(text + length, size - (size_t)length, "]}\n");
}

/* A fresh stock, nobody has bought. */
void store_reset(const struct setup *s)
{
    struct shared *sh = s->shared;
    atomic_store(&sh->store.left, s->stock);
    sh->store.sold = 0;
    sh->intent.writing = 0;
    atomic_store(&sh->torn, false);
    if (s->store == STORE_FILE) {
        char text[64];
        format(&(struct store){.left = s->stock}, text, sizeof text);
        int fd = CHECK(open(s->db, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                            0600));
        write_all(fd, text, strlen(text));
        close(fd);
    }
}

/* The count, as search() sees it: no lock, so only the count, read in one
 * step (an atomic load, or one whole file). */
int64_t store_search(const struct setup *s)
{
    if (s->store == STORE_SHM)
        return atomic_load(&s->shared->store.left);
    static _Thread_local struct store seen; /* 4 KiB: not on a thread's stack */
    read_file(s, &seen);
    return seen.left;
}

void store_read(const struct setup *s, struct store *out)
{
    if (s->store == STORE_FILE) {
        read_file(s, out);
        return;
    }
    const struct shm_store *shm = &s->shared->store;
    out->left = atomic_load(&shm->left);
    out->sold = shm->sold;
    memcpy(out->buyers, shm->buyers, (size_t)out->sold * sizeof out->buyers[0]);
}

/* Write back a value that holds one more sale, by `me`, than the store. */
void store_write(const struct setup *s, const struct store *value, int me)
{
    if (s->store == STORE_FILE) {
        char text[16384];
        format(value, text, sizeof text);
        replace_file(s, text, me);
        return;
    }
    struct shared *sh = s->shared;
    /* Two steps, so a crash can tear it: the intent record says so. */
    sh->intent = (struct intent){.writing = 1, .buyer = me,
                                 .left_before = atomic_load(&sh->store.left),
                                 .sold_before = sh->store.sold};
    atomic_store(&sh->store.left, value->left);
    crash_point(s, me, KILL_MID_WRITE);
    sh->store.buyers[value->sold - 1] = value->buyers[value->sold - 1];
    sh->store.sold = value->sold;
    sh->intent.writing = 0;
}
