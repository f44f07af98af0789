/*
 * Loads GnuTLS and Nettle on first use (see tlslib.h for why).  One
 * dlopen() per library, every symbol resolved at once, so a library too
 * old or a symbol missing is one error at the point NTS is set up, never
 * a failure in the middle of a key exchange.  The libraries stay mapped
 * for the life of the process.
 */
#define NT_TLSLIB_IMPL
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>

#include "tlslib.h"

#ifndef NT_GNUTLS_SONAME
#define NT_GNUTLS_SONAME "libgnutls.so.30"
#endif
#ifndef NT_NETTLE_SONAME
#define NT_NETTLE_SONAME "libnettle.so.8"
#endif

struct nt_tls_syms nt_tls_syms;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_bool loaded;
static char why[300];		/* the first attempt's error */

static void *
open_lib(const char *soname)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL)
		snprintf(why, sizeof why, "NTS: cannot load %s: %s", soname,
		    dlerror());
	return (h);
}

/* dlsym() into a function pointer: POSIX's way, through a void **. */
static int
resolve(void *h, const char *soname, const char *name, void **slot)
{
	if ((*slot = dlsym(h, name)) != NULL)
		return (0);
	snprintf(why, sizeof why, "NTS: %s has no %s (too old a version?)",
	    soname, name);
	return (-1);
}

static int
resolve_all(void *gnutls, void *nettle)
{
	void *h = gnutls;
	const char *so = NT_GNUTLS_SONAME;

#define NT_TLS_RESOLVE(f)						\
	if (resolve(h, so, #f, (void **)&nt_tls_syms.f) != 0)		\
		return (-1);
	NT_TLS_GNUTLS_SYMS(NT_TLS_RESOLVE)
	h = nettle;
	so = NT_NETTLE_SONAME;
	NT_TLS_NETTLE_SYMS(NT_TLS_RESOLVE)
#undef NT_TLS_RESOLVE
	return (resolve(gnutls, NT_GNUTLS_SONAME, "gnutls_free",
	    (void **)&nt_tls_syms.free_fn));
}

static void
load_once(void)
{
	void *gnutls, *nettle;

	if ((gnutls = open_lib(NT_GNUTLS_SONAME)) == NULL)
		return;
	if ((nettle = open_lib(NT_NETTLE_SONAME)) == NULL) {
		dlclose(gnutls);
		return;
	}
	if (resolve_all(gnutls, nettle) != 0) {
		dlclose(nettle);
		dlclose(gnutls);
		return;
	}
	atomic_store(&loaded, true);
}

int
nt_tls_load(char *err, size_t errlen)
{
	(void)pthread_once(&once, load_once);
	if (atomic_load(&loaded))
		return (0);
	if (err != NULL)
		snprintf(err, errlen, "%s", why);
	return (-1);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NT_TLS_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(NT_TLS_ASAN)
const char *__asan_default_options(void);

/*
 * Sanitizer builds only.  LeakSanitizer misreads the thread-local
 * storage that dlopen()ed libraries (GnuTLS's) get through
 * __tls_get_addr under glibc 2.25 and later, and crashes at exit
 * (google/sanitizers#1322): leave that call alone.  ASAN_OPTIONS still
 * adds to this.
 */
const char *
__asan_default_options(void)
{
	return ("intercept_tls_get_addr=0");
}
#endif
