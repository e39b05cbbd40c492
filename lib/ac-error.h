/*
 * aleph-confidential: the project's single GError domain.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AC_ERROR (ac_error_quark ())

/**
 * AcError:
 *
 * Every error of the project carries one of these codes. Each code maps to one process exit
 * code (see ac_error_to_exit_code() and docs/exit-codes.md), so scripts can tell the classes
 * apart without parsing messages.
 */
typedef enum {
	AC_ERROR_INTERNAL,       /* a bug or an unexpected failure of a library we call */
	AC_ERROR_INVALID_INPUT,  /* the user's input (tag, template, file, option) is malformed */
	AC_ERROR_REFUSED,        /* a fail-closed rule refused the operation */
	AC_ERROR_UNTRUSTED,      /* a certificate chain does not lead to a trusted root */
	AC_ERROR_MISMATCH,       /* a measurement, digest or hash differs from the expected one */
	AC_ERROR_NETWORK,        /* the network failed: connection, timeout, TLS */
	AC_ERROR_REMOTE,         /* a server answered with an error or something unusable */
	AC_ERROR_LIBVIRT,        /* libvirt reported an error */
	AC_ERROR_PERMISSION,     /* file mode or ownership is unsafe, or access was denied */
	AC_ERROR_NOT_FOUND,      /* a named object (domain, file, message, secret) does not exist */
	AC_ERROR_EXISTS,         /* refusing to overwrite an existing object */
	AC_ERROR_CANCELLED,      /* interrupted by a signal or the user */
	AC_ERROR_UNSUPPORTED,    /* the host or build lacks a capability */
	AC_ERROR_IO,             /* reading or writing a local file failed */
	AC_ERROR_LAST
} AcError;

/**
 * AcExitCode:
 *
 * Process exit codes shared by virt-aleph, virt-alephd and the hook.
 * Documented for users in docs/exit-codes.md and in virt-aleph(1).
 */
typedef enum {
	AC_EXIT_OK = 0,
	AC_EXIT_FAILURE = 1,      /* internal error */
	AC_EXIT_USAGE = 2,        /* bad command line or invalid input */
	AC_EXIT_REFUSED = 3,      /* fail-closed refusal */
	AC_EXIT_UNTRUSTED = 4,    /* untrusted certificate chain */
	AC_EXIT_MISMATCH = 5,     /* measurement or digest mismatch */
	AC_EXIT_NETWORK = 6,      /* network failure */
	AC_EXIT_REMOTE = 7,       /* remote server error or rejection */
	AC_EXIT_LIBVIRT = 8,      /* libvirt error */
	AC_EXIT_PERMISSION = 9,   /* unsafe permissions or access denied */
	AC_EXIT_NOT_FOUND = 10,   /* no such object */
	AC_EXIT_EXISTS = 11,      /* would overwrite */
	AC_EXIT_UNSUPPORTED = 12, /* missing capability */
	AC_EXIT_IO = 13,          /* local I/O failure */
	AC_EXIT_CANCELLED = 130,  /* interrupted (as a shell reports SIGINT) */
} AcExitCode;

GQuark ac_error_quark (void);
AcExitCode ac_error_to_exit_code (const GError *error);
const gchar *ac_error_code_to_string (AcError code);

G_END_DECLS
