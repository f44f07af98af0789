/*
 * The local control socket: how "ntimed query" (no host) asks a running
 * daemon what it is doing, and how root tells it to add or remove a
 * server, reload its configuration or step the clock.  There is no
 * network control port.
 *
 * Protocol (version 1): JSON lines over a Unix stream socket.  A request
 * is one JSON object on one line of at most NT_CTL_MAX_REQUEST bytes:
 *
 *   {"version":1,"request":"sources"}
 *   {"version":1,"request":"add-server","host":"192.0.2.1:123"}
 *
 * and gets exactly one reply line of at most NT_CTL_MAX_REPLY bytes:
 *
 *   {"version":1,"ok":true,"request":"sources","result":[...]}
 *   {"version":1,"ok":false,"code":"permission","error":"..."}
 *
 * A connection may carry any number of requests, one at a time.  Reads
 * (the views of lib/status.h) need root or membership of the control
 * group; verbs (changes) need uid 0.  Who is asking comes from the
 * kernel (SO_PEERCRED, SO_PEERGROUPS), never from the request.
 *
 * nt_ctl_answer() is the whole protocol as a function of bytes; the rest
 * is the libuv socket around it and a small blocking client.
 */
#ifndef NTIMED_CONTROL_H
#define NTIMED_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "json.h"
#include "status.h"
#include "yconf.h"

#define NT_CTL_VERSION		1
#define NT_CTL_RUNTIME_DIR	"/run/ntimed"	/* made if missing */
#define NT_CTL_DEFAULT_PATH	NT_CTL_RUNTIME_DIR "/ntimed.sock"
#define NT_CTL_DEFAULT_GROUP	"ntimed"
#define NT_CTL_MAX_REQUEST	4096	/* bytes, newline included */
#define NT_CTL_MAX_REPLY	65536	/* bytes, newline included */
#define NT_CTL_MAX_CONN		16	/* connections at once */
#define NT_CTL_IDLE_TIMEOUT	10.0	/* s without a complete request */
#define NT_CTL_CALL_TIMEOUT	5.0	/* s the client waits for a reply */
#define NT_CTL_VERB_MSGLEN	256

/* Who is on the other end, from the kernel. */
struct nt_ctl_peer {
	pid_t	pid;
	uid_t	uid;
	bool	may_read;	/* root, or in the control group */
};

/*
 * A changing request, run on the daemon's loop.  Returns 0 with a short
 * answer in msg ("adding 192.0.2.1"), or with the reason: -1 when the
 * daemon cannot do it now or here (code "failed"), NT_CTL_VERB_INVALID
 * when what it was given is not valid, the host or the configuration
 * file to reload (code "invalid").
 */
#define NT_CTL_VERB_INVALID	(-2)
struct nt_ctl_verb {
	const char	*name;		/* "add-server" */
	bool		needs_host;	/* takes "host" */
	const char	*help;
	int		(*fn)(void *ctx, const char *host, char *msg,
			    size_t len);
};

struct nt_ctl_params {
	const char	*path;		/* socket path */
	const char	*group;		/* may read; NULL or "": root only */
	const struct nt_status *status;	/* the views */
	const struct nt_ctl_verb *verbs;
	size_t		n_verbs;
	void		*ctx;		/* for the verbs */
};

/*
 * Answer one request line (without its newline) from peer: writes one
 * compact JSON object into j (initialised with nt_json_init_buf), at most
 * NT_CTL_MAX_REPLY - 1 bytes: a larger answer is replaced by an error.
 */
void nt_ctl_answer(const struct nt_ctl_params *p,
    const struct nt_ctl_peer *peer, const char *line, size_t len,
    struct nt_json *j);

struct nt_ctl;

/*
 * Listen on p->path (mode 0660, group p->group when it exists) and serve
 * on loop.  A stale socket file is replaced; a live one (another daemon)
 * is an error.  Returns NULL with a one-line reason in err.  p and what
 * it points to must outlive the server.
 */
struct nt_ctl *nt_ctl_start(uv_loop_t *loop, const struct nt_ctl_params *p,
    char *err, size_t errlen);
/* Close every connection and the socket, remove the file; frees itself. */
void nt_ctl_close(struct nt_ctl *c);
/* The group that may read, or (gid_t)-1 when only root may. */
gid_t nt_ctl_group(const struct nt_ctl *c);

/* ---- The client side ---- */

/*
 * A blocking connection to the daemon at path; -1 with err filled and
 * errno ENOENT or ECONNREFUSED when no daemon listens there (yet),
 * ENOTSOCK when path is something else, EACCES without permission.
 */
int nt_ctl_connect(const char *path, char *err, size_t errlen);
/*
 * Send one request line (a JSON object, no newline) and read the reply
 * line, waiting at most timeout s.  Returns 0 with *reply (malloc'ed,
 * NUL-terminated, no newline), or -1 with err filled.
 */
int nt_ctl_call(int fd, const char *req, double timeout, char **reply,
    char *err, size_t errlen);
/*
 * Parse a reply.  Returns the document (free with nt_yconf_doc_free)
 * with *result the "result" value (NULL for verbs) and *msg the
 * "message" (or NULL); or NULL with err holding the daemon's error or
 * why the reply is malformed, and *code its code ("permission", ...).
 */
struct nt_yconf_doc *nt_ctl_parse_reply(const char *reply,
    const struct nt_yconf_node **result, const char **msg, char *code,
    size_t codelen, char *err, size_t errlen);

#endif
