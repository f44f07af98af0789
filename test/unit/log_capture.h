/*
 * What the code under test logged, for unit tests that check their log
 * lines (an operator's only view of a refused record or pulse): the
 * messages at the level chosen or more urgent, one a line, in logged.
 */
#ifndef NTIMED_TEST_LOG_CAPTURE_H
#define NTIMED_TEST_LOG_CAPTURE_H

#include <string.h>

#include "log.h"

static char logged[8192];
static int n_logged;
static enum nt_log_level log_capture_max;

static inline void
log_sink(void *ctx, enum nt_log_level lvl, const char *msg)
{
	(void)ctx;
	if (lvl > log_capture_max)
		return;
	n_logged++;
	strlcat(logged, msg, sizeof logged);
	strlcat(logged, "\n", sizeof logged);
}

/* Forget what was logged; from now on capture max and more urgent. */
static inline void
log_reset_at(enum nt_log_level max)
{
	logged[0] = '\0';
	n_logged = 0;
	log_capture_max = max;
	nt_log_set_sink(log_sink, NULL);
}

/* The same for warnings and errors, what most tests check. */
static inline void
log_reset(void)
{
	log_reset_at(NT_LOG_WARNING);
}

#endif
