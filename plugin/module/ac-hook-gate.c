/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Runs inside libvirtd's hook call, under the domain lock and with no timeout: it must be
 * fast, must never call back into libvirt (deadlock) and must never touch the network.
 * It decides from the domain XML and local files only.
 */
#include "config.h"

#include "ac-hook-gate.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-keyfile.h"
#include "ac-localsev.h"
#if HAVE_SECP256K1
#include "ac-eth-account.h"
#endif
#include "ac-sev-policy.h"
#include "ac-snp-policy.h"
#include "ac-tag.h"
#include "ac-time.h"

void
ac_hook_config_free (AcHookConfig *config)
{
	if (config == NULL)
		return;
	g_free (config->state_dir);
	g_strfreev (config->owners);
	g_free (config->host_id);
	g_free (config);
}

static gboolean
parse_host_setting (GKeyFile *kf, const gchar *path, const gchar *key, AcHostSev *out, GError **error)
{
	g_autofree gchar *value = g_key_file_get_string (kf, "hook", key, NULL);

	if (value == NULL || g_strcmp0 (value, "auto") == 0)
		*out = AC_HOST_SEV_AUTO;
	else if (g_strcmp0 (value, "yes") == 0)
		*out = AC_HOST_SEV_YES;
	else if (g_strcmp0 (value, "no") == 0)
		*out = AC_HOST_SEV_NO;
	else {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "%s: [hook] %s='%s': expected auto, yes or no", path, key, value);
		return FALSE;
	}
	return TRUE;
}

/**
 * ac_hook_config_load:
 * @path: a key file with a [hook] group; a missing file means the defaults
 *
 * Keys: host-sev = auto|yes|no (default auto), host-snp = auto|yes|no (the same for
 * SEV-SNP, default auto), state-dir = PATH (default the package
 * state directory), owners = ADDRESS;… (the Ethereum addresses whose signed launch records
 * this host accepts for local SEV launches prepared by a service on another machine),
 * host-id = NAME (this host in those records, default its host name).
 */
AcHookConfig *
ac_hook_config_load (const gchar *path, GError **error)
{
	g_autoptr(AcHookConfig) config = g_new0 (AcHookConfig, 1);
	g_autoptr(GKeyFile) kf = g_key_file_new ();
	g_autoptr(GError) local_error = NULL;
	config->host_sev = AC_HOST_SEV_AUTO;
	config->host_snp = AC_HOST_SEV_AUTO;
	config->state_dir = g_strdup (AC_STATEDIR);
	config->host_id = g_strdup (g_get_host_name ());
	if (!ac_key_file_load_strict (kf, path, ac_hook_config_keys, &local_error)) {
		if (g_error_matches (local_error, AC_ERROR, AC_ERROR_NOT_FOUND))
			return g_steal_pointer (&config);
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s", local_error->message);
		return NULL;
	}
	if (!parse_host_setting (kf, path, "host-sev", &config->host_sev, error) ||
	    !parse_host_setting (kf, path, "host-snp", &config->host_snp, error))
		return NULL;
	if (g_key_file_has_key (kf, "hook", "owners", NULL)) {
		g_auto(GStrv) owners = g_key_file_get_string_list (kf, "hook", "owners", NULL, NULL);
		g_autoptr(GPtrArray) valid = g_ptr_array_new_with_free_func (g_free);
		for (guint i = 0; owners != NULL && owners[i] != NULL; i++) {
			const gchar *o = g_strstrip (owners[i]);
			gboolean ok = ac_codec_hex_is_valid (o, 40, AC_CODEC_HEX_REQUIRE_0X);
			if (o[0] == '\0')
				continue;
			if (!ok) {
				g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
					     "%s: [hook] owners: '%s' is not an Ethereum address (0x and "
					     "40 hex digits)", path, o);
				return NULL;
			}
			g_ptr_array_add (valid, g_strdup (o));
		}
		g_ptr_array_add (valid, NULL);
		config->owners = (gchar **)g_ptr_array_free (g_steal_pointer (&valid), FALSE);
	}
	if (g_key_file_has_key (kf, "hook", "host-id", NULL)) {
		g_free (config->host_id);
		config->host_id = g_strstrip (g_key_file_get_string (kf, "hook", "host-id", NULL));
	}
	if (g_key_file_has_key (kf, "hook", "state-dir", NULL)) {
		g_free (config->state_dir);
		config->state_dir = g_key_file_get_string (kf, "hook", "state-dir", NULL);
	}
	return g_steal_pointer (&config);
}

/* @setting, or (auto) /dev/sev and kvm_amd's parameter @param enabled */
static gboolean
host_has_kvm_amd (AcHostSev setting, const gchar *param)
{
	g_autofree gchar *path = g_strconcat ("/sys/module/kvm_amd/parameters/", param, NULL);
	g_autofree gchar *value = NULL;

	if (setting == AC_HOST_SEV_YES)
		return TRUE;
	if (setting == AC_HOST_SEV_NO)
		return FALSE;
	if (!g_file_test ("/dev/sev", G_FILE_TEST_EXISTS))
		return FALSE;
	if (!g_file_get_contents (path, &value, NULL, NULL))
		return FALSE;
	g_strstrip (value);
	return g_strcmp0 (value, "Y") == 0 || g_strcmp0 (value, "1") == 0;
}

/**
 * ac_host_has_sev:
 *
 * Whether this host can launch SEV guests: /dev/sev exists and kvm_amd has sev enabled
 * (the same check as Aleph's CRN and `sevctl ok`'s first steps).
 */
gboolean
ac_host_has_sev (AcHostSev setting)
{
	return host_has_kvm_amd (setting, "sev");
}

/**
 * ac_host_has_snp:
 *
 * Whether this host can launch SEV-SNP guests: /dev/sev exists and kvm_amd has sev_snp
 * enabled (Aleph's CRN check, docs/snp.md). SEV alone is not enough.
 */
gboolean
ac_host_has_snp (AcHostSev setting)
{
	return host_has_kvm_amd (setting, "sev_snp");
}

static void
refuse (GError **error, AcError code, const gchar *domain, const gchar *format, ...) G_GNUC_PRINTF (4, 5);

static void
refuse (GError **error, AcError code, const gchar *domain, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *reason = NULL;
	va_start (args, format);
	reason = g_strdup_vprintf (format, args);
	va_end (args);
	g_set_error (error, AC_ERROR, code, "aleph-confidential: refusing to start domain '%s': %s",
		     domain, reason);
}

/* Records the decision for `virt-aleph status` and the service; never fails the hook. */
static void
record_decision (const AcHookConfig *config,
		 const gchar *domain,
		 const gchar *op,
		 const gchar *subop,
		 const GError *error)
{
	g_autoptr(JsonBuilder) b = json_builder_new ();
	g_autoptr(JsonNode) root = NULL;
	g_autofree gchar *when = ac_time_now_utc ();
	g_autofree gchar *dir = NULL;
	g_autofree gchar *file = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *text = NULL;

	if (config->state_dir == NULL || config->state_dir[0] == '\0')
		return;
	/* The domain name is libvirt's (no '/'), but never trust it as a path component. */
	if (strchr (domain, '/') != NULL || domain[0] == '.' || domain[0] == '\0')
		return;
	dir = g_build_filename (config->state_dir, "hook", NULL);
	if (g_mkdir_with_parents (dir, 0700) != 0)
		return;
	json_builder_begin_object (b);
	json_builder_set_member_name (b, "domain");
	json_builder_add_string_value (b, domain);
	json_builder_set_member_name (b, "op");
	json_builder_add_string_value (b, op);
	json_builder_set_member_name (b, "subop");
	json_builder_add_string_value (b, subop);
	json_builder_set_member_name (b, "time");
	json_builder_add_string_value (b, when);
	json_builder_set_member_name (b, "verdict");
	json_builder_add_string_value (b, error == NULL ? "allowed" : "refused");
	if (error != NULL) {
		json_builder_set_member_name (b, "code");
		json_builder_add_string_value (b, ac_error_code_to_string (error->code));
		json_builder_set_member_name (b, "message");
		json_builder_add_string_value (b, error->message);
	}
	json_builder_end_object (b);
	root = json_builder_get_root (b);
	text = json_to_string (root, TRUE);
	file = g_strconcat (domain, ".json", NULL);
	path = g_build_filename (dir, file, NULL);
	(void)g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL);
}

/*
 * A launch prepared by a service on another machine (qemu+ssh://): the record it shipped in
 * the domain's metadata, accepted only when signed by one of the configured owners.
 */
static AcLocalsevRecord *
shipped_record (const AcHookConfig *config, const gchar *xml, gsize len, GError **error)
{
	g_autoptr(AcLocalsevRecord) record = NULL;
	g_autoptr(GBytes) payload = NULL;
	g_autofree gchar *signer = NULL;
	g_autofree gchar *signature = NULL;
	g_autofree gchar *recovered = NULL;
	gboolean trusted = FALSE;

	record = ac_localsev_record_launch_read (xml, len, &payload, &signer, &signature, error);
	if (record == NULL)
		return NULL;
	if (config->owners == NULL || config->owners[0] == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
			     "its launch record is signed by %s, but this host trusts no owner "
			     "(set [hook] owners=%s in %s to accept launches that owner prepares "
			     "from another machine)",
			     signer, signer, AC_HOOK_CONF);
		return NULL;
	}
#if HAVE_SECP256K1
	if (!ac_eth_recover_personal (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload),
				      signature, &recovered, NULL) ||
	    !ac_eth_address_equal (recovered, signer)) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
			     "its launch record's signature does not verify for signer %s: the "
			     "record was altered after the owner signed it", signer);
		return NULL;
	}
	for (guint i = 0; config->owners[i] != NULL; i++)
		trusted = trusted || ac_eth_address_equal (config->owners[i], signer);
	if (!trusted) {
		g_set_error (error, AC_ERROR, AC_ERROR_REFUSED,
			     "its launch record is signed by %s, who is not among the owners this "
			     "host trusts ([hook] owners in %s)", signer, AC_HOOK_CONF);
		return NULL;
	}
	/* signed by an owner, but for this host and for now only */
	if (!ac_localsev_record_check_shipped (record, config->host_id, NULL, error))
		return NULL;
	return g_steal_pointer (&record);
#else
	(void)recovered;
	(void)trusted;
	g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
		     "its launch record is signed by %s, but this build has no secp256k1 to "
		     "verify the signature", signer);
	return NULL;
#endif
}

/* A published domain runs on Aleph, never here: what to do instead of a local start. */
#define PUBLISHED_HINT                                                                             \
	"it has <aleph:publish>, so virt-alephd runs it on an Aleph node, not on this host: "      \
	"check it with 'virt-aleph status %s' or run its Aleph flow with 'virt-aleph apply %s'. "  \
	"To run it locally instead, remove <aleph:publish> (with 'virsh edit %s')"

/* exactly what the service prepared: its session, used once, its firmware and disk;
 * the record is the one the service keeps on this machine, or the one it shipped
 * signed in the domain's metadata when it runs on another machine */
static gboolean
gate_sev_record (const AcHookConfig *config, const gchar *domain, const gchar *xml, gsize len,
		 const AcTag *tag, const AcTagDomain *dom, GError **error)
{
	g_autoptr(AcLocalsevRecord) record = NULL;
	g_autoptr(GError) local = NULL;
	gboolean shipped = FALSE;
	if (dom->uuid != NULL)
		record = ac_localsev_record_load (config->state_dir, dom->uuid, &local);
	if (record == NULL && (local == NULL || g_error_matches (local, AC_ERROR, AC_ERROR_NOT_FOUND))) {
		g_autoptr(GError) ship_error = NULL;
		record = shipped_record (config, xml, len, &ship_error);
		if (record == NULL && !g_error_matches (ship_error, AC_ERROR, AC_ERROR_NOT_FOUND)) {
			/* both: on the service's own machine the first is the real cause */
			refuse (error, AC_ERROR_REFUSED, domain, "%s; and %s",
				local != NULL ? local->message : "the domain has no UUID",
				ship_error->message);
			return FALSE;
		}
		shipped = record != NULL;
	}
	if (record == NULL && tag->publish != NULL) {
		refuse (error, AC_ERROR_REFUSED, domain, PUBLISHED_HINT, domain, domain, domain);
		return FALSE;
	}
	if (record == NULL) {
		refuse (error, AC_ERROR_REFUSED, domain,
			"virt-alephd has not prepared this launch (%s); it writes a fresh "
			"SEV session for every start: check 'virt-aleph status %s'",
			local != NULL ? local->message : "no record", domain);
		return FALSE;
	}
	g_clear_error (&local);
	if (record->tee != tag->tee) {
		refuse (error, AC_ERROR_REFUSED, domain,
			"the prepared launch is an %s launch, but the tag asks for %s; prepare the "
			"launch again",
			record->tee == AC_TEE_SNP ? "SEV-SNP" : "SEV", ac_tag_get_tee_name (tag));
		return FALSE;
	}
	if (!ac_localsev_gate_check_prepared (record, xml, len, &local)) {
		refuse (error, AC_ERROR_REFUSED, domain, "%s", local->message);
		return FALSE;
	}
	if (shipped ? !ac_localsev_record_session_mark_used (config->state_dir, record->session_id, &local)
		    : !ac_localsev_record_mark_launched (config->state_dir, dom->uuid, &local)) {
		refuse (error, AC_ERROR_REFUSED, domain, "%s", local->message);
		return FALSE;
	}
	return TRUE;
}

/* An SNP tag in local mode sev: only on a host with SEV-SNP, and only the launch the service
 * prepared (<launchSecurity type='sev-snp'>, its runtime's boot, the record's); never started
 * as an SEV guest instead. */
static gboolean
gate_snp (const AcHookConfig *config, const gchar *domain, const gchar *xml, gsize len,
	  gboolean host_snp, const AcTag *tag, const AcTagDomain *dom, GError **error)
{
	guint64 policy = 0;

	if (tag->publish != NULL) {
		refuse (error, AC_ERROR_REFUSED, domain, PUBLISHED_HINT, domain, domain, domain);
		return FALSE;
	}
	if (!host_snp) {
		refuse (error, AC_ERROR_REFUSED, domain,
			"<aleph:local mode='sev'/> with <aleph:sev type='snp'> needs AMD SEV-SNP, "
			"which this host lacks (no /dev/sev or kvm_amd sev_snp=N); an SNP domain "
			"never starts as an SEV guest. Start it on an SEV-SNP host, deploy it to "
			"Aleph with <aleph:publish/>, or set <aleph:local mode='test'/> for an "
			"unprotected test run");
		return FALSE;
	}
	if (dom->qemu_element != NULL) {
		refuse (error, AC_ERROR_REFUSED, domain,
			"<%s> (libvirt's QEMU namespace %s) is passed to QEMU unchecked and "
			"could replace the SEV-SNP launch (another guest object, firmware, kernel or "
			"a debug stub): a confidential domain cannot carry it. Remove it with "
			"'virsh edit %s'",
			dom->qemu_element, AC_LIBVIRT_QEMU_NS, domain);
		return FALSE;
	}
	if (!dom->has_launch_security || g_strcmp0 (dom->launch_security_type, "sev-snp") != 0) {
		refuse (error, AC_ERROR_REFUSED, domain,
			"the domain has no <launchSecurity type='sev-snp'>, so it would run without "
			"SEV-SNP (an SNP domain never starts as an SEV guest). virt-alephd prepares "
			"it for a tagged domain: check 'virt-aleph status %s'",
			domain);
		return FALSE;
	}
	if (dom->launch_security_policy == NULL ||
	    !ac_snp_policy_parse (dom->launch_security_policy, &policy, NULL) ||
	    policy != tag->snp_policy) {
		refuse (error, AC_ERROR_REFUSED, domain,
			"<launchSecurity> policy '%s' differs from the tag's SEV-SNP policy "
			"0x%" G_GINT64_MODIFIER "x; the launch would not match what the owner asked for",
			dom->launch_security_policy != NULL ? dom->launch_security_policy : "(none)",
			tag->snp_policy);
		return FALSE;
	}
	return gate_sev_record (config, domain, xml, len, tag, dom, error);
}

static gboolean
gate_sev (const AcHookConfig *config, const gchar *domain, const gchar *xml, gsize len,
	  gboolean host_sev, const AcTag *tag, const AcTagDomain *dom, GError **error)
{
	if (!host_sev) {
		refuse (error, AC_ERROR_REFUSED, domain,
			"<aleph:local mode='sev'/> needs AMD SEV, which this host lacks (no "
			"/dev/sev or kvm_amd sev=N). Start it on an SEV host, deploy it to Aleph "
			"with <aleph:publish/>, or set <aleph:local mode='test'/> for an "
			"unprotected test run");
		return FALSE;
	}
	if (dom->qemu_element != NULL) {
		refuse (error, AC_ERROR_REFUSED, domain,
			"<%s> (libvirt's QEMU namespace %s) is passed to QEMU unchecked and "
			"could replace the SEV launch (another sev-guest object, firmware or a "
			"debug stub): a confidential domain cannot carry it. Remove it with "
			"'virsh edit %s'",
			dom->qemu_element, AC_LIBVIRT_QEMU_NS, domain);
		return FALSE;
	}
	if ((!dom->has_launch_security || g_strcmp0 (dom->launch_security_type, "sev") != 0) &&
	    tag->publish != NULL) {
		refuse (error, AC_ERROR_REFUSED, domain, PUBLISHED_HINT, domain, domain, domain);
		return FALSE;
	}
	if (!dom->has_launch_security || g_strcmp0 (dom->launch_security_type, "sev") != 0) {
		refuse (error, AC_ERROR_REFUSED, domain,
			"the domain has no <launchSecurity type='sev'>, so it would run without "
			"memory encryption. virt-alephd prepares it for a tagged domain: check "
			"'virt-aleph status %s'",
			domain);
		return FALSE;
	}
	{
		guint32 policy = 0;
		if (dom->launch_security_policy == NULL ||
		    !ac_sev_policy_parse (dom->launch_security_policy, &policy, NULL) ||
		    policy != tag->policy) {
			refuse (error, AC_ERROR_REFUSED, domain,
				"<launchSecurity> policy '%s' differs from the tag's policy "
				"0x%x; the launch would not match what the owner asked for",
				dom->launch_security_policy != NULL ? dom->launch_security_policy
								    : "(none)",
				tag->policy);
			return FALSE;
		}
	}
	return gate_sev_record (config, domain, xml, len, tag, dom, error);
}

/*
 * @untagged is set when the domain has no <aleph:confidential> in its <metadata>: the hook's
 * fast path only looks for the namespace string, which a description, a comment or a
 * look-alike namespace also contains. Such a domain is not ours.
 */
static gboolean
gate_prepare (const AcHookConfig *config,
	      const gchar *domain,
	      const gchar *xml,
	      gsize len,
	      gboolean *untagged,
	      GError **error)
{
	g_autoptr(GError) local_error = NULL;
	g_autoptr(AcTagDomain) dom = NULL;
	g_autoptr(AcTag) tag = ac_tag_parse (xml, (gssize)len, &dom, &local_error);
	gboolean host_sev;
	AcLocalMode mode;

	*untagged = FALSE;
	/* ac_tag_parse() says NOT_FOUND only for a domain without the element: anything wrong
	 * with one it found is INVALID_INPUT */
	if (tag == NULL && g_error_matches (local_error, AC_ERROR, AC_ERROR_NOT_FOUND)) {
		*untagged = TRUE;
		return TRUE;
	}
	if (tag == NULL) {
		g_autoptr(AcTagDomain) readable = ac_tag_domain_parse (xml, (gssize)len, NULL);
		/* untag removes the element by namespace through libvirt: it helps only when the
		 * XML could be read and the error is the tag's own */
		if (readable == NULL)
			refuse (error, AC_ERROR_INVALID_INPUT, domain,
				"its XML carries the aleph-confidential namespace but cannot be "
				"checked: %s", local_error->message);
		else
			refuse (error, AC_ERROR_INVALID_INPUT, domain,
				"invalid <aleph:confidential>: %s. Fix it with 'virsh edit %s' or "
				"remove it with 'virt-aleph untag %s'",
				local_error->message, domain, domain);
		return FALSE;
	}
	/* an SNP tag needs SNP: SEV alone never stands in for it */
	host_sev = tag->tee == AC_TEE_SNP ? ac_host_has_snp (config->host_snp)
					  : ac_host_has_sev (config->host_sev);
	mode = ac_tag_get_effective_local_mode (tag, host_sev);
	if (tag->publish != NULL && mode != AC_LOCAL_MODE_TEST &&
	    (mode == AC_LOCAL_MODE_DENY || !host_sev)) {
		refuse (error, AC_ERROR_REFUSED, domain, PUBLISHED_HINT, domain, domain, domain);
		return FALSE;
	}
	switch (mode) {
	case AC_LOCAL_MODE_DENY:
		if (tag->local_mode == AC_LOCAL_MODE_DENY)
			refuse (error, AC_ERROR_REFUSED, domain,
				"<aleph:local mode='deny'/> forbids starting it on a local host. To "
				"deploy it to Aleph add <aleph:publish/> and let virt-alephd run it; "
				"for an unprotected test run set <aleph:local mode='test'/>");
		else if (tag->tee == AC_TEE_SNP)
			refuse (error, AC_ERROR_REFUSED, domain,
				"its tag asks for AMD SEV-SNP (<aleph:sev type='snp'>), which this "
				"host lacks (no /dev/sev or kvm_amd sev_snp=N); an SNP domain never "
				"starts as an SEV guest or unprotected. Start it on an SEV-SNP host, "
				"deploy it to Aleph with <aleph:publish/>, or set <aleph:local "
				"mode='test'/> for an unprotected test run");
		else
			refuse (error, AC_ERROR_REFUSED, domain,
				"this host has no AMD SEV, and without SEV a confidential domain does "
				"not start locally (the default <aleph:local> mode). To deploy it to "
				"Aleph add <aleph:publish/> and let virt-alephd run it; for an "
				"unprotected test run set <aleph:local mode='test'/>");
		return FALSE;
	case AC_LOCAL_MODE_SEV:
		if (tag->tee == AC_TEE_SNP)
			return gate_snp (config, domain, xml, len, host_sev, tag, dom, error);
		return gate_sev (config, domain, xml, len, host_sev, tag, dom, error);
	case AC_LOCAL_MODE_TEST:
		return TRUE;
	case AC_LOCAL_MODE_UNSET:
	default:
		refuse (error, AC_ERROR_INTERNAL, domain, "internal error: unresolved local mode");
		return FALSE;
	}
}

/**
 * ac_hook_gate:
 *
 * The decision for one hook call of a tagged domain. Only `prepare begin` can refuse (it
 * runs before anything of the domain is set up); every call is recorded.
 *
 * Returns: %FALSE with @error set when the start must be refused.
 */
gboolean
ac_hook_gate (const AcHookConfig *config,
	      const gchar *domain,
	      const gchar *op,
	      const gchar *subop,
	      const gchar *xml,
	      gsize len,
	      GError **error)
{
	g_autoptr(GError) local_error = NULL;
	gboolean ok = TRUE;
	gboolean untagged = FALSE;

	if (g_strcmp0 (op, "prepare") == 0 && g_strcmp0 (subop, "begin") == 0)
		ok = gate_prepare (config, domain, xml, len, &untagged, &local_error);
	if (untagged)
		return TRUE; /* not ours: nothing to record */
	if (g_strcmp0 (op, "prepare") == 0 || !ok)
		record_decision (config, domain, op, subop, local_error);
	if (!ok) {
		g_propagate_error (error, g_steal_pointer (&local_error));
		return FALSE;
	}
	return TRUE;
}
