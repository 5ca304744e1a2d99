/* quiz.h: predict, then check -- the labs' --quiz, --answer and --seed.
 *
 * A result a student reads at once teaches less than one they predicted
 * first.  So a lab with a predictable outcome can print its setup with `?`
 * where the results would be, and run nothing that would give them away
 * (--quiz); then compute the answer with the same code the experiment uses
 * and, where a run can check it, run the experiment and show both
 * (--answer, with the same flags).  --seed S makes a new problem, and the
 * seed is printed so a student and a teacher can talk about the same one
 * (OSTEP's homework does this with -s and -c).
 */
#ifndef COMMON_QUIZ_H
#define COMMON_QUIZ_H

#include "flags.h"

#include <stdbool.h>
#include <stdint.h>

struct quiz {
    bool quiz, answer; /* --quiz, --answer */
    uint64_t seed;     /* --seed, or drawn by quiz_start() */
    bool seeded;       /* --seed was given: make a new problem from it */
    uint64_t state;    /* the generator, started from the seed */
};

/* Table entries for --quiz and --answer (add flag_seed_random for --seed). */
struct flag flag_quiz(bool *target);
struct flag flag_answer(bool *target);

/* After flags_parse: refuses --quiz with --answer (exit 2), notes whether
 * --seed was given, draws one if not, and starts the generator. */
void quiz_start(struct quiz *quiz, const struct program *program);

/* A whole number in [low, high], the same for the same seed everywhere
 * (splitmix64: tiny and well mixed). */
int quiz_pick(struct quiz *quiz, int low, int high);

#endif
