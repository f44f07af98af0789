/*
 * Start-up and state-keeping shared by the daemon roles, so that client,
 * slave and master read configs, log and keep the drift file identically.
 */
#include <linux/capability.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cmd.h"
#include "daemon.h"
#include "driftfile.h"
#include "log.h"

int
nt_daemon_load_config(const char *role, const char *path, int nargs,
    char **args, bool need_sources, struct nt_conf *c)
{
	char err[NT_CONF_ERRLEN];

	nt_conf_init(c);
	if (path == NULL && access(NT_CONF_DEFAULT_PATH, F_OK) == 0)
		path = NT_CONF_DEFAULT_PATH;
	if (path != NULL && nt_conf_load(c, path, err, sizeof err) != 0)
		goto fail;
	if (nargs > 0)
		nt_conf_clear_sources(c);
	for (int i = 0; i < nargs; i++)
		if (nt_conf_add_server_arg(c, args[i], err, sizeof err) != 0)
			goto fail;
	if (need_sources && c->n_servers + c->n_pools == 0) {
		snprintf(err, sizeof err, "no servers: give them on the command "
		    "line or in %s", path != NULL ? path : NT_CONF_DEFAULT_PATH);
		goto fail;
	}
	return (0);
fail:
	fprintf(stderr, "ntimed %s: %s\n", role, err);
	nt_conf_free(c);
	return (EXIT_USAGE);
}

bool
nt_daemon_can_steer(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) != 0)
		return (geteuid() == 0);
	return ((data[CAP_SYS_TIME / 32].effective &
	    (1u << (CAP_SYS_TIME % 32))) != 0);
}

void
nt_daemon_logging(const struct nt_conf *c, int level, const char *ident)
{
	if (level >= 0)
		nt_log_setup(NT_LOG_STDERR, (enum nt_log_level)level, ident);
	else
		nt_log_setup(c->log_dest, c->log_level, ident);
}

static void
read_drift(const struct nt_conf *c, bool *have, double *freq, double *skew)
{
	char err[NT_CONF_ERRLEN];
	int r;

	*have = false;
	if (c->driftfile == NULL)
		return;
	r = nt_drift_read(c->driftfile, freq, skew, err, sizeof err);
	if (r < 0)
		nt_log(NT_LOG_WARNING, "%s (starting from the kernel's "
		    "frequency)", err);
	else if (r == 1)
		nt_log(NT_LOG_INFO, "%s: no drift file yet, starting from "
		    "the kernel's frequency", c->driftfile);
	else {
		nt_log(NT_LOG_INFO, "frequency %.3f ppm from %s", *freq,
		    c->driftfile);
		*have = true;
	}
}

struct nt_uvclient *
nt_daemon_start_client(uv_loop_t *loop, const struct nt_conf *c,
    struct nt_clock *clk, bool measure_only, enum nt_family_filter fam)
{
	return (nt_daemon_start_client_cb(loop, c, clk, measure_only, fam,
	    NULL, NULL));
}

struct nt_uvclient *
nt_daemon_start_client_cb(uv_loop_t *loop, const struct nt_conf *c,
    struct nt_clock *clk, bool measure_only, enum nt_family_filter fam,
    void (*on_update)(void *ctx, const struct nt_update *u), void *ctx)
{
	struct nt_engine_params p;
	struct nt_uvclient *uc;
	double freq = 0, skew = 0;
	bool have;

	read_drift(c, &have, &freq, &skew);
	nt_engine_params_from_conf(&p, c, clk, have, freq, skew);
	p.measure_only = measure_only;
	uc = nt_uvclient_new(loop, &p, clk, on_update, ctx);
	if (uc == NULL)
		return (NULL);
	for (size_t i = 0; i < c->n_servers; i++)
		nt_uvclient_add_server(uc, &c->servers[i], fam);
	for (size_t i = 0; i < c->n_pools; i++)
		nt_uvclient_add_pool(uc, &c->pools[i], fam);
	return (uc);
}

void
nt_daemon_save_drift(const struct nt_conf *c, struct nt_uvclient *uc)
{
	const struct nt_discipline *d = nt_engine_disc(nt_uvclient_engine(uc));
	char err[NT_CONF_ERRLEN];

	if (c->driftfile == NULL || d->n_updates == 0)
		return;
	if (nt_drift_write(c->driftfile, nt_disc_freq_ppm(d),
	    nt_disc_skew_ppm(d), err, sizeof err) != 0)
		nt_log(NT_LOG_ERR, "%s", err);
	else
		nt_log(NT_LOG_DEBUG, "frequency %.3f ppm saved to %s",
		    nt_disc_freq_ppm(d), c->driftfile);
}
