/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */


#include "ac-error.h"

G_DEFINE_QUARK (aleph-confidential-error-quark, ac_error)

/**
 * ac_error_to_exit_code:
 * @error: (nullable): an error, or %NULL for success
 *
 * Maps an error to the documented process exit code. Errors of other domains
 * (GIO, GLib file errors) map to the class they belong to.
 */
AcExitCode
ac_error_to_exit_code (const GError *error)
{
	if (error == NULL)
		return AC_EXIT_OK;
	if (error->domain == AC_ERROR) {
		switch ((AcError)error->code) {
		case AC_ERROR_INVALID_INPUT:
			return AC_EXIT_USAGE;
		case AC_ERROR_REFUSED:
			return AC_EXIT_REFUSED;
		case AC_ERROR_UNTRUSTED:
			return AC_EXIT_UNTRUSTED;
		case AC_ERROR_MISMATCH:
			return AC_EXIT_MISMATCH;
		case AC_ERROR_NETWORK:
			return AC_EXIT_NETWORK;
		case AC_ERROR_REMOTE:
			return AC_EXIT_REMOTE;
		case AC_ERROR_LIBVIRT:
			return AC_EXIT_LIBVIRT;
		case AC_ERROR_PERMISSION:
			return AC_EXIT_PERMISSION;
		case AC_ERROR_NOT_FOUND:
			return AC_EXIT_NOT_FOUND;
		case AC_ERROR_EXISTS:
			return AC_EXIT_EXISTS;
		case AC_ERROR_CANCELLED:
			return AC_EXIT_CANCELLED;
		case AC_ERROR_UNSUPPORTED:
			return AC_EXIT_UNSUPPORTED;
		case AC_ERROR_IO:
			return AC_EXIT_IO;
		case AC_ERROR_INTERNAL:
		case AC_ERROR_LAST:
		default:
			return AC_EXIT_FAILURE;
		}
	}
	if (error->domain == G_OPTION_ERROR)
		return AC_EXIT_USAGE;
	if (error->domain == G_FILE_ERROR) {
		if (error->code == G_FILE_ERROR_NOENT)
			return AC_EXIT_NOT_FOUND;
		if (error->code == G_FILE_ERROR_ACCES || error->code == G_FILE_ERROR_PERM)
			return AC_EXIT_PERMISSION;
		if (error->code == G_FILE_ERROR_EXIST)
			return AC_EXIT_EXISTS;
		return AC_EXIT_IO;
	}
	return AC_EXIT_FAILURE;
}

/**
 * ac_error_code_to_string:
 *
 * A stable, machine-readable name for a code: used in `--json` output and in the
 * status element (`<error code="…">`).
 */
const gchar *
ac_error_code_to_string (AcError code)
{
	switch (code) {
	case AC_ERROR_INTERNAL:
		return "internal";
	case AC_ERROR_INVALID_INPUT:
		return "invalid-input";
	case AC_ERROR_REFUSED:
		return "refused";
	case AC_ERROR_UNTRUSTED:
		return "untrusted";
	case AC_ERROR_MISMATCH:
		return "mismatch";
	case AC_ERROR_NETWORK:
		return "network";
	case AC_ERROR_REMOTE:
		return "remote";
	case AC_ERROR_LIBVIRT:
		return "libvirt";
	case AC_ERROR_PERMISSION:
		return "permission";
	case AC_ERROR_NOT_FOUND:
		return "not-found";
	case AC_ERROR_EXISTS:
		return "exists";
	case AC_ERROR_CANCELLED:
		return "cancelled";
	case AC_ERROR_UNSUPPORTED:
		return "unsupported";
	case AC_ERROR_IO:
		return "io";
	case AC_ERROR_LAST:
	default:
		return "unknown";
	}
}
