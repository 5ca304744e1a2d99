/* cleanup.h: what a run must remove on every exit path.
 *
 * A lab that creates temporary files registers their removal here once.  The
 * registered steps then run on every way out of the process that registered
 * them: a normal exit (atexit), die_at(), the watchdog's timeout and Ctrl+C
 * (after every child is dead, so nothing is still writing).  They never run
 * in a child process, which inherits the list but does not own the files.
 *
 * cleanup_tempdir() is the common case: a private directory from mkdtemp()
 * under $TMPDIR (default /tmp), never a fixed name, removed with its files.
 * It keeps one descriptor of the directory open from creation on, so that
 * removing it needs no new descriptor: a run that ran out of them (EMFILE,
 * `ulimit -n`) still leaves nothing behind.
 */
#ifndef COMMON_CLEANUP_H
#define COMMON_CLEANUP_H

#include <stddef.h>

typedef void (*cleanup_fn)(void *arg);

/* Register fn(arg); steps run last-registered first.  At most 16. */
void cleanup_push(cleanup_fn fn, void *arg);

/* Run the registered steps now (once).  Only in the process that
 * registered them.  The caller exits next: a later call from the same
 * thread does nothing; one from another thread while the first is still
 * removing files waits for the process to end (so its own exit cannot cut
 * the removal short). */
void cleanup_run(void);

/* Create "$TMPDIR/PREFIX-XXXXXX" and register its removal (its files
 * first; the directory is flat).  Returns `path`.  The removal keeps its
 * own copy of the path: `path` may be a local buffer that is gone by the
 * time cleanup runs. */
const char *cleanup_tempdir(const char *prefix, char *path, size_t size);

/* Remove a directory made by cleanup_tempdir() now, with its files (`path`:
 * the buffer it was given), instead of at exit.  Its exit step then does
 * nothing. */
void cleanup_tempdir_remove(const char *path);

#endif
