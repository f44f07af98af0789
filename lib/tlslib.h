/*
 * GnuTLS and Nettle, mapped only when NTS is first used.  Linked in,
 * they and what they pull in (p11-kit, GMP, libunistring, ...) cost
 * every daemon about 2.3 MB of resident memory at start, NTS or not;
 * most users run plain NTP.  nt_tls_load() dlopen()s the two libraries
 * and resolves the functions below once; until it has succeeded none
 * of them may be called.
 *
 * Include this instead of <gnutls/gnutls.h> and <nettle/siv-cmac.h>:
 * each function in the lists is defined here as a call through its
 * resolved pointer, so call sites read as the libraries' manuals do,
 * and a function missing from the lists fails to link (the binary does
 * not link the libraries).
 */
#ifndef NTIMED_TLSLIB_H
#define NTIMED_TLSLIB_H

#include <stddef.h>

#include <gnutls/gnutls.h>
#include <nettle/siv-cmac.h>

#define NT_TLS_GNUTLS_SYMS(X)						\
	X(gnutls_alpn_get_selected_protocol)				\
	X(gnutls_alpn_set_protocols)					\
	X(gnutls_bye)							\
	X(gnutls_certificate_allocate_credentials)			\
	X(gnutls_certificate_free_credentials)				\
	X(gnutls_certificate_set_x509_key_file)				\
	X(gnutls_certificate_set_x509_system_trust)			\
	X(gnutls_certificate_set_x509_trust_file)			\
	X(gnutls_certificate_verification_status_print)			\
	X(gnutls_credentials_set)					\
	X(gnutls_deinit)						\
	X(gnutls_error_is_fatal)					\
	X(gnutls_handshake)						\
	X(gnutls_handshake_set_timeout)					\
	X(gnutls_init)							\
	X(gnutls_prf_rfc5705)						\
	X(gnutls_priority_set_direct)					\
	X(gnutls_protocol_get_version)					\
	X(gnutls_record_get_direction)					\
	X(gnutls_record_recv)						\
	X(gnutls_record_send)						\
	X(gnutls_record_set_timeout)					\
	X(gnutls_server_name_set)					\
	X(gnutls_session_get_verify_cert_status)			\
	X(gnutls_session_set_verify_cert)				\
	X(gnutls_strerror)						\
	X(gnutls_transport_set_int2)

#define NT_TLS_NETTLE_SYMS(X)						\
	X(nettle_siv_cmac_aes128_decrypt_message)			\
	X(nettle_siv_cmac_aes128_encrypt_message)			\
	X(nettle_siv_cmac_aes128_set_key)

struct nt_tls_syms {
	/* f names a member: it cannot be parenthesized. */
#define NT_TLS_PTR(f)	__typeof__(f) *f; /* NOLINT(bugprone-macro-parentheses) */
	NT_TLS_GNUTLS_SYMS(NT_TLS_PTR)
	NT_TLS_NETTLE_SYMS(NT_TLS_PTR)
#undef NT_TLS_PTR
	gnutls_free_function *free_fn;	/* the variable gnutls_free */
};

/* Filled once by nt_tls_load(); read-only after. */
extern struct nt_tls_syms nt_tls_syms;

/*
 * Map the libraries and resolve every function, the first time; later
 * calls give the first one's result.  Safe from any thread.  0, or -1
 * and err ("NTS: cannot load libgnutls.so.30: why") if err is not NULL.
 */
int nt_tls_load(char *err, size_t errlen);

#ifndef NT_TLSLIB_IMPL
#define gnutls_alpn_get_selected_protocol \
	(*nt_tls_syms.gnutls_alpn_get_selected_protocol)
#define gnutls_alpn_set_protocols (*nt_tls_syms.gnutls_alpn_set_protocols)
#define gnutls_bye (*nt_tls_syms.gnutls_bye)
#define gnutls_certificate_allocate_credentials \
	(*nt_tls_syms.gnutls_certificate_allocate_credentials)
#define gnutls_certificate_free_credentials \
	(*nt_tls_syms.gnutls_certificate_free_credentials)
#define gnutls_certificate_set_x509_key_file \
	(*nt_tls_syms.gnutls_certificate_set_x509_key_file)
#define gnutls_certificate_set_x509_system_trust \
	(*nt_tls_syms.gnutls_certificate_set_x509_system_trust)
#define gnutls_certificate_set_x509_trust_file \
	(*nt_tls_syms.gnutls_certificate_set_x509_trust_file)
#define gnutls_certificate_verification_status_print \
	(*nt_tls_syms.gnutls_certificate_verification_status_print)
#define gnutls_credentials_set (*nt_tls_syms.gnutls_credentials_set)
#define gnutls_deinit (*nt_tls_syms.gnutls_deinit)
#define gnutls_error_is_fatal (*nt_tls_syms.gnutls_error_is_fatal)
#define gnutls_handshake (*nt_tls_syms.gnutls_handshake)
#define gnutls_handshake_set_timeout (*nt_tls_syms.gnutls_handshake_set_timeout)
#define gnutls_init (*nt_tls_syms.gnutls_init)
#define gnutls_prf_rfc5705 (*nt_tls_syms.gnutls_prf_rfc5705)
#define gnutls_priority_set_direct (*nt_tls_syms.gnutls_priority_set_direct)
#define gnutls_protocol_get_version (*nt_tls_syms.gnutls_protocol_get_version)
#define gnutls_record_get_direction \
	(*nt_tls_syms.gnutls_record_get_direction)
#define gnutls_record_recv (*nt_tls_syms.gnutls_record_recv)
#define gnutls_record_send (*nt_tls_syms.gnutls_record_send)
#define gnutls_record_set_timeout (*nt_tls_syms.gnutls_record_set_timeout)
#define gnutls_server_name_set (*nt_tls_syms.gnutls_server_name_set)
#define gnutls_session_get_verify_cert_status \
	(*nt_tls_syms.gnutls_session_get_verify_cert_status)
#define gnutls_session_set_verify_cert \
	(*nt_tls_syms.gnutls_session_set_verify_cert)
#define gnutls_strerror (*nt_tls_syms.gnutls_strerror)
#define gnutls_transport_set_int2 (*nt_tls_syms.gnutls_transport_set_int2)
#define nettle_siv_cmac_aes128_decrypt_message \
	(*nt_tls_syms.nettle_siv_cmac_aes128_decrypt_message)
#define nettle_siv_cmac_aes128_encrypt_message \
	(*nt_tls_syms.nettle_siv_cmac_aes128_encrypt_message)
#define nettle_siv_cmac_aes128_set_key \
	(*nt_tls_syms.nettle_siv_cmac_aes128_set_key)
#undef gnutls_free
#define gnutls_free(p)	((*nt_tls_syms.free_fn)((void *)(p)), (p) = NULL)
#endif

#endif
