/*
 * Fuzz target: the simulator's scenario loader
 * (nt_sim_scenario_load_buf), which reads scenario files people write and
 * share, with the daemon's own config schema embedded under "client:",
 * and its time parser ("100us", "2h", "30d").  Any input must give either
 * a scenario or one printable line naming the file, and leak nothing; a
 * time that parses is a number: never NaN, and infinite only where the
 * text overflows ("8e1000"), for the caller's range check to refuse.
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "simscen.h"

#define NAME "fuzz-scenario.yaml"

static void
check_time(const uint8_t *data, size_t size)
{
	char text[64];
	size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
	double v = NAN;

	memcpy(text, data, n);
	text[n] = '\0';
	if (nt_sim_parse_time(text, &v) == 0)
		FZ_CHECK(!isnan(v) && (isfinite(v) || strchr(text, 'e') ||
		    strchr(text, 'E')));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_sim_scenario sc;
	char err[512];

	check_time(data, size);
	nt_sim_scenario_init(&sc);
	err[0] = '\0';
	if (nt_sim_scenario_load_buf(&sc, NAME, (const char *)data, size, err,
	    sizeof err) == 0)
		FZ_CHECK(sc.n_servers <= NT_SIM_MAX_SERVERS &&
		    sc.client.n_servers == sc.n_servers);
	else
		fz_check_message(err, sizeof err, NAME ":");
	nt_sim_scenario_free(&sc);
	return (0);
}
