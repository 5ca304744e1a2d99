/* sched.h: what the three experiments of lab 03 share (options, helpers). */
#ifndef LAB_SCHED_H
#define LAB_SCHED_H

#include "quiz.h"

#include <stdbool.h>
#include <stdint.h>

enum experiment { EXPERIMENT_TIMESLICE, EXPERIMENT_CROSSOVER, EXPERIMENT_CONVOY };
enum kind { KIND_PROCESS, KIND_THREAD };
enum io_kind { IO_NET, IO_SLEEP, IO_FILE };
/* --mode of the crossover, as in lab 02 (count). */
enum mode { MODE_ALL, MODE_SERIAL, MODE_THREAD, MODE_PROCESS };

enum { NICE_MAX_WORKERS = 64 };

struct options {
    int experiment;
    uint64_t workers, repeat, warmup;
    double timeout;
    bool csv;
    const char *trace_path; /* NULL: no trace */

    /* timeslice (E16) */
    int kind;
    double seconds;         /* the measured window */
    double gap_us;          /* a clock jump longer than this is "off the CPU" */
    uint64_t capacity;      /* gaps each worker can record */
    bool all_cores;
    const char *nice_list;
    int nice[NICE_MAX_WORKERS];
    int nice_count;         /* 0: every worker at nice 0 */
    uint64_t misplace;      /* with misplace_given: pin this worker wrongly */
    bool misplace_given;
    struct quiz quiz;       /* --quiz, --answer, --seed: the shares */

    /* crossover (E13) and convoy */
    int mode;
    bool gil;
    int io;
    double cpu_ms, io_ms;   /* per task */
    uint64_t tasks;
    uint64_t file_kib;      /* --io file: bytes read per task */
    double switch_interval_ms;
    uint64_t requests;      /* convoy */
    bool workers_given, tasks_given;
};

int run_timeslice(const struct options *options);
int run_crossover(const struct options *options);
int run_convoy(const struct options *options);

/* The kernel's weight for a nice value (-20 ... 19): the table
 * sched_prio_to_weight in kernel/sched/core.c; nice 0 is 1024 and each
 * step is about 1.25x. */
int nice_weight(int nice);

/* Worker INDEX's part of one CPU among workers that always want to run,
 * by the weights: weight / the sum of the weights (nice 0 for all when the
 * options give no --nice).  The experiment's "expected" column and the
 * quiz's answer are both this. */
double nice_share(const struct options *options, int index);

/* "6.18.44 (EEVDF: ...)" etc.: one line about the kernel's scheduler. */
void describe_scheduler(char *text, int size);

#endif
