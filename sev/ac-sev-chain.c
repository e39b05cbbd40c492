/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "ac-codec.h"
#include "ac-error.h"
#include "ac-file.h"
#include "ac-sev-builtin-private.h"
#include "ac-sev-chain.h"
#include "ac-sev-ossl-private.h"

/* ------------------------------------------------------------------------------------------ */
/* built-in roots                                                                             */

static const AcSevBuiltinRoot *
ac_sev_builtin_find (const gchar *generation, GError **error)
{
	for (guint i = 0; ac_sev_builtin_roots[i].generation != NULL; i++) {
		if (g_ascii_strcasecmp (ac_sev_builtin_roots[i].generation, generation) == 0)
			return &ac_sev_builtin_roots[i];
	}
	g_set_error (error,
		     AC_ERROR,
		     AC_ERROR_INVALID_INPUT,
		     "unknown SEV generation '%s', expected naples, rome, milan, genoa or turin",
		     generation);
	return NULL;
}

const gchar *const *
ac_sev_builtin_generations (void)
{
	static const gchar *const gens[] = { "naples", "rome", "milan", "genoa", "turin", NULL };
	return gens;
}

AcAmdCert *
ac_sev_builtin_get_ark (const gchar *generation, GError **error)
{
	const AcSevBuiltinRoot *r = ac_sev_builtin_find (generation, error);
	if (r == NULL)
		return NULL;
	return ac_amd_cert_parse (r->ark, r->ark_len, NULL, error);
}

AcAmdCert *
ac_sev_builtin_get_ask (const gchar *generation, GError **error)
{
	const AcSevBuiltinRoot *r = ac_sev_builtin_find (generation, error);
	if (r == NULL)
		return NULL;
	return ac_amd_cert_parse (r->ask, r->ask_len, NULL, error);
}

/* ------------------------------------------------------------------------------------------ */
/* trusted roots                                                                              */

typedef struct {
	gchar *name;
	AcAmdCert *ark;
	AcAmdCert *ask;
} AcSevRoot;

struct _AcSevRoots {
	gint refcount;
	GPtrArray *roots; /* of AcSevRoot */
};

static void
ac_sev_root_free (AcSevRoot *root)
{
	g_free (root->name);
	ac_amd_cert_unref (root->ark);
	ac_amd_cert_unref (root->ask);
	g_free (root);
}

AcSevRoots *
ac_sev_roots_new (void)
{
	AcSevRoots *self = g_new0 (AcSevRoots, 1);
	self->refcount = 1;
	self->roots = g_ptr_array_new_with_free_func ((GDestroyNotify)ac_sev_root_free);
	return self;
}

AcSevRoots *
ac_sev_roots_ref (AcSevRoots *self)
{
	g_atomic_int_inc (&self->refcount);
	return self;
}

void
ac_sev_roots_unref (AcSevRoots *self)
{
	if (self == NULL || !g_atomic_int_dec_and_test (&self->refcount))
		return;
	g_ptr_array_unref (self->roots);
	g_free (self);
}

static AcSevRoot *
ac_sev_roots_find (AcSevRoots *self, const gchar *name)
{
	for (guint i = 0; i < self->roots->len; i++) {
		AcSevRoot *r = g_ptr_array_index (self->roots, i);
		if (g_ascii_strcasecmp (r->name, name) == 0)
			return r;
	}
	return NULL;
}

/**
 * ac_sev_roots_add:
 *
 * Trusts @ark/@ask under @name. The ARK must be self-signed and the ASK signed by it.
 */
gboolean
ac_sev_roots_add (AcSevRoots *self,
		  const gchar *name,
		  AcAmdCert *ark,
		  AcAmdCert *ask,
		  GError **error)
{
	AcSevRoot *root;
	g_autoptr(GError) error_local = NULL;

	if (ac_sev_roots_find (self, name) != NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_EXISTS, "trusted root '%s' already added", name);
		return FALSE;
	}
	if (ac_amd_cert_get_usage (ark) != AC_SEV_USAGE_ARK ||
	    ac_amd_cert_get_usage (ask) != AC_SEV_USAGE_ASK) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "trusted root '%s': expected an ARK and an ASK, got an %s and an %s",
			     name,
			     ac_sev_usage_to_string (ac_amd_cert_get_usage (ark)),
			     ac_sev_usage_to_string (ac_amd_cert_get_usage (ask)));
		return FALSE;
	}
	if (!ac_amd_cert_verify (ark, ark, &error_local)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_UNTRUSTED,
			     "trusted root '%s': ARK self-signature: %s",
			     name,
			     error_local->message);
		return FALSE;
	}
	if (!ac_amd_cert_verify (ask, ark, &error_local)) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_UNTRUSTED,
			     "trusted root '%s': ASK ← ARK: %s",
			     name,
			     error_local->message);
		return FALSE;
	}
	root = g_new0 (AcSevRoot, 1);
	root->name = g_ascii_strdown (name, -1);
	root->ark = ac_amd_cert_ref (ark);
	root->ask = ac_amd_cert_ref (ask);
	g_ptr_array_add (self->roots, root);
	return TRUE;
}

gboolean
ac_sev_roots_add_builtin (AcSevRoots *self, const gchar *generation, GError **error)
{
	g_autoptr(AcAmdCert) ark = ac_sev_builtin_get_ark (generation, error);
	g_autoptr(AcAmdCert) ask = NULL;
	if (ark == NULL)
		return FALSE;
	ask = ac_sev_builtin_get_ask (generation, error);
	if (ask == NULL)
		return FALSE;
	return ac_sev_roots_add (self, generation, ark, ask, error);
}

/**
 * ac_sev_roots_new_builtin:
 *
 * The AMD roots of every generation (Naples … Turin), each verified on load.
 */
AcSevRoots *
ac_sev_roots_new_builtin (void)
{
	g_autoptr(AcSevRoots) self = ac_sev_roots_new ();
	const gchar *const *gens = ac_sev_builtin_generations ();
	for (guint i = 0; gens[i] != NULL; i++) {
		g_autoptr(GError) error = NULL;
		if (!ac_sev_roots_add_builtin (self, gens[i], &error))
			g_error ("built-in AMD root %s is broken: %s", gens[i], error->message);
	}
	return g_steal_pointer (&self);
}

guint
ac_sev_roots_get_size (AcSevRoots *self)
{
	return self->roots->len;
}

const gchar *
ac_sev_roots_get_name (AcSevRoots *self, guint idx)
{
	AcSevRoot *r;
	g_return_val_if_fail (idx < self->roots->len, NULL);
	r = g_ptr_array_index (self->roots, idx);
	return r->name;
}

AcAmdCert *
ac_sev_roots_get_ark (AcSevRoots *self, const gchar *name)
{
	AcSevRoot *r = ac_sev_roots_find (self, name);
	return r != NULL ? r->ark : NULL;
}

AcAmdCert *
ac_sev_roots_get_ask (AcSevRoots *self, const gchar *name)
{
	AcSevRoot *r = ac_sev_roots_find (self, name);
	return r != NULL ? r->ask : NULL;
}

gchar *
ac_sev_roots_to_string (AcSevRoots *self)
{
	g_autoptr(GString) s = g_string_new (NULL);
	for (guint i = 0; i < self->roots->len; i++) {
		AcSevRoot *r = g_ptr_array_index (self->roots, i);
		if (s->len > 0)
			g_string_append (s, ", ");
		g_string_append (s, r->name);
	}
	if (s->len == 0)
		g_string_append (s, "none");
	return g_string_free (g_steal_pointer (&s), FALSE);
}

/* ------------------------------------------------------------------------------------------ */
/* chain                                                                                      */

struct _AcSevChain {
	gint refcount;
	AcSevCert *pdh;
	AcSevCert *pek;
	AcSevCert *oca;
	AcSevCert *cek;
	AcAmdCert *ask;
	AcAmdCert *ark;
};

AcSevChain *
ac_sev_chain_new (AcSevCert *pdh,
		  AcSevCert *pek,
		  AcSevCert *oca,
		  AcSevCert *cek,
		  AcAmdCert *ask,
		  AcAmdCert *ark)
{
	AcSevChain *self = g_new0 (AcSevChain, 1);
	self->refcount = 1;
	self->pdh = ac_sev_cert_ref (pdh);
	self->pek = ac_sev_cert_ref (pek);
	self->oca = ac_sev_cert_ref (oca);
	self->cek = ac_sev_cert_ref (cek);
	self->ask = ask != NULL ? ac_amd_cert_ref (ask) : NULL;
	self->ark = ark != NULL ? ac_amd_cert_ref (ark) : NULL;
	return self;
}

AcSevChain *
ac_sev_chain_ref (AcSevChain *self)
{
	g_atomic_int_inc (&self->refcount);
	return self;
}

void
ac_sev_chain_unref (AcSevChain *self)
{
	if (self == NULL || !g_atomic_int_dec_and_test (&self->refcount))
		return;
	ac_sev_cert_unref (self->pdh);
	ac_sev_cert_unref (self->pek);
	ac_sev_cert_unref (self->oca);
	ac_sev_cert_unref (self->cek);
	if (self->ask != NULL)
		ac_amd_cert_unref (self->ask);
	if (self->ark != NULL)
		ac_amd_cert_unref (self->ark);
	g_free (self);
}

static AcSevCert *
ac_sev_chain_parse_one (const guint8 *data, guint32 usage, const gchar *what, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(AcSevCert) cert = ac_sev_cert_parse (data, AC_SEV_CERT_SIZE, &error_local);
	if (cert == NULL) {
		g_set_error (error, AC_ERROR, error_local->code, "%s: %s", what, error_local->message);
		return NULL;
	}
	if (!ac_sev_cert_require_usage (cert, usage, what, error))
		return NULL;
	return g_steal_pointer (&cert);
}

/**
 * ac_sev_chain_parse:
 *
 * Parses the `sevctl export` layout PDH‖PEK‖OCA‖CEK (8336 bytes) or the `export --full`
 * layout, which appends ASK‖ARK (832 bytes each for Naples, 1600 for later generations).
 */
AcSevChain *
ac_sev_chain_parse (const guint8 *data, gsize len, GError **error)
{
	g_autoptr(AcSevCert) pdh = NULL;
	g_autoptr(AcSevCert) pek = NULL;
	g_autoptr(AcSevCert) oca = NULL;
	g_autoptr(AcSevCert) cek = NULL;
	g_autoptr(AcAmdCert) ask = NULL;
	g_autoptr(AcAmdCert) ark = NULL;

	if (data == NULL || len < AC_SEV_CHAIN_EXPORT_SIZE) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "certificate chain has %" G_GSIZE_FORMAT
			     " bytes, expected %d (PDH‖PEK‖OCA‖CEK) or more (… ‖ASK‖ARK)",
			     data == NULL ? 0 : len,
			     AC_SEV_CHAIN_EXPORT_SIZE);
		return NULL;
	}
	pdh = ac_sev_chain_parse_one (data, AC_SEV_USAGE_PDH, "chain certificate 1 (PDH)", error);
	if (pdh == NULL)
		return NULL;
	pek = ac_sev_chain_parse_one (data + AC_SEV_CERT_SIZE,
				      AC_SEV_USAGE_PEK,
				      "chain certificate 2 (PEK)",
				      error);
	if (pek == NULL)
		return NULL;
	oca = ac_sev_chain_parse_one (data + 2 * AC_SEV_CERT_SIZE,
				      AC_SEV_USAGE_OCA,
				      "chain certificate 3 (OCA)",
				      error);
	if (oca == NULL)
		return NULL;
	cek = ac_sev_chain_parse_one (data + 3 * AC_SEV_CERT_SIZE,
				      AC_SEV_USAGE_CEK,
				      "chain certificate 4 (CEK)",
				      error);
	if (cek == NULL)
		return NULL;
	if (len > AC_SEV_CHAIN_EXPORT_SIZE) {
		const guint8 *p = data + AC_SEV_CHAIN_EXPORT_SIZE;
		gsize rest = len - AC_SEV_CHAIN_EXPORT_SIZE;
		gsize used = 0;
		g_autoptr(GError) error_local = NULL;

		ask = ac_amd_cert_parse (p, rest, &used, &error_local);
		if (ask == NULL) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "chain certificate 5 (ASK): %s",
				     error_local->message);
			return NULL;
		}
		if (ac_amd_cert_get_usage (ask) != AC_SEV_USAGE_ASK) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "chain certificate 5 has usage %s, expected ASK",
				     ac_sev_usage_to_string (ac_amd_cert_get_usage (ask)));
			return NULL;
		}
		ark = ac_amd_cert_parse (p + used, rest - used, NULL, &error_local);
		if (ark == NULL) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "chain certificate 6 (ARK): %s",
				     error_local->message);
			return NULL;
		}
		if (ac_amd_cert_get_usage (ark) != AC_SEV_USAGE_ARK) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "chain certificate 6 has usage %s, expected ARK",
				     ac_sev_usage_to_string (ac_amd_cert_get_usage (ark)));
			return NULL;
		}
	}
	return ac_sev_chain_new (pdh, pek, oca, cek, ask, ark);
}

AcSevChain *
ac_sev_chain_parse_file (const gchar *path, GError **error)
{
	g_autofree gchar *buf = NULL;
	gsize len = 0;
	g_autoptr(GError) error_local = NULL;
	AcSevChain *chain;

	if (!ac_sev_read_file (path, &buf, &len, error))
		return NULL;
	chain = ac_sev_chain_parse ((const guint8 *)buf, len, &error_local);
	if (chain == NULL) {
		g_set_error (error, AC_ERROR, error_local->code, "%s: %s", path, error_local->message);
		return NULL;
	}
	return chain;
}

/**
 * ac_sev_chain_parse_pdh_export:
 *
 * The PDH_CERT_EXPORT form (QEMU `query-sev-capabilities`, `virsh nodesevinfo`): the PDH and
 * PEK‖OCA‖CEK (6252 bytes) as two buffers.
 */
AcSevChain *
ac_sev_chain_parse_pdh_export (const guint8 *pdh,
			       gsize pdh_len,
			       const guint8 *certs,
			       gsize certs_len,
			       GError **error)
{
	g_autofree guint8 *buf = NULL;
	if (pdh == NULL || certs == NULL || pdh_len != AC_SEV_CERT_SIZE ||
	    certs_len != 3 * AC_SEV_CERT_SIZE) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "PDH export has a %" G_GSIZE_FORMAT "-byte PDH and a %" G_GSIZE_FORMAT
			     "-byte chain, expected %d and %d",
			     pdh_len,
			     certs_len,
			     AC_SEV_CERT_SIZE,
			     3 * AC_SEV_CERT_SIZE);
		return NULL;
	}
	buf = g_malloc (AC_SEV_CHAIN_EXPORT_SIZE);
	memcpy (buf, pdh, AC_SEV_CERT_SIZE);
	memcpy (buf + AC_SEV_CERT_SIZE, certs, 3 * AC_SEV_CERT_SIZE);
	return ac_sev_chain_parse (buf, AC_SEV_CHAIN_EXPORT_SIZE, error);
}

AcSevCert *
ac_sev_chain_get_pdh (AcSevChain *self)
{
	return self->pdh;
}

AcSevCert *
ac_sev_chain_get_pek (AcSevChain *self)
{
	return self->pek;
}

AcSevCert *
ac_sev_chain_get_oca (AcSevChain *self)
{
	return self->oca;
}

AcSevCert *
ac_sev_chain_get_cek (AcSevChain *self)
{
	return self->cek;
}

AcAmdCert *
ac_sev_chain_get_ask (AcSevChain *self)
{
	return self->ask;
}

AcAmdCert *
ac_sev_chain_get_ark (AcSevChain *self)
{
	return self->ark;
}

void
ac_sev_chain_set_cek (AcSevChain *self, AcSevCert *cek)
{
	ac_sev_cert_ref (cek);
	ac_sev_cert_unref (self->cek);
	self->cek = cek;
}

GBytes *
ac_sev_chain_to_bytes (AcSevChain *self, gboolean full)
{
	GByteArray *buf = g_byte_array_new ();
	g_byte_array_append (buf, ac_sev_cert_get_data (self->pdh), AC_SEV_CERT_SIZE);
	g_byte_array_append (buf, ac_sev_cert_get_data (self->pek), AC_SEV_CERT_SIZE);
	g_byte_array_append (buf, ac_sev_cert_get_data (self->oca), AC_SEV_CERT_SIZE);
	g_byte_array_append (buf, ac_sev_cert_get_data (self->cek), AC_SEV_CERT_SIZE);
	if (full && self->ask != NULL && self->ark != NULL) {
		gsize len = 0;
		const guint8 *p = ac_amd_cert_get_data (self->ask, &len);
		g_byte_array_append (buf, p, len);
		p = ac_amd_cert_get_data (self->ark, &len);
		g_byte_array_append (buf, p, len);
	}
	return g_byte_array_free_to_bytes (buf);
}

void
ac_sev_chain_verdict_free (AcSevChainVerdict *verdict)
{
	if (verdict == NULL)
		return;
	g_free (verdict->generation);
	g_free (verdict->ark_key_id);
	g_free (verdict->ask_key_id);
	g_free (verdict);
}

static gboolean
ac_sev_chain_link_error (GError **error, const gchar *link, GError *cause)
{
	g_set_error (error,
		     AC_ERROR,
		     cause->code == AC_ERROR_INTERNAL ? AC_ERROR_INTERNAL : AC_ERROR_UNTRUSTED,
		     "certificate chain link %s: %s",
		     link,
		     cause->message);
	return FALSE;
}

/* the trusted root whose ARK is the chain's ARK (restricted to @generation if set); the ASK to
 * use is the trusted one, or the chain's own when it differs but is signed by that ARK */
static const gchar *
ac_sev_chain_match_root (AcSevChain *self,
			 AcSevRoots *roots,
			 const gchar *generation,
			 AcAmdCert **ask_out,
			 GError **error)
{
	g_autofree gchar *ark_id = ac_amd_cert_get_key_id_hex (self->ark);
	g_autofree gchar *names = ac_sev_roots_to_string (roots);

	for (guint i = 0; i < ac_sev_roots_get_size (roots); i++) {
		const gchar *name = ac_sev_roots_get_name (roots, i);
		g_autoptr(GError) error_local = NULL;
		if (generation != NULL && g_ascii_strcasecmp (name, generation) != 0)
			continue;
		if (!ac_amd_cert_same_key (self->ark, ac_sev_roots_get_ark (roots, name)))
			continue;
		if (ac_amd_cert_same_key (self->ask, ac_sev_roots_get_ask (roots, name))) {
			*ask_out = ac_sev_roots_get_ask (roots, name);
			return name;
		}
		if (!ac_amd_cert_verify (self->ask, ac_sev_roots_get_ark (roots, name), &error_local)) {
			ac_sev_chain_link_error (error, "ASK ← ARK", error_local);
			return NULL;
		}
		*ask_out = self->ask;
		return name;
	}
	g_set_error (error,
		     AC_ERROR,
		     AC_ERROR_UNTRUSTED,
		     "certificate chain link ARK: the chain's ARK (key id %s) is not a trusted root "
		     "(trusted: %s%s%s)",
		     ark_id,
		     names,
		     generation != NULL ? "; generation required: " : "",
		     generation != NULL ? generation : "");
	return NULL;
}

/**
 * ac_sev_chain_verify:
 * @roots: the trusted roots; the chain must lead to one of them
 * @generation: (nullable): the root to use; %NULL tries each trusted ASK on the CEK in turn
 * @verdict: (out) (optional): the generation and the slot of every link
 *
 * Verifies ARK → ASK → CEK → PEK (both the OCA and the CEK signature) → PDH. When the chain
 * carries its own ASK/ARK (the `export --full` layout) they must be a trusted root's. Errors
 * are AC_ERROR_UNTRUSTED and name the failing link.
 */
gboolean
ac_sev_chain_verify (AcSevChain *self,
		     AcSevRoots *roots,
		     const gchar *generation,
		     AcSevChainVerdict **verdict,
		     GError **error)
{
	g_autoptr(AcSevChainVerdict) v = g_new0 (AcSevChainVerdict, 1);
	g_autoptr(GError) error_local = NULL;
	const gchar *root = NULL;
	AcAmdCert *ask = NULL;

	if (generation != NULL && ac_sev_roots_get_ark (roots, generation) == NULL) {
		g_autofree gchar *names = ac_sev_roots_to_string (roots);
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "generation '%s' is not among the trusted roots (%s)",
			     generation,
			     names);
		return FALSE;
	}
	if ((self->ark == NULL) != (self->ask == NULL)) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_INVALID_INPUT,
				     "certificate chain has an ASK without an ARK or vice versa");
		return FALSE;
	}

	/* ARK → ASK → CEK */
	if (self->ark != NULL) {
		root = ac_sev_chain_match_root (self, roots, generation, &ask, error);
		if (root == NULL)
			return FALSE;
		if (!ac_sev_cert_verify_by_amd (self->cek, ask, &v->cek_slot, &error_local))
			return ac_sev_chain_link_error (error, "CEK ← ASK", error_local);
	} else {
		g_autoptr(GString) tried = g_string_new (NULL);
		for (guint i = 0; i < ac_sev_roots_get_size (roots); i++) {
			const gchar *name = ac_sev_roots_get_name (roots, i);
			if (generation != NULL && g_ascii_strcasecmp (name, generation) != 0)
				continue;
			g_clear_error (&error_local);
			if (ac_sev_cert_verify_by_amd (self->cek,
						       ac_sev_roots_get_ask (roots, name),
						       &v->cek_slot,
						       &error_local)) {
				root = name;
				break;
			}
			g_string_append_printf (tried,
						"%s%s: %s",
						tried->len > 0 ? "; " : "",
						name,
						error_local->message);
		}
		if (root == NULL) {
			g_set_error (error,
				     AC_ERROR,
				     AC_ERROR_UNTRUSTED,
				     "certificate chain link CEK ← ASK: the CEK is not signed by "
				     "the ASK of any trusted root (%s)",
				     tried->len > 0 ? tried->str : "no trusted roots");
			return FALSE;
		}
	}
	v->generation = g_strdup (root);
	v->ark_key_id = ac_amd_cert_get_key_id_hex (ac_sev_roots_get_ark (roots, root));
	v->ask_key_id = ac_amd_cert_get_key_id_hex (ask != NULL ? ask : ac_sev_roots_get_ask (roots, root));

	/* OCA (self-signed), PEK by OCA and by CEK, PDH by PEK */
	if (!ac_sev_cert_verify (self->oca, self->oca, &v->oca_slot, &error_local))
		return ac_sev_chain_link_error (error, "OCA ← OCA (self-signature)", error_local);
	if (!ac_sev_cert_verify (self->pek, self->oca, &v->pek_oca_slot, &error_local))
		return ac_sev_chain_link_error (error, "PEK ← OCA", error_local);
	if (!ac_sev_cert_verify (self->pek, self->cek, &v->pek_cek_slot, &error_local))
		return ac_sev_chain_link_error (error, "PEK ← CEK", error_local);
	if (v->pek_oca_slot == v->pek_cek_slot) {
		g_set_error_literal (error,
				     AC_ERROR,
				     AC_ERROR_UNTRUSTED,
				     "certificate chain link PEK: the OCA and CEK signatures must "
				     "be in different slots");
		return FALSE;
	}
	if (!ac_sev_cert_verify (self->pdh, self->pek, &v->pdh_slot, &error_local))
		return ac_sev_chain_link_error (error, "PDH ← PEK", error_local);

	if (verdict != NULL)
		*verdict = g_steal_pointer (&v);
	return TRUE;
}

/* ------------------------------------------------------------------------------------------ */
/* KDS                                                                                        */

gchar *
ac_sev_kds_cek_url (const guint8 *chip_id, gsize chip_id_len)
{
	g_autofree gchar *hex = ac_codec_hex_encode (chip_id, chip_id_len);
	return g_strconcat (AC_SEV_KDS_URL "/cek/id/", hex, NULL);
}

/**
 * ac_sev_kds_get_cek:
 * @chip_id: the GET_ID value (64 bytes)
 * @cache_dir: (nullable): where downloaded CEKs are kept (`cek-<hex id>.cert`)
 * @fetch: (nullable): the HTTP GET; %NULL = cache only
 *
 * The ASK-signed CEK of a chip. The cache needs no protection: the result is a public
 * certificate that chain verification checks against the ASK anyway.
 */
AcSevCert *
ac_sev_kds_get_cek (const guint8 *chip_id,
		    gsize chip_id_len,
		    const gchar *cache_dir,
		    AcSevKdsFetchFunc fetch,
		    gpointer user_data,
		    GCancellable *cancellable,
		    GError **error)
{
	g_autofree gchar *url = NULL;
	g_autofree gchar *path = NULL;
	g_autoptr(GBytes) body = NULL;
	g_autoptr(AcSevCert) cek = NULL;
	g_autoptr(GError) error_local = NULL;
	const guint8 *data;
	gsize len = 0;

	if (chip_id == NULL || chip_id_len == 0 || chip_id_len > 64) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_INVALID_INPUT,
			     "chip id has %" G_GSIZE_FORMAT " bytes, expected 1 to 64",
			     chip_id_len);
		return NULL;
	}
	url = ac_sev_kds_cek_url (chip_id, chip_id_len);
	if (cache_dir != NULL) {
		g_autofree gchar *hex = g_path_get_basename (url);
		g_autofree gchar *name = g_strdup_printf ("cek-%s.cert", hex);
		g_autofree gchar *buf = NULL;
		path = g_build_filename (cache_dir, name, NULL);
		/* a regular file of one certificate's size: a FIFO, a device or anything larger
		 * in the cache is passed over (fetched again), never waited on */
		if (ac_file_read_bounded (path, AC_SEV_CERT_SIZE, &buf, &len, NULL)) {
			cek = ac_sev_cert_parse ((const guint8 *)buf, len, &error_local);
			if (cek != NULL && ac_sev_cert_get_usage (cek) == AC_SEV_USAGE_CEK)
				return g_steal_pointer (&cek);
			g_debug ("ignoring unusable cached CEK %s", path);
			g_clear_pointer (&cek, ac_sev_cert_unref);
			g_clear_error (&error_local);
		}
	}
	if (fetch == NULL) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_NOT_FOUND,
			     "no cached CEK for this chip and no KDS fetcher (%s)",
			     url);
		return NULL;
	}
	body = fetch (url, user_data, cancellable, error);
	if (body == NULL)
		return NULL;
	data = g_bytes_get_data (body, &len);
	cek = ac_sev_cert_parse (data, len, &error_local);
	if (cek == NULL) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REMOTE,
			     "AMD KDS answer for %s is not a CEK: %s",
			     url,
			     error_local->message);
		return NULL;
	}
	if (ac_sev_cert_get_usage (cek) != AC_SEV_USAGE_CEK) {
		g_set_error (error,
			     AC_ERROR,
			     AC_ERROR_REMOTE,
			     "AMD KDS answer for %s has key usage %s, expected CEK",
			     url,
			     ac_sev_usage_to_string (ac_sev_cert_get_usage (cek)));
		return NULL;
	}
	if (path != NULL) {
		if (g_mkdir_with_parents (cache_dir, 0755) != 0 ||
		    !ac_file_replace_contents (path,
					       ac_sev_cert_get_data (cek),
					       AC_SEV_CERT_SIZE,
					       TRUE,
					       0644,
					       &error_local)) {
			g_warning ("cannot cache the CEK in %s: %s",
				   cache_dir,
				   error_local != NULL ? error_local->message : g_strerror (errno));
		}
	}
	return g_steal_pointer (&cek);
}
