/*
 * The local flow for SEV-SNP (a domain tagged <aleph:sev type='snp'>): the host checked for
 * libvirt's <launchSecurity type='sev-snp'> (versions, domain capabilities), the local runtime
 * (manifest, OVMF, kernel, initrd), the measured command line and the expected launch digest,
 * the domain written for a direct kernel boot with kernel hashes, and the gatekeeper's
 * comparison of a domain about to start with what was prepared.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-localsev.h"
#include "ac-localsev-private.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-localsev-domain.h"
#include "ac-localsev-pin.h"
#include "ac-localsev-store.h"
#include "ac-snp-policy.h"
#include "ac-snp-runtime.h"

/* the files of a local runtime read into memory: the manifest 64 KiB, the OVMF as the SEV
 * flow's firmware, a kernel or an initrd this much */
#define SNP_MAX_BOOT_FILE (512 * 1024 * 1024)
#define SNP_MANIFEST "manifest.json"
#define SNP_BUNDLE "bundle.tar.gz"

/* ------------------------------------------------------------------------------------------ */
/* the host: versions and domain capabilities                                                 */

void
ac_localsev_snp_domcaps_clear (AcLocalsevSnpDomcaps *caps)
{
	g_clear_pointer (&caps->sectypes, g_free);
}

static gboolean
snp_is_elem (xmlNode *n, const gchar *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns == NULL
	       && g_strcmp0 ((const gchar *)n->name, name) == 0;
}

/* the only child @name of @parent: NULL when none, *dup set when more than one */
static xmlNode *
snp_only_child (xmlNode *parent, const gchar *name, gboolean *dup)
{
	xmlNode *found = NULL;
	for (xmlNode *n = parent != NULL ? parent->children : NULL; n != NULL; n = n->next) {
		if (!snp_is_elem (n, name))
			continue;
		if (found != NULL)
			*dup = TRUE;
		found = n;
	}
	return found;
}

static gboolean
snp_supported (xmlNode *n)
{
	xmlChar *v = xmlGetNoNsProp (n, (const xmlChar *)"supported");
	gboolean yes = v != NULL && g_strcmp0 ((const gchar *)v, "yes") == 0;
	xmlFree (v);
	return yes;
}

static gboolean
snp_small_uint (xmlNode *n, guint min, guint max, guint *out)
{
	g_autofree gchar *text = NULL;
	guint64 v = 0;

	if (n == NULL)
		return FALSE;
	text = ac_domain_xml_text (n);
	if (!g_ascii_string_to_unsigned (text, 10, min, max, &v, NULL))
		return FALSE;
	*out = (guint)v;
	return TRUE;
}

/**
 * ac_localsev_snp_parse_domcaps:
 * @xml: a host's domain capabilities (virConnectGetDomainCapabilities): untrusted
 *
 * Reads, from <domainCapabilities><features>, the launchSecurity types (<launchSecurity
 * supported='yes'><enum name='sectype'><value>…) and the SEV parameters (<sev
 * supported='yes'><cbitpos>, <reducedPhysBits>). At most AC_LOCALSEV_SNP_MAX_DOMCAPS bytes,
 * no network, no entities; a repeated element is refused (two readers must not disagree).
 */
gboolean
ac_localsev_snp_parse_domcaps (const gchar *xml,
                               gsize len,
                               AcLocalsevSnpDomcaps *out,
                               GError **error)
{
	g_autoptr (GString) types = g_string_new (NULL);
	xmlDoc *doc;
	xmlNode *root, *features, *sev, *ls;
	gboolean dup = FALSE;

	memset (out, 0, sizeof *out);
	if (len > AC_LOCALSEV_SNP_MAX_DOMCAPS || len > G_MAXINT) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain capabilities have %" G_GSIZE_FORMAT
		             " bytes, more than the %d accepted",
		             len, AC_LOCALSEV_SNP_MAX_DOMCAPS);
		return FALSE;
	}
	doc = xmlReadMemory (xml, (int)len, "domcapabilities.xml", NULL,
	                     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	root = doc != NULL ? xmlDocGetRootElement (doc) : NULL;
	if (root == NULL || !snp_is_elem (root, "domainCapabilities")) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "domain capabilities: not a well-formed <domainCapabilities>");
		xmlFreeDoc (doc);
		return FALSE;
	}
	features = snp_only_child (root, "features", &dup);
	sev = snp_only_child (features, "sev", &dup);
	ls = snp_only_child (features, "launchSecurity", &dup);
	if (dup) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "domain capabilities: <features>, <sev> or <launchSecurity> "
		                     "repeated, expected at most one");
		xmlFreeDoc (doc);
		return FALSE;
	}
	if (sev != NULL && snp_supported (sev)) {
		gboolean d2 = FALSE;
		xmlNode *cb = snp_only_child (sev, "cbitpos", &d2);
		xmlNode *rpb = snp_only_child (sev, "reducedPhysBits", &d2);
		if (d2 || !snp_small_uint (cb, 1, 63, &out->cbitpos)
		    || !snp_small_uint (rpb, 0, 63, &out->reduced_phys_bits)) {
			g_set_error_literal (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "domain capabilities: <sev supported='yes'> without one "
			    "<cbitpos> of 1-63 and one <reducedPhysBits> of 0-63");
			xmlFreeDoc (doc);
			return FALSE;
		}
		out->sev = TRUE;
	}
	if (ls != NULL && snp_supported (ls)) {
		for (xmlNode *e = ls->children; e != NULL; e = e->next) {
			xmlChar *name;
			gboolean sectype;
			if (!snp_is_elem (e, "enum"))
				continue;
			name = xmlGetNoNsProp (e, (const xmlChar *)"name");
			sectype = name != NULL && g_strcmp0 ((const gchar *)name, "sectype") == 0;
			xmlFree (name);
			for (xmlNode *v = sectype ? e->children : NULL; v != NULL; v = v->next) {
				g_autofree gchar *text = NULL;
				if (!snp_is_elem (v, "value"))
					continue;
				text = ac_domain_xml_text (v);
				if (g_strcmp0 (text, "sev-snp") == 0)
					out->sev_snp = TRUE;
				/* for messages only: printable, bounded */
				if (types->len < 256) {
					g_autofree gchar *shown = g_strcanon (
					    g_strdup (text),
					    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789-_.",
					    '?');
					g_string_append_printf (types, "%s%.32s",
					                        types->len > 0 ? ", " : "", shown);
				}
			}
		}
	}
	out->sectypes = g_string_free (g_steal_pointer (&types), FALSE);
	xmlFreeDoc (doc);
	return TRUE;
}

static gchar *
snp_version_string (gulong v)
{
	return g_strdup_printf ("%lu.%lu.%lu", v / 1000000, (v / 1000) % 1000, v % 1000);
}

/**
 * ac_localsev_snp_check_host:
 * @host_name: for messages
 * @facts: what the host's libvirt said (ac_sev_host_get_snp_facts())
 *
 * Whether the host can launch the SEV-SNP guest the flow prepares: libvirt ≥ 10.5 (the first
 * with <launchSecurity type='sev-snp'>), QEMU ≥ 9.1 (the first with the sev-snp-guest object)
 * and "sev-snp" among the launchSecurity types its domain capabilities list, with the SEV
 * parameters (cbitpos, reducedPhysBits) the launch needs. Every shortfall is named in the one
 * error, with what was found.
 */
gboolean
ac_localsev_snp_check_host (const gchar *host_name,
                            const AcSevHostSnpFacts *facts,
                            guint *cbitpos,
                            guint *reduced_phys_bits,
                            GError **error)
{
	g_auto (AcLocalsevSnpDomcaps) caps = { 0 };
	g_autoptr (GString) missing = g_string_new (NULL);
	g_autofree gchar *lv = snp_version_string (facts->libvirt_version);
	g_autofree gchar *qv = snp_version_string (facts->qemu_version);
	g_autofree gchar *found_caps = NULL;

	if (facts->domcaps != NULL) {
		if (!ac_localsev_snp_parse_domcaps (facts->domcaps, strlen (facts->domcaps), &caps,
		                                    error)) {
			g_prefix_error (error, "host %s: ", host_name);
			return FALSE;
		}
		found_caps
		    = caps.sev_snp
		          ? g_strdup ("sev-snp listed")
		          : g_strdup_printf ("launchSecurity types: %s",
		                             caps.sectypes[0] != '\0' ? caps.sectypes : "none");
	} else {
		found_caps = g_strdup_printf ("no domain capabilities: %s",
		                              facts->domcaps_error != NULL ? facts->domcaps_error
		                                                           : "none given");
	}
	if (facts->libvirt_version < AC_LOCALSEV_SNP_MIN_LIBVIRT)
		g_string_append_printf (missing, "%slibvirt %s", missing->len ? ", " : "", lv);
	if (facts->qemu_version < AC_LOCALSEV_SNP_MIN_QEMU)
		g_string_append_printf (missing, "%sQEMU %s", missing->len ? ", " : "", qv);
	if (!caps.sev_snp)
		g_string_append_printf (missing, "%sno sev-snp in its domain capabilities (%s)",
		                        missing->len ? ", " : "", found_caps);
	else if (!caps.sev)
		g_string_append_printf (missing,
		                        "%sno <sev supported='yes'> with cbitpos and "
		                        "reducedPhysBits in its domain capabilities",
		                        missing->len ? ", " : "");
	if (missing->len > 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
		             "host %s cannot launch an SEV-SNP guest through libvirt: the local "
		             "SEV-SNP flow needs libvirt >= 10.5.0 and QEMU >= 9.1.0 with "
		             "'sev-snp' among the launchSecurity types of 'virsh domcapabilities' "
		             "(kvm_amd sev_snp=1 on an SNP-capable host); found libvirt %s, QEMU "
		             "%s: %s",
		             host_name, lv, qv, missing->str);
		return FALSE;
	}
	*cbitpos = caps.cbitpos;
	*reduced_phys_bits = caps.reduced_phys_bits;
	return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* the local runtime                                                                          */

void
ac_localsev_snp_runtime_free (AcLocalsevSnpRuntime *rt)
{
	if (rt == NULL)
		return;
	ac_snp_runtime_free (rt->runtime);
	g_free (rt->dir);
	g_free (rt->manifest_sha256);
	g_free (rt->ovmf_path);
	g_free (rt->kernel_path);
	g_free (rt->initrd_path);
	g_clear_pointer (&rt->files.ovmf, g_bytes_unref);
	g_clear_pointer (&rt->files.kernel, g_bytes_unref);
	g_clear_pointer (&rt->files.initrd, g_bytes_unref);
	g_free (rt);
}

static GBytes *
snp_read_member (const gchar *dir,
                 const gchar *member,
                 const gchar *what,
                 gchar **path,
                 GError **error)
{
	g_autofree gchar *p = g_build_filename (dir, member, NULL);
	g_autoptr (GError) error_local = NULL;
	GBytes *b = ac_file_read_bytes (p, SNP_MAX_BOOT_FILE, &error_local);

	if (b == NULL) {
		g_set_error (error, AC_ERROR,
		             error_local->domain == AC_ERROR ? error_local->code : AC_ERROR_IO,
		             "SEV-SNP runtime %s: its %s '%s': %s", dir, what, member,
		             error_local->message);
		return NULL;
	}
	*path = g_steal_pointer (&p);
	return b;
}

/**
 * ac_localsev_snp_runtime_load:
 * @dir: the local runtime: manifest.json and the bundle's members under their manifest paths
 *   (what `tar -xzf bundle.tar.gz -C DIR` gives), optionally bundle.tar.gz itself
 * @pin: (nullable): the tag's runtime, the SHA-256 (lowercase hex) the manifest must have
 *
 * Returns: the runtime with its members read, or %NULL: %AC_ERROR_MISMATCH when the manifest is
 * not the pinned one or the bundle is not the manifest's, %AC_ERROR_INVALID_INPUT for a
 * manifest that does not parse, %AC_ERROR_NOT_FOUND for a missing file.
 */
AcLocalsevSnpRuntime *
ac_localsev_snp_runtime_load (const gchar *dir, const gchar *pin, GError **error)
{
	g_autoptr (AcLocalsevSnpRuntime) rt = g_new0 (AcLocalsevSnpRuntime, 1);
	g_autofree gchar *manifest_path = NULL;
	g_autofree gchar *bundle_path = NULL;
	g_autoptr (GBytes) bundle = NULL;
	g_autofree gchar *data = NULL;
	g_autoptr (GError) error_local = NULL;
	gsize len = 0;

	g_return_val_if_fail (dir != NULL, NULL);
	rt->dir = g_strdup (dir);
	manifest_path = g_build_filename (dir, SNP_MANIFEST, NULL);
	if (!ac_file_read_bounded (manifest_path, AC_SNP_RUNTIME_MAX_SIZE, &data, &len,
	                           &error_local)) {
		g_set_error (error, AC_ERROR,
		             error_local->domain == AC_ERROR ? error_local->code : AC_ERROR_IO,
		             "SEV-SNP runtime %s: %s", dir, error_local->message);
		return NULL;
	}
	rt->manifest_sha256
	    = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)data, len);
	if (pin != NULL && g_ascii_strcasecmp (pin, rt->manifest_sha256) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
		             "SEV-SNP runtime %s: %s has sha256 %s, but the tag's runtime is %s",
		             dir, manifest_path, rt->manifest_sha256, pin);
		return NULL;
	}
	rt->runtime = ac_snp_runtime_parse (data, len, &error_local);
	if (rt->runtime == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "SEV-SNP runtime %s: %s",
		             manifest_path, error_local->message);
		return NULL;
	}
	/* the bundle, when it is there, must be the manifest's (and below, its members the files)
	 */
	bundle_path = g_build_filename (dir, SNP_BUNDLE, NULL);
	if (g_file_test (bundle_path, G_FILE_TEST_EXISTS)) {
		bundle = ac_file_map_bytes (bundle_path, G_MAXSIZE, error);
		if (bundle == NULL) {
			g_prefix_error (error, "SEV-SNP runtime %s: ", dir);
			return NULL;
		}
		if (!ac_snp_runtime_check_bundle (rt->runtime, bundle, &error_local)) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			             "SEV-SNP runtime %s: %s: %s", dir, bundle_path,
			             error_local->message);
			return NULL;
		}
	}
	rt->files.ovmf
	    = snp_read_member (dir, rt->runtime->member_ovmf, "OVMF", &rt->ovmf_path, error);
	if (rt->files.ovmf == NULL)
		return NULL;
	rt->files.kernel
	    = snp_read_member (dir, rt->runtime->member_kernel, "kernel", &rt->kernel_path, error);
	if (rt->files.kernel == NULL)
		return NULL;
	rt->files.initrd
	    = snp_read_member (dir, rt->runtime->member_initrd, "initrd", &rt->initrd_path, error);
	if (rt->files.initrd == NULL)
		return NULL;
	/* the files the domain boots are the bundle's, byte for byte */
	if (bundle != NULL) {
		AcSnpRuntimeFiles in_bundle = { 0 };
		const struct {
			const gchar *what, *path;
			GBytes *file, **member;
		} cmp[] = {
			{ "OVMF", rt->ovmf_path, rt->files.ovmf, &in_bundle.ovmf },
			{ "kernel", rt->kernel_path, rt->files.kernel, &in_bundle.kernel },
			{ "initrd", rt->initrd_path, rt->files.initrd, &in_bundle.initrd },
		};
		gboolean same = TRUE;
		guint i;

		if (!ac_snp_runtime_extract (rt->runtime, bundle, &in_bundle, &error_local)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "SEV-SNP runtime %s: %s", dir, error_local->message);
			return NULL;
		}
		for (i = 0; i < G_N_ELEMENTS (cmp) && same; i++)
			same = g_bytes_equal (cmp[i].file, *cmp[i].member);
		g_bytes_unref (in_bundle.ovmf);
		g_bytes_unref (in_bundle.kernel);
		g_bytes_unref (in_bundle.initrd);
		if (!same) {
			g_set_error (error, AC_ERROR, AC_ERROR_MISMATCH,
			             "SEV-SNP runtime %s: the %s %s is not the bundle's (%s)", dir,
			             cmp[i - 1].what, cmp[i - 1].path, SNP_BUNDLE);
			return NULL;
		}
	}
	return g_steal_pointer (&rt);
}

/* ------------------------------------------------------------------------------------------ */
/* prepare                                                                                    */

gchar *
ac_localsev_snp_launch_security_xml (const AcLocalsevRecord *r)
{
	/* libvirt writes the 64-bit policy as 0x and 8 hex digits (or more) */
	return g_strdup_printf ("<launchSecurity type='sev-snp' kernelHashes='yes' "
	                        "authorKey='no' vcek='yes'>\n"
	                        "    <cbitpos>%u</cbitpos>\n"
	                        "    <reducedPhysBits>%u</reducedPhysBits>\n"
	                        "    <policy>0x%08" G_GINT64_MODIFIER "x</policy>\n"
	                        "  </launchSecurity>",
	                        r->cbitpos, r->reduced_phys_bits, r->snp_policy);
}

/* the vCPU model: the domain's when the runtime is measured for it, else the runtime's first */
static const gchar *
snp_choose_cpu_model (const AcDomain *dom, const AcSnpRuntime *rt, GError **error)
{
	g_autofree gchar *listed = NULL;

	if (dom->cpu_model == NULL)
		return rt->cpu_models[0];
	if (g_strv_contains ((const gchar *const *)rt->cpu_models, dom->cpu_model))
		return dom->cpu_model;
	listed = g_strjoinv (", ", rt->cpu_models);
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
	             "domain '%s' has the CPU model '%s', but the SEV-SNP runtime is measured for "
	             "%s only: set one of them in <cpu><model>, or remove <cpu> to use %s",
	             dom->name, dom->cpu_model, listed, rt->cpu_models[0]);
	return NULL;
}

/* the host's versions and capabilities: whether it launches SEV-SNP guests, and its C-bit
 * position and reduced physical address bits */
static gboolean
snp_prepare_host (AcSevHost *host, guint *cbitpos, guint *rpb, GError **error)
{
	g_autoptr (AcSevHostSnpFacts) facts = NULL;
	g_autoptr (GError) error_local = NULL;
	const gchar *host_name = ac_sev_host_get_name (host);

	facts = ac_sev_host_get_snp_facts (host, &error_local);
	if (facts == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_UNSUPPORTED,
		             "host %s cannot tell whether it launches SEV-SNP guests: %s",
		             host_name, error_local->message);
		return FALSE;
	}
	return ac_localsev_snp_check_host (host_name, facts, cbitpos, rpb, error);
}

/* the configuration an SEV-SNP launch needs: the local runtime and the owner's key */
static gboolean
snp_prepare_check_options (const AcLocalsevOptions *opts, const AcDomain *dom, GError **error)
{
	if (opts->snp_runtime == NULL) {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "domain '%s' is tagged for SEV-SNP, but no local SEV-SNP runtime is "
		    "given (snp-runtime: a directory holding manifest.json and the bundle's "
		    "files, docs/snp.md#local-snp-hosts)",
		    dom->name);
		return FALSE;
	}
	if (opts->snp_owner == NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "domain '%s': SEV-SNP launches are unlocked by the owner's key, whose "
		             "address is measured in the kernel command line: configure the "
		             "owner's key",
		             dom->name);
		return FALSE;
	}
	return TRUE;
}

/* the expected launch digest (hex) of @rt for @owner, @vcpus vCPUs of @cpu_model */
static gchar *
snp_expected_measurement (AcLocalsevSnpRuntime *rt,
                          const gchar *owner,
                          guint vcpus,
                          const gchar *cpu_model,
                          GError **error)
{
	g_autofree AcSnpRuntimeMeasurement *m = NULL;
	guint n = 0, idx = 0;

	if (!ac_snp_runtime_expected_measurements (rt->runtime, &rt->files, owner, vcpus, &m, &n,
	                                           error))
		return NULL;
	while (idx < n && g_strcmp0 (m[idx].vcpu_type, cpu_model) != 0)
		idx++;
	if (idx == n) {
		g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL,
		             "no expected measurement for the CPU model %s", cpu_model);
		return NULL;
	}
	return ac_codec_hex_encode (m[idx].launch, AC_SNP_LD_SIZE);
}

/* the record replaces any earlier one (an SEV session's keys are erased) */
static gboolean
snp_prepare_save (const AcLocalsevOptions *opts,
                  const AcDomain *dom,
                  const AcLocalsevRecord *r,
                  GError **error)
{
	g_autoptr (AcLocalsevRecord) old = NULL;
	g_autoptr (GError) error_local = NULL;
	g_autofree gchar *dir = ac_localsev_store_domain_dir (opts->state_dir, dom->uuid, error);

	if (dir == NULL)
		return FALSE;
	old = ac_localsev_record_load_from (dir, dom->name, &error_local);
	g_clear_error (&error_local);
	if (!ac_localsev_record_save (dir, r, error))
		return FALSE;
	if (old != NULL && old->tee == AC_TEE_SEV && old->session_id != NULL
	    && !ac_localsev_store_shred_session (dir, old->session_id, &error_local))
		g_warning ("domain '%s': %s", r->domain, error_local->message);
	return TRUE;
}

/**
 * ac_localsev_snp_prepare:
 *
 * The SEV-SNP half of ac_localsev_prepare_domain() (which checked the domain's identity and the
 * pinned tag): the host's versions and capabilities, the local runtime, the command line
 * rendered for opts->snp_owner, the expected launch digest for the domain's vCPU count and CPU
 * model; then the domain with <launchSecurity type='sev-snp'>, the runtime's OVMF as a
 * stateless loader, its kernel, initrd and command line, that CPU model, and the record.
 */
AcLocalsevPrepared *
ac_localsev_snp_prepare (AcSevHost *host,
                         const AcLocalsevOptions *opts,
                         const AcTag *tag,
                         const gchar *domain_xml,
                         const AcDomain *dom,
                         GCancellable *cancellable,
                         GError **error)
{
	g_autoptr (AcLocalsevSnpRuntime) rt = NULL;
	g_autoptr (AcLocalsevRecord) r = NULL;
	g_autoptr (AcLocalsevPrepared) prepared = NULL;
	g_autofree gchar *owner = NULL;
	g_autofree gchar *cmdline = NULL;
	g_autofree gchar *measurement = NULL;
	g_autofree gchar *booted = NULL;
	g_autoptr (AcDomain) after = NULL;
	const gchar *cpu_model;
	AcDomainDisk *disk;
	guint cbitpos = 0, rpb = 0, vcpus;

	if (!ac_snp_policy_validate (tag->snp_policy, error))
		return NULL;
	/* the host first: on one that cannot run it, nothing else matters */
	if (!snp_prepare_host (host, &cbitpos, &rpb, error)
	    || !snp_prepare_check_options (opts, dom, error))
		return NULL;
	rt = ac_localsev_snp_runtime_load (opts->snp_runtime, tag->snp_runtime, error);
	if (rt == NULL)
		return NULL;
	owner = ac_snp_runtime_owner_canonical (opts->snp_owner, error);
	if (owner == NULL)
		return NULL;
	cmdline = ac_snp_runtime_render_cmdline (rt->runtime, owner, error);
	if (cmdline == NULL)
		return NULL;
	cpu_model = snp_choose_cpu_model (dom, rt->runtime, error);
	if (cpu_model == NULL)
		return NULL;
	vcpus = MAX (dom->vcpus, 1);
	measurement = snp_expected_measurement (rt, owner, vcpus, cpu_model, error);
	if (measurement == NULL)
		return NULL;
	disk = ac_localsev_prepare_find_disk (dom, tag, error);
	if (disk == NULL || !ac_localsev_prepare_check_cancelled (cancellable, error))
		return NULL;

	/* the record */
	r = ac_localsev_prepare_record_new (opts, dom, error);
	if (r == NULL)
		return NULL;
	r->tee = AC_TEE_SNP;
	r->snp_policy = tag->snp_policy;
	r->cbitpos = cbitpos;
	r->reduced_phys_bits = rpb;
	r->firmware_path = g_strdup (rt->ovmf_path);
	r->firmware_sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, rt->files.ovmf);
	r->kernel = g_strdup (rt->kernel_path);
	r->initrd = g_strdup (rt->initrd_path);
	r->cmdline = g_strdup (cmdline);
	r->cpu_model = g_strdup (cpu_model);
	r->owner = g_strdup (owner);
	r->runtime_sha256 = g_strdup (rt->manifest_sha256);
	r->expected_measurement = g_steal_pointer (&measurement);
	r->agent_port = rt->runtime->attestation_port;
	r->vcpus = vcpus;
	if (!ac_localsev_prepare_host_id (host, opts, dom, &r->host, error))
		return NULL;

	/* the domain: boot, then <launchSecurity> (and the signed record) */
	booted = ac_localsev_domain_set_snp_boot (domain_xml, r->firmware_path, r->kernel,
	                                          r->initrd, r->cmdline, r->cpu_model, error);
	if (booted == NULL)
		return NULL;
	after = ac_domain_parse (booted, -1, error);
	if (after == NULL)
		return NULL;
	/* what the gate compares, read back from the domain as it will be defined */
	r->loader = g_strdup (after->loader);
	r->firmware = g_strdup (after->firmware);
	ac_localsev_prepare_record_set_disk (r, disk);

	prepared = ac_localsev_prepare_domain_xml (opts, r, booted, error);
	if (prepared == NULL || !snp_prepare_save (opts, dom, r, error))
		return NULL;
	g_debug ("domain '%s': prepared SEV-SNP launch %s (policy 0x%" G_GINT64_MODIFIER
	         "x, %u vCPUs %s, expected measurement %s)",
	         r->domain, r->session_id, r->snp_policy, r->vcpus, r->cpu_model,
	         r->expected_measurement);
	prepared->record = g_steal_pointer (&r);
	return g_steal_pointer (&prepared);
}

/* ------------------------------------------------------------------------------------------ */
/* the gatekeeper's comparison                                                                */

/**
 * ac_localsev_gate_compare_snp:
 *
 * The SEV-SNP launch inputs of @dom against @r: <launchSecurity type='sev-snp'> with kernel
 * hashes, the prepared policy, cbitpos and reducedPhysBits and nothing else (no ID block, ID
 * auth, host data, guest-visible workarounds, author key, VLEK-only); the kernel, initrd and
 * command line as prepared (no device tree); the firmware; the CPU model and the vCPU count
 * (both measured); then the disk, as for SEV.
 */
gboolean
ac_localsev_gate_compare_snp (const AcLocalsevRecord *r, const AcDomain *dom, GError **error)
{
	const gchar *name = r->domain;
	guint64 policy = 0;

	if (!ac_localsev_gate_compare_type (r, dom, "sev-snp", "unprotected", error))
		return FALSE;
	if (g_strcmp0 (dom->ls_kernel_hashes, "yes") != 0)
		return ac_localsev_gate_differs (error, name, "launchSecurity kernelHashes", "yes",
		                                 dom->ls_kernel_hashes);
	if (dom->ls_author_key != NULL && g_strcmp0 (dom->ls_author_key, "no") != 0)
		return ac_localsev_gate_differs (error, name, "launchSecurity authorKey", "no",
		                                 dom->ls_author_key);
	if (dom->ls_vcek != NULL && g_strcmp0 (dom->ls_vcek, "yes") != 0)
		return ac_localsev_gate_differs (error, name, "launchSecurity vcek", "yes",
		                                 dom->ls_vcek);
	if (dom->ls_other != NULL || dom->ls_dh_cert != NULL || dom->ls_session != NULL) {
		g_autofree gchar *what
		    = g_strdup_printf ("<%s>", dom->ls_other != NULL     ? dom->ls_other
		                               : dom->ls_dh_cert != NULL ? "dhCert"
		                                                         : "session");
		return ac_localsev_gate_differs (error, name, "launchSecurity's elements",
		                                 "cbitpos, reducedPhysBits and policy only", what);
	}
	if (dom->ls_policy == NULL || !ac_snp_policy_parse (dom->ls_policy, &policy, NULL)
	    || policy != r->snp_policy) {
		g_autofree gchar *want
		    = g_strdup_printf ("0x%08" G_GINT64_MODIFIER "x", r->snp_policy);
		return ac_localsev_gate_differs (error, name, "launchSecurity <policy>", want,
		                                 dom->ls_policy);
	}
	if (!ac_localsev_gate_compare_cbits (r, dom, error))
		return FALSE;
	if (g_strcmp0 (dom->os_kernel, r->kernel) != 0)
		return ac_localsev_gate_differs (error, name, "the <os><kernel>", r->kernel,
		                                 dom->os_kernel);
	if (g_strcmp0 (dom->os_initrd, r->initrd) != 0)
		return ac_localsev_gate_differs (error, name, "the <os><initrd>", r->initrd,
		                                 dom->os_initrd);
	if (g_strcmp0 (dom->os_cmdline, r->cmdline) != 0)
		return ac_localsev_gate_differs (error, name, "the kernel command line <cmdline>",
		                                 r->cmdline, dom->os_cmdline);
	if (dom->os_dtb != NULL)
		return ac_localsev_gate_differs (error, name, "the <os><dtb>", NULL, dom->os_dtb);
	if (!ac_localsev_gate_compare_firmware (r, dom, error))
		return FALSE;
	if (g_strcmp0 (dom->cpu_mode, "custom") != 0)
		return ac_localsev_gate_differs (error, name,
		                                 "<cpu mode> (the vCPU model is measured)",
		                                 "custom", dom->cpu_mode);
	if (g_strcmp0 (dom->cpu_model, r->cpu_model) != 0)
		return ac_localsev_gate_differs (error, name,
		                                 "<cpu><model> (the vCPU model is measured)",
		                                 r->cpu_model, dom->cpu_model);
	if (MAX (dom->vcpus, 1) != r->vcpus) {
		g_autofree gchar *want = g_strdup_printf ("%u", r->vcpus);
		g_autofree gchar *have = g_strdup_printf ("%u", MAX (dom->vcpus, 1));
		return ac_localsev_gate_differs (error, name, "<vcpu> (measured in the VMSAs)",
		                                 want, have);
	}
	return ac_localsev_gate_compare_disk (r, dom, error);
}
