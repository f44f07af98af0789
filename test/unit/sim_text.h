/*
 * A simulator scenario written inline in a unit test, loaded as a file
 * would be ("t.yaml"): a scenario the loader refuses fails the test with
 * its FILE:LINE:COLUMN message, so a typo in a test says where it is.
 * Include it after <cmocka.h>.
 */
#ifndef NTIMED_TEST_SIM_TEXT_H
#define NTIMED_TEST_SIM_TEXT_H

#include <string.h>

#include "conf.h"
#include "simscen.h"

static inline void
sim_load_text(struct nt_sim_scenario *sc, const char *text)
{
	char err[NT_CONF_ERRLEN];

	nt_sim_scenario_init(sc);
	if (nt_sim_scenario_load_buf(sc, "t.yaml", text, strlen(text), err,
	    sizeof err) != 0)
		fail_msg("%s", err);
}

#endif
