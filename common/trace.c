/* trace.c: collect timeline events, write them as Trace Event JSON (trace.h). */
#include "trace.h"
#include "checked.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct event {
    char phase;          /* 'X', 'M', 'C', 'i', 's', 'f' */
    int pid, tid;
    double ts, dur;      /* microseconds from the origin */
    char *name, *category, *args; /* args: a JSON object's text, or NULL */
    uint64_t id;         /* flows */
    double value;        /* counters; sort_index for M (as a number) */
    int sequence;        /* insertion order: ties keep it */
    bool dropped;
};

struct trace {
    pthread_mutex_t mutex;
    FILE *out;      /* opened at trace_open: a bad path fails before the run */
    double origin;
    struct event *events;
    int count, capacity;
};

static char *copy_text(const char *text)
{
    if (text == NULL)
        return NULL;
    size_t length = strlen(text) + 1;
    char *copy = xcalloc(length, 1);
    memcpy(copy, text, length);
    return copy;
}

struct trace *trace_open(const char *path, double origin)
{
    struct trace *trace = xcalloc(1, sizeof *trace);
    CHECK_PT(pthread_mutex_init(&trace->mutex, NULL));
    trace->out = CHECK_PTR(fopen(path, "w"), NULL);
    trace->origin = origin;
    return trace;
}

/* Append one event (the caller fills it); takes ownership of its texts. */
static void add(struct trace *trace, struct event event)
{
    CHECK_PT(pthread_mutex_lock(&trace->mutex));
    /* A row named twice keeps its first name (callers may name a row each
     * time they see it). */
    if (event.phase == 'M')
        for (int i = 0; i < trace->count; i++) {
            const struct event *e = &trace->events[i];
            if (e->phase == 'M' && e->pid == event.pid && e->tid == event.tid &&
                strcmp(e->name, event.name) == 0) {
                CHECK_PT(pthread_mutex_unlock(&trace->mutex));
                free(event.name);
                free(event.args);
                return;
            }
        }
    if (trace->count == trace->capacity) {
        int capacity = trace->capacity ? 2 * trace->capacity : 256;
        struct event *bigger = xcalloc((size_t)capacity, sizeof *bigger);
        if (trace->count > 0)
            memcpy(bigger, trace->events, (size_t)trace->count * sizeof *bigger);
        free(trace->events);
        trace->events = bigger;
        trace->capacity = capacity;
    }
    event.sequence = trace->count;
    trace->events[trace->count++] = event;
    CHECK_PT(pthread_mutex_unlock(&trace->mutex));
}

static double microseconds(const struct trace *trace, double seconds)
{
    return (seconds - trace->origin) * 1e6;
}

void trace_name_process(struct trace *trace, int pid, const char *name,
                        int sort_index)
{
    add(trace, (struct event){.phase = 'M', .pid = pid, .tid = 0,
                              .name = copy_text("process_name"),
                              .args = copy_text(name), .value = sort_index});
}

void trace_name_thread(struct trace *trace, int pid, int tid, const char *name,
                       int sort_index)
{
    add(trace, (struct event){.phase = 'M', .pid = pid, .tid = tid,
                              .name = copy_text("thread_name"),
                              .args = copy_text(name), .value = sort_index});
}

void trace_slice(struct trace *trace, int pid, int tid, const char *name,
                 const char *category, double start, double end,
                 const char *args_json)
{
    double ts = microseconds(trace, start), stop = microseconds(trace, end);
    add(trace, (struct event){.phase = 'X', .pid = pid, .tid = tid, .ts = ts,
                              .dur = stop > ts ? stop - ts : 0,
                              .name = copy_text(name),
                              .category = copy_text(category),
                              .args = copy_text(args_json)});
}

void trace_instant(struct trace *trace, int pid, int tid, const char *name,
                   double at, const char *args_json)
{
    add(trace, (struct event){.phase = 'i', .pid = pid, .tid = tid,
                              .ts = microseconds(trace, at),
                              .name = copy_text(name),
                              .args = copy_text(args_json)});
}

void trace_counter(struct trace *trace, int pid, const char *name, double at,
                   double value)
{
    add(trace, (struct event){.phase = 'C', .pid = pid, .tid = 0,
                              .ts = microseconds(trace, at),
                              .name = copy_text(name), .value = value});
}

void trace_flow(struct trace *trace, uint64_t id, const char *name, int from_pid,
                int from_tid, double from, int to_pid, int to_tid, double to)
{
    add(trace, (struct event){.phase = 's', .pid = from_pid, .tid = from_tid,
                              .ts = microseconds(trace, from), .id = id,
                              .name = copy_text(name)});
    add(trace, (struct event){.phase = 'f', .pid = to_pid, .tid = to_tid,
                              .ts = microseconds(trace, to), .id = id,
                              .name = copy_text(name)});
}

/* ---- Writing ----------------------------------------------------------- */

/* Slices of one track together, in start order: to find overlaps. */
static int by_track_then_start(const void *a, const void *b)
{
    const struct event *x = *(struct event *const *)a, *y = *(struct event *const *)b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->sequence - y->sequence;
}

/* The file's order: names first, then time; equal times keep insertion
 * order (qsort is not stable by itself). */
static int by_time(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    bool xm = x->phase == 'M', ym = y->phase == 'M';
    if (xm != ym)
        return xm ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->sequence - y->sequence;
}

static void write_string(FILE *out, const char *text)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20)
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

static void write_event(FILE *out, const struct event *e)
{
    fprintf(out, "{\"ph\":\"%c\",\"pid\":%d,\"tid\":%d,\"name\":", e->phase,
            e->pid, e->tid);
    write_string(out, e->name);
    switch (e->phase) {
    case 'M':
        fputs(",\"args\":{\"name\":", out);
        write_string(out, e->args);
        fputs("}}", out);
        return;
    case 'X':
        fprintf(out, ",\"ts\":%.3f,\"dur\":%.3f", e->ts, e->dur);
        if (e->category) {
            fputs(",\"cat\":", out);
            write_string(out, e->category);
        }
        break;
    case 'i':
        fprintf(out, ",\"ts\":%.3f,\"s\":\"t\"", e->ts);
        break;
    case 'C':
        fprintf(out, ",\"ts\":%.3f,\"args\":{\"value\":%.6g}}", e->ts, e->value);
        return;
    case 's':
    case 'f':
        /* "bp":"e": the arrow's end binds to the slice enclosing that
         * moment (else to the next slice that begins there). */
        fprintf(out, ",\"ts\":%.3f,\"id\":%llu,\"cat\":\"flow\"%s}", e->ts,
                (unsigned long long)e->id, e->phase == 'f' ? ",\"bp\":\"e\"" : "");
        return;
    }
    if (e->args)
        fprintf(out, ",\"args\":%s", e->args);
    fputc('}', out);
}

/* A sort index is its own metadata event in the format. */
static void write_sort_index(FILE *out, const struct event *e)
{
    fprintf(out, ",\n{\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"%s\","
                 "\"args\":{\"sort_index\":%d}}",
            e->pid, e->tid,
            strcmp(e->name, "process_name") == 0 ? "process_sort_index"
                                                 : "thread_sort_index",
            (int)e->value);
}

struct trace_summary trace_close(struct trace *trace)
{
    struct trace_summary summary = {0};
    int n = trace->count;

    /* Overlaps: per track, in start order, a slice that begins before the
     * previous kept one ended is dropped. */
    struct event **slices = xcalloc((size_t)n + 1, sizeof *slices);
    int slice_count = 0;
    for (int i = 0; i < n; i++)
        if (trace->events[i].phase == 'X')
            slices[slice_count++] = &trace->events[i];
    qsort(slices, (size_t)slice_count, sizeof *slices, by_track_then_start);
    const struct event *kept = NULL;
    for (int i = 0; i < slice_count; i++) {
        struct event *e = slices[i];
        bool same_track = kept && kept->pid == e->pid && kept->tid == e->tid;
        if (same_track && e->ts < kept->ts + kept->dur) {
            e->dropped = true;
            summary.dropped_overlaps++;
        } else {
            kept = e;
        }
    }
    free(slices);

    qsort(trace->events, (size_t)n, sizeof *trace->events, by_time);
    FILE *out = trace->out;
    fputs("{\"traceEvents\": [\n", out);
    bool first = true;
    for (int i = 0; i < n; i++) {
        const struct event *e = &trace->events[i];
        if (e->dropped)
            continue;
        if (!first)
            fputs(",\n", out);
        first = false;
        write_event(out, e);
        summary.events++;
        if (e->phase == 'M' && e->value >= 0) {
            write_sort_index(out, e);
            summary.events++;
        }
    }
    fputs("\n],\n\"displayTimeUnit\": \"ms\"}\n", out);
    if (ferror(out))
        die_at(__FILE__, __LINE__, "writing the trace", EIO);
    if (fclose(out) != 0)
        die_at(__FILE__, __LINE__, "fclose(trace)", errno);

    for (int i = 0; i < n; i++) {
        free(trace->events[i].name);
        free(trace->events[i].category);
        free(trace->events[i].args);
    }
    free(trace->events);
    CHECK_PT(pthread_mutex_destroy(&trace->mutex));
    free(trace);
    return summary;
}
