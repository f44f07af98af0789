/*
 * What the serving roles (slave, master) share: options, the config with
 * the command line on top, the server threads fed from the engine's
 * system variables, the control socket, metrics, systemd, signals.  A
 * role (cmd/slave.c, cmd/master.c) is a struct nt_serve_role: what it
 * needs to follow, and its own sources (the master's reference clocks).
 */
#ifndef NTIMED_SERVE_H
#define NTIMED_SERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "acl.h"
#include "clock.h"
#include "conf.h"
#include "nts_ke_server.h"
#include "control.h"
#include "metrics.h"
#include "server.h"
#include "status.h"
#include "uvclient.h"
#include "uvserver.h"

struct nt_serve;

#define NT_SERVE_MAX_RETIRED 8

struct nt_serve_role {
	const char	*name;		/* "master" */
	const char	*synopsis;	/* after "usage: ntimed NAME " */
	const char	*what;		/* one line: what the role does */
	const char	*notes;		/* paragraph after the options */
	/* After loading: is there anything to follow?  0 or -1 + err. */
	int	(*check)(const struct nt_serve *s, const struct nt_conf *c,
		    char *err, size_t len);
	/* After the engine is up, before serving; 0 or an exit code. */
	int	(*start)(struct nt_serve *s);
	/*
	 * Optional: add the role's own sources (the master's refclocks) to
	 * the engine; at start-up and again after a reload replaced the
	 * engine.  0, or -1 when the source table is full.
	 */
	int	(*attach)(struct nt_serve *s);
	/* Closing handles (signal), and freeing after the loop ended. */
	void	(*stop)(struct nt_serve *s);
	void	(*free)(struct nt_serve *s);
};

struct nt_serve_opts {
	const struct nt_serve_role *role;
	const char	*config;
	const char	*socket;	/* --socket */
	bool		check_config;
	bool		dry_run;
	enum nt_family_filter fam;
	int		log_level;	/* -1: from the config */
	bool		foreground;	/* -F: stderr, not the journal */
	int		local_stratum;	/* -1: from the config */
	int		workers;	/* -1: from the config */
	char		**listen;	/* --listen, in order */
	int		n_listen;
	char		**args;		/* upstream servers */
	int		n_args;
};

struct nt_serve {
	struct nt_serve_opts o;
	bool		stopped;	/* stop() was called */
	void		*role_ctx;
	const char	*conf_path;	/* NULL: no file */
	struct nt_conf	conf;
	struct nt_clock	*clk;
	uv_loop_t	loop;
	struct nt_uvclient *uc;
	struct nt_uvserver *srv;
	struct nts_ke_server *ke;	/* NULL: no NTS */
	bool		nts_keys_failing;	/* said so once */
	struct nt_acl	acl;
	int		precision;
	uv_timer_t	tick, drift;
	uv_signal_t	sigint, sigterm, sigusr1, sighup;
	struct nt_server_state shown;	/* last state logged */
	bool		have_shown;
	/* Operations: status views, control socket, metrics, systemd. */
	struct nt_status st;
	struct nt_status_engine se;
	struct nt_status_server ss;
	struct nt_ctl_params ctl_p;
	struct nt_ctl	*ctl;
	struct nt_metrics *metrics;
	uint64_t	watchdog_usec;
	nt_time		watchdog_sent, status_sent;
	/* Engines a reload replaced, freed once their handles are closed. */
	struct nt_uvclient *retired[NT_SERVE_MAX_RETIRED];
	int		n_retired;
	int		updates_before;	/* by those engines */
	uv_timer_t	reaper;
	/* What the replaced engine served: until the new one's first update. */
	struct nt_sysinfo held;
	bool		have_held;
};

/* The whole role: returns the exit status (cmd.h). */
int nt_serve_main(const struct nt_serve_role *r, void *ctx, int argc,
    char **argv);
/* Publish what we serve now (after a clock update). */
void nt_serve_publish(struct nt_serve *s);

#endif
