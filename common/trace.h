/* trace.h: a writer of Trace Event JSON, the timeline format that
 * ui.perfetto.dev and chrome://tracing open in the browser.
 *
 * A lab that can show "who ran when" collects events here while it runs and
 * writes them once, at trace_close():
 *
 *     {"traceEvents": [ ...events... ], "displayTimeUnit": "ms"}
 *
 * Each event belongs to a track: a pid (a process row in the viewer) and a
 * tid (a thread row inside it).  The kinds used here:
 *   X  a complete slice: name, start `ts` and length `dur`, in microseconds
 *   M  metadata: the names (and sort order) of processes and threads
 *   C  a counter: a value over time, drawn as a graph on the process row
 *   i  an instant: one moment, a thin mark on a thread row
 *   s/f a flow: an arrow from a moment in one slice to a later slice
 *       ("submitted here" -> "ran there")
 *
 * Times.  Every time given to this module is clock_seconds() (the monotonic
 * clock); the trace subtracts one origin, chosen at trace_open(), so every
 * track of every process of a run is on the same axis and starts near 0.
 *
 * Guarantees of the written file, checked by the tests with jq:
 *   - names first (every M event before any other), then the events in
 *     time order, so timestamps never go backwards on any track;
 *   - slices on one track never overlap: a slice that would overlap the one
 *     before it on its track is not written, and trace_close() returns how
 *     many were dropped (a caller that expects 0 can say so loudly).
 *     (The format allows nested slices; a partial overlap it cannot draw,
 *     and the viewers then move slices to other rows, which misleads.)
 *
 * Thread-safe: one mutex around the event list.  Not for use across
 * processes: a child records its times in shared memory and the parent
 * adds the events after joining it (that is what lab 03 does).
 */
#ifndef COMMON_TRACE_H
#define COMMON_TRACE_H

#include <stdint.h>

struct trace;

/* Start collecting events for `path`; `origin` (clock_seconds()) becomes
 * time 0.  The file is created now (a path that cannot be written stops
 * the program here, before any run, as checked.h does) and written at
 * trace_close(). */
struct trace *trace_open(const char *path, double origin);

/* Name a process row / a thread row.  sort_index orders the rows (lower
 * first); pass -1 to leave the viewer's order.  Naming a row again does
 * nothing: the first name stays. */
void trace_name_process(struct trace *trace, int pid, const char *name,
                        int sort_index);
void trace_name_thread(struct trace *trace, int pid, int tid, const char *name,
                       int sort_index);

/* A complete slice from `start` to `end` on track (pid, tid).  args_json is
 * NULL or the text of a JSON object ("{\"sum\": 42}"), copied. */
void trace_slice(struct trace *trace, int pid, int tid, const char *name,
                 const char *category, double start, double end,
                 const char *args_json);

/* A mark at `at` on (pid, tid), scoped to the thread. */
void trace_instant(struct trace *trace, int pid, int tid, const char *name,
                   double at, const char *args_json);

/* Counter `name` of process `pid` takes `value` at `at` (series "value"). */
void trace_counter(struct trace *trace, int pid, const char *name, double at,
                   double value);

/* An arrow from (from_pid, from_tid) at `from` to the slice that encloses
 * or follows `to` on (to_pid, to_tid).  `id` must be unique per arrow. */
void trace_flow(struct trace *trace, uint64_t id, const char *name, int from_pid,
                int from_tid, double from, int to_pid, int to_tid, double to);

/* What trace_close() wrote. */
struct trace_summary {
    int events;          /* written, metadata included */
    int dropped_overlaps; /* slices not written: they overlapped (see above) */
};

/* Write the file (stops the program with file:line on an I/O error, like
 * checked.h) and free everything. */
struct trace_summary trace_close(struct trace *trace);

#endif
