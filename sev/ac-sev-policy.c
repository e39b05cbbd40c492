/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ac-sev-policy.h"

#include "ac-error.h"

typedef struct {
	const gchar *name;
	guint32 bit;
	const gchar *meaning;
} AcSevPolicyFlag;

static const AcSevPolicyFlag policy_flags[] = {
	{ "nodbg", AC_SEV_POLICY_NODBG, "debugging of the guest is forbidden" },
	{ "noks", AC_SEV_POLICY_NOKS, "sharing keys with other guests is forbidden" },
	{ "es", AC_SEV_POLICY_ES, "SEV-ES is required (CPU register state encrypted and measured)" },
	{ "nosend", AC_SEV_POLICY_NOSEND, "sending the guest to another platform is forbidden" },
	{ "domain", AC_SEV_POLICY_DOMAIN, "the guest may be sent only within the same domain (OCA)" },
	{ "sev", AC_SEV_POLICY_SEV, "the guest may be sent only to SEV-capable platforms" },
};

/**
 * ac_sev_policy_validate:
 *
 * Refuses reserved bits (6–15), which firmware treats as an invalid policy.
 */
gboolean
ac_sev_policy_validate (guint32 policy, GError **error)
{
	if (policy & AC_SEV_POLICY_RESERVED_MASK) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "SEV policy 0x%x sets reserved bits 0x%x (bits 6-15 must be 0)",
			     policy,
			     policy & AC_SEV_POLICY_RESERVED_MASK);
		return FALSE;
	}
	return TRUE;
}

static gboolean
ac_sev_policy_parse_number (const gchar *text, guint32 *policy)
{
	guint64 value = 0;
	const gchar *digits = text;
	guint base = 10;

	if (g_str_has_prefix (text, "0x") || g_str_has_prefix (text, "0X")) {
		digits = text + 2;
		base = 16;
	}
	if (*digits == '\0')
		return FALSE;
	if (!g_ascii_string_to_unsigned (digits, base, 0, G_MAXUINT32, &value, NULL))
		return FALSE;
	*policy = (guint32)value;
	return TRUE;
}

/**
 * ac_sev_policy_parse:
 * @text: "0x1", "1", or flag names joined by commas ("nodbg,noks,es")
 *
 * Parses and validates a guest policy.
 */
gboolean
ac_sev_policy_parse (const gchar *text, guint32 *policy, GError **error)
{
	g_auto(GStrv) names = NULL;
	guint32 value = 0;

	g_return_val_if_fail (text != NULL, FALSE);
	g_return_val_if_fail (policy != NULL, FALSE);

	if (g_ascii_isdigit (text[0])) {
		if (!ac_sev_policy_parse_number (text, &value)) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "invalid SEV policy '%s': expected a 32-bit number such as "
				     "0x1, or flag names such as nodbg,noks,es",
				     text);
			return FALSE;
		}
	} else {
		names = g_strsplit (text, ",", -1);
		for (guint i = 0; names[i] != NULL; i++) {
			const gchar *name = g_strstrip (names[i]);
			gboolean found = FALSE;
			for (guint j = 0; j < G_N_ELEMENTS (policy_flags); j++) {
				if (g_ascii_strcasecmp (name, policy_flags[j].name) == 0) {
					value |= policy_flags[j].bit;
					found = TRUE;
				}
			}
			if (!found) {
				g_set_error (error,
					     AC_ERROR,
					     AC_ERROR_INVALID_INPUT,
					     "invalid SEV policy '%s': unknown flag '%s'; expected "
					     "a number such as 0x1 or names among "
					     "nodbg,noks,es,nosend,domain,sev",
					     text,
					     name);
				return FALSE;
			}
		}
	}
	if (!ac_sev_policy_validate (value, error))
		return FALSE;
	*policy = value;
	return TRUE;
}

/**
 * ac_sev_policy_to_names:
 *
 * The flag names of @policy joined by commas ("nodbg,es"), "none" for 0; API minimums
 * appear as "api>=M.m".
 */
gchar *
ac_sev_policy_to_names (guint32 policy)
{
	g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
	guint major = (policy >> AC_SEV_POLICY_API_MAJOR_SHIFT) & 0xff;
	guint minor = (policy >> AC_SEV_POLICY_API_MINOR_SHIFT) & 0xff;

	for (guint j = 0; j < G_N_ELEMENTS (policy_flags); j++) {
		if (policy & policy_flags[j].bit)
			g_ptr_array_add (parts, g_strdup (policy_flags[j].name));
	}
	if (policy & AC_SEV_POLICY_RESERVED_MASK)
		g_ptr_array_add (parts,
				 g_strdup_printf ("reserved=0x%x", policy & AC_SEV_POLICY_RESERVED_MASK));
	if (major != 0 || minor != 0)
		g_ptr_array_add (parts, g_strdup_printf ("api>=%u.%u", major, minor));
	if (parts->len == 0)
		return g_strdup ("none");
	g_ptr_array_add (parts, NULL);
	return g_strjoinv (",", (gchar **)parts->pdata);
}

/**
 * ac_sev_policy_explain:
 *
 * A human-readable, multi-line explanation of every bit of @policy.
 */
gchar *
ac_sev_policy_explain (guint32 policy)
{
	g_autoptr(GString) str = g_string_new (NULL);
	guint major = (policy >> AC_SEV_POLICY_API_MAJOR_SHIFT) & 0xff;
	guint minor = (policy >> AC_SEV_POLICY_API_MINOR_SHIFT) & 0xff;

	g_string_append_printf (str, "policy 0x%x\n", policy);
	for (guint j = 0; j < G_N_ELEMENTS (policy_flags); j++) {
		gboolean set = (policy & policy_flags[j].bit) != 0;
		g_string_append_printf (str,
					"  bit %u %-6s %s: %s\n",
					(guint)g_bit_nth_lsf (policy_flags[j].bit, -1),
					policy_flags[j].name,
					set ? "set  " : "clear",
					set ? policy_flags[j].meaning : "not required");
	}
	if (policy & AC_SEV_POLICY_RESERVED_MASK)
		g_string_append_printf (str,
					"  bits 6-15 reserved: 0x%x set (INVALID: must be 0)\n",
					policy & AC_SEV_POLICY_RESERVED_MASK);
	g_string_append_printf (str, "  minimum firmware API: %u.%u\n", major, minor);
	if (policy != AC_SEV_POLICY_DEFAULT)
		g_string_append (str,
				 "  note: Aleph CRNs launch every VM with policy 0x1; any other "
				 "policy cannot attest there\n");
	return g_string_free (g_steal_pointer (&str), FALSE);
}
