/*
 * AMD SEV-SNP guest policy and the verifier's policy.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ac-snp-policy.h"

#include "ac-error.h"

typedef struct {
	const gchar *name;  /* the names form */
	const gchar *label; /* AMD's name */
	guint64 bit;
	const gchar *when_set;
	const gchar *when_clear;
} SnpPolicyFlag;

static const SnpPolicyFlag policy_flags[] = {
	{ "smt", "SMT", AC_SNP_POLICY_SMT, "the host may run the guest with SMT enabled",
	  "SMT must be disabled on the host" },
	{ NULL, "RESERVED_MBO", AC_SNP_POLICY_RESERVED_MBO, "reserved, must be one",
	  "INVALID: reserved bit 17 must be one" },
	{ "migrate-ma", "MIGRATE_MA", AC_SNP_POLICY_MIGRATE_MA,
	  "a migration agent may be associated with the guest", "no migration agent" },
	{ "debug", "DEBUG", AC_SNP_POLICY_DEBUG,
	  "DEBUG ALLOWED: the host can decrypt and change guest memory", "debugging is forbidden" },
	{ "single-socket", "SINGLE_SOCKET", AC_SNP_POLICY_SINGLE_SOCKET,
	  "the guest may run on one socket only", "the guest may span sockets" },
	{ "cxl-allow", "CXL_ALLOW", AC_SNP_POLICY_CXL_ALLOW,
	  "CXL may be populated with guest memory", "no CXL memory" },
	{ "mem-aes-256-xts", "MEM_AES_256_XTS", AC_SNP_POLICY_MEM_AES_256_XTS,
	  "AES-256-XTS memory encryption required", "AES-128 memory encryption accepted" },
	{ "rapl-dis", "RAPL_DIS", AC_SNP_POLICY_RAPL_DIS, "RAPL must be disabled on the host",
	  "RAPL may be enabled" },
	{ "ciphertext-hiding", "CIPHERTEXT_HIDING", AC_SNP_POLICY_CIPHERTEXT_HIDING,
	  "ciphertext hiding (DRAM) required", "ciphertext hiding not required" },
	{ "page-swap-disable", "PAGE_SWAP_DISABLE", AC_SNP_POLICY_PAGE_SWAP_DISABLE,
	  "SNP_PAGE_MOVE and SNP_SWAP_OUT/IN disabled for the guest", "page swap allowed" },
};

gboolean
ac_snp_policy_validate (guint64 policy, GError **error)
{
	if ((policy & AC_SNP_POLICY_RESERVED_MBO) == 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SNP policy 0x%" G_GINT64_MODIFIER "x: bit 17 (reserved) must be one",
		             policy);
		return FALSE;
	}
	if (policy & AC_SNP_POLICY_MBZ_MASK) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "SNP policy 0x%" G_GINT64_MODIFIER
		             "x sets reserved bits 0x%" G_GINT64_MODIFIER
		             "x (bits 63:26 must be zero)",
		             policy, policy & AC_SNP_POLICY_MBZ_MASK);
		return FALSE;
	}
	return TRUE;
}

static gboolean
parse_number (const gchar *text, guint64 *out)
{
	const gchar *digits = text;
	guint base = 10;

	if (g_str_has_prefix (text, "0x") || g_str_has_prefix (text, "0X")) {
		digits = text + 2;
		base = 16;
	}
	return *digits != '\0'
	       && g_ascii_string_to_unsigned (digits, base, 0, G_MAXUINT64, out, NULL);
}

/* "abi=M.m" */
static gboolean
parse_abi (const gchar *v, guint64 *policy)
{
	g_auto (GStrv) mm = g_strsplit (v, ".", -1);
	guint64 major = 0, minor = 0;

	if (g_strv_length (mm) != 2 || !g_ascii_string_to_unsigned (mm[0], 10, 0, 255, &major, NULL)
	    || !g_ascii_string_to_unsigned (mm[1], 10, 0, 255, &minor, NULL))
		return FALSE;
	*policy |= major << AC_SNP_POLICY_ABI_MAJOR_SHIFT | minor;
	return TRUE;
}

gboolean
ac_snp_policy_parse (const gchar *text, guint64 *policy, GError **error)
{
	g_auto (GStrv) names = NULL;
	guint64 value = AC_SNP_POLICY_RESERVED_MBO;

	g_return_val_if_fail (policy != NULL, FALSE);
	if (text == NULL || *text == '\0') {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "SNP policy: empty; expected a number such as 0x30000 or flag "
		                     "names such as smt,single-socket");
		return FALSE;
	}
	if (g_ascii_isdigit (text[0])) {
		if (!parse_number (text, &value)) {
			g_set_error (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "SNP policy '%s': expected a 64-bit number such as 0x30000, or "
			    "flag names such as smt,single-socket",
			    text);
			return FALSE;
		}
	} else if (g_ascii_strcasecmp (text, "none") != 0) {
		names = g_strsplit (text, ",", -1);
		for (guint i = 0; names[i] != NULL; i++) {
			const gchar *name = g_strstrip (names[i]);
			gboolean found = FALSE;

			if (g_ascii_strncasecmp (name, "abi=", 4) == 0) {
				if ((value
				     & (AC_SNP_POLICY_ABI_MAJOR_MASK
				        | AC_SNP_POLICY_ABI_MINOR_MASK))
				        == 0
				    && parse_abi (name + 4, &value))
					continue;
				g_set_error (
				    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				    "SNP policy '%s': '%s' is not abi=MAJOR.MINOR (each 0 to "
				    "255, given once)",
				    text, name);
				return FALSE;
			}
			for (guint j = 0; j < G_N_ELEMENTS (policy_flags); j++) {
				if (policy_flags[j].name != NULL
				    && g_ascii_strcasecmp (name, policy_flags[j].name) == 0) {
					value |= policy_flags[j].bit;
					found = TRUE;
				}
			}
			if (!found) {
				g_set_error (
				    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				    "SNP policy '%s': unknown flag '%s'; expected a number "
				    "such as 0x30000 or names among smt, migrate-ma, debug, "
				    "single-socket, cxl-allow, mem-aes-256-xts, rapl-dis, "
				    "ciphertext-hiding, page-swap-disable, abi=MAJOR.MINOR, none",
				    text, name);
				return FALSE;
			}
		}
	}
	if (!ac_snp_policy_validate (value, error)) {
		g_prefix_error (error, "'%s': ", text);
		return FALSE;
	}
	*policy = value;
	return TRUE;
}

static guint
policy_abi_major (guint64 policy)
{
	return (guint)((policy & AC_SNP_POLICY_ABI_MAJOR_MASK) >> AC_SNP_POLICY_ABI_MAJOR_SHIFT);
}

static guint
policy_abi_minor (guint64 policy)
{
	return (guint)(policy & AC_SNP_POLICY_ABI_MINOR_MASK);
}

gchar *
ac_snp_policy_to_names (guint64 policy)
{
	g_autoptr (GString) s = g_string_new (NULL);
	guint major = policy_abi_major (policy);
	guint minor = policy_abi_minor (policy);

	for (guint j = 0; j < G_N_ELEMENTS (policy_flags); j++) {
		if (policy_flags[j].name != NULL && (policy & policy_flags[j].bit))
			g_string_append_printf (s, "%s%s", s->len ? "," : "", policy_flags[j].name);
	}
	if (major != 0 || minor != 0)
		g_string_append_printf (s, "%sabi=%u.%u", s->len ? "," : "", major, minor);
	if ((policy & AC_SNP_POLICY_RESERVED_MBO) == 0)
		g_string_append_printf (s, "%sINVALID:bit17-clear", s->len ? "," : "");
	if (policy & AC_SNP_POLICY_MBZ_MASK)
		g_string_append_printf (s, "%sINVALID:reserved=0x%" G_GINT64_MODIFIER "x",
		                        s->len ? "," : "", policy & AC_SNP_POLICY_MBZ_MASK);
	if (s->len == 0)
		g_string_append (s, "none");
	return g_string_free (g_steal_pointer (&s), FALSE);
}

gchar *
ac_snp_policy_explain (guint64 policy)
{
	g_autoptr (GString) s = g_string_new (NULL);
	guint major = policy_abi_major (policy);
	guint minor = policy_abi_minor (policy);

	g_string_append_printf (s, "policy 0x%" G_GINT64_MODIFIER "x\n", policy);
	g_string_append_printf (s, "  bits 7:0   ABI_MINOR          %u\n", minor);
	g_string_append_printf (s,
	                        "  bits 15:8  ABI_MAJOR          %u: the firmware must be at "
	                        "least ABI %u.%u\n",
	                        major, major, minor);
	for (guint j = 0; j < G_N_ELEMENTS (policy_flags); j++) {
		gboolean set = (policy & policy_flags[j].bit) != 0;
		g_string_append_printf (
		    s, "  bit %-6u  %-18s %s: %s\n", (guint)g_bit_nth_lsf (policy_flags[j].bit, -1),
		    policy_flags[j].label, set ? "set  " : "clear",
		    set ? policy_flags[j].when_set : policy_flags[j].when_clear);
	}
	if (policy & AC_SNP_POLICY_MBZ_MASK)
		g_string_append_printf (s,
		                        "  bits 63:26 reserved: 0x%" G_GINT64_MODIFIER
		                        "x set (INVALID: must be zero)\n",
		                        policy & AC_SNP_POLICY_MBZ_MASK);
	else
		g_string_append (s, "  bits 63:26 reserved: zero\n");
	if ((policy & AC_SNP_POLICY_DEBUG) != 0)
		g_string_append (s, "  note: a verifier refuses a DEBUG guest unless debugging is "
		                    "explicitly allowed\n");
	return g_string_free (g_steal_pointer (&s), FALSE);
}

/* ---- the verifier's policy ------------------------------------------------------- */

void
ac_snp_verify_policy_init (AcSnpVerifyPolicy *policy)
{
	memset (policy, 0, sizeof *policy);
	policy->product = AC_SNP_PRODUCT_UNKNOWN;
	policy->vmpl_max = 1;
}

gboolean
ac_snp_verify_policy_builtin_floor (AcSnpProduct product, gint cpuid_model, AcSnpTcb *out)
{
	memset (out, 0, sizeof *out);
	switch (product) {
	case AC_SNP_PRODUCT_MILAN:
		*out = (AcSnpTcb){ .bootloader = 4, .tee = 0, .snp = 22, .microcode = 213 };
		return TRUE;
	case AC_SNP_PRODUCT_GENOA:
		*out = (AcSnpTcb){ .bootloader = 9, .tee = 0, .snp = 21, .microcode = 84 };
		if (cpuid_model >= 0xa0 && cpuid_model <= 0xaf)
			out->microcode = 28;
		return TRUE;
	case AC_SNP_PRODUCT_TURIN:
		*out = (AcSnpTcb){ .fmc = 3, .bootloader = 4, .tee = 0, .snp = 8, .microcode = 12 };
		return TRUE;
	case AC_SNP_PRODUCT_UNKNOWN:
	default:
		return FALSE;
	}
}

gboolean
ac_snp_verify_policy_effective_floor (const AcSnpVerifyPolicy *policy,
                                      AcSnpProduct product,
                                      gint cpuid_model,
                                      AcSnpTcb *out)
{
	const AcSnpTcb *m = &policy->min_tcb;

	if (!ac_snp_verify_policy_builtin_floor (product, cpuid_model, out))
		return FALSE;
	if (!policy->have_min_tcb)
		return TRUE;
	if (policy->allow_tcb_below_default) {
		*out = *m;
		if (product != AC_SNP_PRODUCT_TURIN)
			out->fmc = 0;
		return TRUE;
	}
	out->fmc = product == AC_SNP_PRODUCT_TURIN ? MAX (out->fmc, m->fmc) : 0;
	out->bootloader = MAX (out->bootloader, m->bootloader);
	out->tee = MAX (out->tee, m->tee);
	out->snp = MAX (out->snp, m->snp);
	out->microcode = MAX (out->microcode, m->microcode);
	return TRUE;
}

gboolean
ac_snp_verify_policy_parse_tcb (const gchar *text, const gchar *what, AcSnpTcb *out, GError **error)
{
	g_auto (GStrv) parts = NULL;
	AcSnpTcb tcb = { 0 };
	guint seen = 0;

	if (text == NULL || *text == '\0')
		goto bad;
	parts = g_strsplit_set (text, ", ", -1);
	for (guint i = 0; parts[i] != NULL; i++) {
		static const gchar *const keys[] = { "fmc", "bl", "tee", "snp", "ucode" };
		gchar *eq;
		guint64 v = 0;
		guint k;

		if (*parts[i] == '\0')
			continue;
		eq = strchr (parts[i], '=');
		if (eq == NULL)
			goto bad;
		*eq = '\0';
		for (k = 0; k < G_N_ELEMENTS (keys); k++) {
			if (g_ascii_strcasecmp (parts[i], keys[k]) == 0)
				break;
		}
		if (k == G_N_ELEMENTS (keys) || (seen & (1u << k))
		    || !g_ascii_string_to_unsigned (eq + 1, 10, 0, 255, &v, NULL))
			goto bad;
		seen |= 1u << k;
		switch (k) {
		case 0:
			tcb.fmc = (guint8)v;
			break;
		case 1:
			tcb.bootloader = (guint8)v;
			break;
		case 2:
			tcb.tee = (guint8)v;
			break;
		case 3:
			tcb.snp = (guint8)v;
			break;
		default:
			tcb.microcode = (guint8)v;
			break;
		}
	}
	if (seen == 0)
		goto bad;
	*out = tcb;
	return TRUE;
bad:
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	             "%s '%s' is not a TCB version: expected bl=N,tee=N,snp=N,ucode=N (and fmc=N "
	             "on Turin), each 0 to 255 and named once",
	             what, text != NULL ? text : "");
	return FALSE;
}

static gboolean
refuse (GError **error, const gchar *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
refuse (GError **error, const gchar *fmt, ...)
{
	va_list ap;
	g_autofree gchar *msg = NULL;

	va_start (ap, fmt);
	msg = g_strdup_vprintf (fmt, ap);
	va_end (ap);
	g_set_error (error, AC_ERROR, AC_ERROR_REFUSED, "SNP report refused: %s", msg);
	return FALSE;
}

static const gchar *
first_platform_name (guint64 bits, gchar buf[32])
{
	for (guint b = 0; b < 64; b++) {
		guint64 bit = G_GUINT64_CONSTANT (1) << b;
		if (bits & bit) {
			g_autofree gchar *n = ac_snp_platform_info_to_names (bit);
			g_strlcpy (buf, n, 32);
			return buf;
		}
	}
	return "none";
}

/* every component of @tcb below @floor, "launch_tcb.bootloader=3 < 4" */
static void
tcb_failures (GPtrArray *out,
              const gchar *kind,
              const AcSnpTcb *tcb,
              const AcSnpTcb *floor,
              AcSnpProduct product)
{
	if (product == AC_SNP_PRODUCT_TURIN && tcb->fmc < floor->fmc)
		g_ptr_array_add (out,
		                 g_strdup_printf ("%s.fmc=%u < %u", kind, tcb->fmc, floor->fmc));
	if (tcb->bootloader < floor->bootloader)
		g_ptr_array_add (out, g_strdup_printf ("%s.bootloader=%u < %u", kind,
		                                       tcb->bootloader, floor->bootloader));
	if (tcb->tee < floor->tee)
		g_ptr_array_add (out,
		                 g_strdup_printf ("%s.tee=%u < %u", kind, tcb->tee, floor->tee));
	if (tcb->snp < floor->snp)
		g_ptr_array_add (out,
		                 g_strdup_printf ("%s.snp=%u < %u", kind, tcb->snp, floor->snp));
	if (tcb->microcode < floor->microcode)
		g_ptr_array_add (out, g_strdup_printf ("%s.microcode=%u < %u", kind, tcb->microcode,
		                                       floor->microcode));
}

/* the signer: a VCEK, or a VLEK where allowed */
static gboolean
check_signer (const AcSnpVerifyPolicy *p, const AcSnpReport *r, GError **error)
{
	if (r->signing_key == AC_SNP_SIGNING_KEY_NONE)
		return refuse (error, "KEY_INFO.SIGNING_KEY is none: the report is not signed");
	if (r->signing_key == AC_SNP_SIGNING_KEY_VLEK && !p->allow_vlek)
		return refuse (error, "KEY_INFO.SIGNING_KEY is VLEK, expected VCEK (VLEK-signed "
		                      "reports are accepted only when allowed)");
	if (r->signing_key != AC_SNP_SIGNING_KEY_VCEK && r->signing_key != AC_SNP_SIGNING_KEY_VLEK)
		return refuse (error, "KEY_INFO.SIGNING_KEY is %u, expected VCEK",
		               (guint)r->signing_key);
	return TRUE;
}

/* the guest policy: the launch's, without what the verifier's policy does not allow */
static gboolean
check_guest_policy (const AcSnpVerifyPolicy *p, const AcSnpReport *r, GError **error)
{
	if (p->have_expected_policy && r->policy != p->expected_policy)
		return refuse (error,
		               "POLICY is 0x%" G_GINT64_MODIFIER "x, expected 0x%" G_GINT64_MODIFIER
		               "x (the launch's policy)",
		               r->policy, p->expected_policy);
	if ((r->policy & AC_SNP_POLICY_DEBUG) && !p->allow_debug)
		return refuse (
		    error,
		    "POLICY 0x%" G_GINT64_MODIFIER "x sets DEBUG (bit 19): the host can "
		    "read and change guest memory; expected clear (debugging is accepted "
		    "only when allowed)",
		    r->policy);
	if ((r->policy & AC_SNP_POLICY_MIGRATE_MA) && !p->allow_migrate_ma)
		return refuse (error,
		               "POLICY 0x%" G_GINT64_MODIFIER
		               "x sets MIGRATE_MA (bit 18): a migration "
		               "agent may hold the guest's keys; expected clear",
		               r->policy);
	if (p->require_single_socket && (r->policy & AC_SNP_POLICY_SINGLE_SOCKET) == 0)
		return refuse (error,
		               "POLICY 0x%" G_GINT64_MODIFIER
		               "x does not set SINGLE_SOCKET (bit 20), "
		               "which is required",
		               r->policy);
	if (p->require_no_smt && (r->policy & AC_SNP_POLICY_SMT))
		return refuse (error,
		               "POLICY 0x%" G_GINT64_MODIFIER
		               "x sets SMT (bit 16): the guest may run "
		               "on an SMT host; expected clear",
		               r->policy);
	return TRUE;
}

/* where it runs: VMPL, firmware ABI, platform flags, a chip id a VCEK can match */
static gboolean
check_platform (const AcSnpVerifyPolicy *p, const AcSnpReport *r, GError **error)
{
	gchar buf[32];

	if (r->vmpl > p->vmpl_max)
		return refuse (error, "VMPL is %u, expected at most %u", r->vmpl, p->vmpl_max);
	if (r->current_major < p->min_abi_major
	    || (r->current_major == p->min_abi_major && r->current_minor < p->min_abi_minor))
		return refuse (error, "CURRENT firmware is %u.%u.%u, expected at least ABI %u.%u",
		               r->current_major, r->current_minor, r->current_build,
		               p->min_abi_major, p->min_abi_minor);
	if (r->committed_major < p->min_abi_major
	    || (r->committed_major == p->min_abi_major && r->committed_minor < p->min_abi_minor))
		return refuse (error, "COMMITTED firmware is %u.%u.%u, expected at least ABI %u.%u",
		               r->committed_major, r->committed_minor, r->committed_build,
		               p->min_abi_major, p->min_abi_minor);
	if ((r->platform_info & p->platform_required) != p->platform_required)
		return refuse (
		    error, "PLATFORM_INFO 0x%" G_GINT64_MODIFIER "x lacks %s, which is required",
		    r->platform_info,
		    first_platform_name (p->platform_required & ~r->platform_info, buf));
	if (r->platform_info & p->platform_forbidden)
		return refuse (
		    error, "PLATFORM_INFO 0x%" G_GINT64_MODIFIER "x sets %s, which is forbidden",
		    r->platform_info,
		    first_platform_name (r->platform_info & p->platform_forbidden, buf));
	if (r->signing_key == AC_SNP_SIGNING_KEY_VCEK && ac_snp_report_chip_id_is_zero (r))
		return refuse (error,
		               "CHIP_ID is all zero (masked by the host): no VCEK matches it");
	return TRUE;
}

/* the product and the patch level: every TCB of the report at or above the floor */
static gboolean
check_tcb (const AcSnpVerifyPolicy *p, const AcSnpReport *r, GError **error)
{
	/* the order a report is shown: who signed, what the guest was launched with, where it
	 * runs, then the platform's patch level */
	static const AcSnpTcbKind kinds[]
	    = { AC_SNP_TCB_LAUNCH, AC_SNP_TCB_REPORTED, AC_SNP_TCB_CURRENT, AC_SNP_TCB_COMMITTED };
	AcSnpProduct product;
	AcSnpTcb floor;
	g_autoptr (GPtrArray) failures = g_ptr_array_new_with_free_func (g_free);
	g_autofree gchar *floor_s = NULL;

	if (r->product != AC_SNP_PRODUCT_UNKNOWN && p->product != AC_SNP_PRODUCT_UNKNOWN
	    && r->product != p->product)
		return refuse (error, "CPUID family 0x%02x model 0x%02x is %s, expected %s",
		               r->cpuid_fam_id, r->cpuid_mod_id,
		               ac_snp_product_to_string (r->product),
		               ac_snp_product_to_string (p->product));
	product = r->product != AC_SNP_PRODUCT_UNKNOWN ? r->product : p->product;
	if (product == AC_SNP_PRODUCT_UNKNOWN)
		return refuse (
		    error,
		    "the product is unknown (version %u report, CPUID family 0x%02x model "
		    "0x%02x): the TCB floor cannot be checked; expected a configured "
		    "product",
		    r->version, r->cpuid_fam_id, r->cpuid_mod_id);
	if (!ac_snp_verify_policy_effective_floor (p, product,
	                                           r->version >= 3 ? r->cpuid_mod_id : -1, &floor))
		return refuse (error, "no TCB floor for %s", ac_snp_product_to_string (product));
	for (guint i = 0; i < G_N_ELEMENTS (kinds); i++) {
		g_autoptr (GError) local = NULL;
		AcSnpTcb tcb;
		if (!ac_snp_report_get_tcb (r, kinds[i], product, &tcb, &local))
			return refuse (error, "%s", local->message);
		tcb_failures (failures, ac_snp_tcb_kind_to_string (kinds[i]), &tcb, &floor,
		              product);
	}
	if (failures->len > 0) {
		g_autofree gchar *list = NULL;
		g_ptr_array_add (failures, NULL);
		list = g_strjoinv (", ", (gchar **)failures->pdata);
		floor_s = ac_snp_tcb_to_string (&floor, product);
		return refuse (error, "TCB below the %s floor %s (%s): %s",
		               ac_snp_product_to_string (product), floor_s,
		               p->have_min_tcb ? (p->allow_tcb_below_default ? "configured"
		                                                             : "built-in raised by "
		                                                               "the configuration")
		                               : "built-in",
		               list);
	}
	return TRUE;
}

gboolean
ac_snp_verify_policy_check (const AcSnpVerifyPolicy *p, const AcSnpReport *r, GError **error)
{
	g_return_val_if_fail (p != NULL && r != NULL, FALSE);

	/* who signed, what the guest was launched with, where it runs, the patch level */
	return check_signer (p, r, error) && check_guest_policy (p, r, error)
	       && check_platform (p, r, error) && check_tcb (p, r, error);
}
