/*
 * Certificates and chains: every AMD root, the real Naples and Rome chains, the negative
 * cases of vectors/sev/real-chains/expected.json and malformed inputs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "ac-error.h"
#include "ac-sev-chain.h"
#include "ac-sev-ossl-private.h"
#include "test-sev-common.h"
#include "../test-util.h"

static JsonObject *
load_json (const gchar *rel, JsonParser **parser_out)
{
	g_autofree gchar *path = sev_test_path (rel);
	g_autoptr(GError) error = NULL;
	JsonParser *parser = json_parser_new ();
	g_assert_true (json_parser_load_from_file (parser, path, &error));
	*parser_out = parser;
	return json_node_get_object (json_parser_get_root (parser));
}

static void
test_builtin_roots (void)
{
	g_autoptr(JsonParser) parser = NULL;
	JsonObject *summary = load_json ("amd-ark-ask/summary.json", &parser);
	const gchar *const *gens = ac_sev_builtin_generations ();
	g_autoptr(AcSevRoots) roots = ac_sev_roots_new_builtin ();

	g_assert_cmpuint (ac_sev_roots_get_size (roots), ==, 5);
	for (guint i = 0; gens[i] != NULL; i++) {
		for (guint r = 0; r < 2; r++) {
			g_autoptr(GError) error = NULL;
			g_autofree gchar *key = g_strdup_printf ("%s_%s", gens[i], r ? "ask" : "ark");
			g_autofree gchar *file = g_strdup_printf ("amd-ark-ask/%s.cert", key);
			JsonObject *o = json_object_get_object_member (summary, key);
			g_autoptr(AcAmdCert) builtin =
			    r ? ac_sev_builtin_get_ask (gens[i], &error)
			      : ac_sev_builtin_get_ark (gens[i], &error);
			g_autoptr(GBytes) vec = sev_test_load (file);
			g_autoptr(AcAmdCert) parsed = NULL;
			g_autofree gchar *id = NULL;
			g_autofree gchar *fp = NULL;
			gsize len = 0;
			const guint8 *data;

			g_assert_no_error (error);
			g_assert_nonnull (builtin);
			/* the compiled-in bytes are the vector file */
			data = ac_amd_cert_get_data (builtin, &len);
			g_assert_cmpmem (data, len, g_bytes_get_data (vec, NULL), g_bytes_get_size (vec));
			parsed = ac_amd_cert_parse (g_bytes_get_data (vec, NULL),
						    g_bytes_get_size (vec),
						    NULL,
						    &error);
			g_assert_no_error (error);
			id = ac_amd_cert_get_key_id_hex (parsed);
			g_assert_cmpstr (id, ==, json_object_get_string_member (o, "key_id"));
			g_assert_cmpuint (ac_amd_cert_get_modulus_bits (parsed),
					  ==,
					  json_object_get_int_member (o, "modulus_bits"));
			fp = ac_amd_cert_fingerprint (parsed);
			g_assert_cmpstr (fp, ==, json_object_get_string_member (o, "body_digest"));
			g_assert_cmpuint (ac_amd_cert_get_usage (parsed), ==, r ? 0x13 : 0);
		}
	}
}

static void
test_cross_generation (void)
{
	/* an ASK never verifies with another generation's ARK */
	const gchar *const *gens = ac_sev_builtin_generations ();
	for (guint i = 0; gens[i] != NULL; i++) {
		for (guint j = 0; gens[j] != NULL; j++) {
			g_autoptr(GError) error = NULL;
			g_autoptr(AcAmdCert) ask = ac_sev_builtin_get_ask (gens[i], NULL);
			g_autoptr(AcAmdCert) ark = ac_sev_builtin_get_ark (gens[j], NULL);
			gboolean ok = ac_amd_cert_verify (ask, ark, &error);
			g_assert_cmpint (ok, ==, i == j);
			if (!ok)
				g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
		}
	}
}

static void
test_naples_ark_quirk (void)
{
	g_autoptr(GBytes) bad = sev_test_load ("amd-ark-ask/naples_ark.cert.bad");
	g_autoptr(GBytes) sig = sev_test_load ("amd-ark-ask/naples_ark.cert.sig");
	g_autoptr(GError) error = NULL;
	g_autoptr(AcAmdCert) cert = NULL;
	g_autoptr(AcAmdCert) fixed = NULL;
	g_autoptr(GByteArray) full = g_byte_array_new ();

	/* AMD's published file lacks the signature: refused, and the message says so */
	cert = ac_amd_cert_parse (g_bytes_get_data (bad, NULL), g_bytes_get_size (bad), NULL, &error);
	g_assert_null (cert);
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_assert_nonnull (strstr (error->message, "signature is missing"));
	g_clear_error (&error);

	g_byte_array_append (full, g_bytes_get_data (bad, NULL), g_bytes_get_size (bad));
	g_byte_array_append (full, g_bytes_get_data (sig, NULL), g_bytes_get_size (sig));
	fixed = ac_amd_cert_parse (full->data, full->len, NULL, &error);
	g_assert_no_error (error);
	g_assert_true (ac_amd_cert_verify (fixed, fixed, &error));
	g_assert_no_error (error);
}

static void
check_real_chain (const gchar *gen, gboolean full_layout, JsonObject *exp)
{
	g_autofree gchar *rel =
	    g_strdup_printf ("real-chains/%s/%s", gen, full_layout ? "chain_full.bin" : "chain_sev.bin");
	g_autoptr(GBytes) blob = sev_test_load (rel);
	g_autoptr(GError) error = NULL;
	g_autoptr(AcSevRoots) roots = ac_sev_roots_new_builtin ();
	g_autoptr(AcSevChain) chain = NULL;
	g_autoptr(AcSevChainVerdict) verdict = NULL;
	g_autoptr(GBytes) again = NULL;
	JsonObject *certs = json_object_get_object_member (exp, "certs");
	const gchar *names[] = { "pdh", "pek", "oca", "cek" };
	AcSevCert *list[4];

	chain = ac_sev_chain_parse (g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), &error);
	g_assert_no_error (error);
	g_assert_cmpint (ac_sev_chain_get_ark (chain) != NULL, ==, full_layout);
	g_assert_true (ac_sev_chain_verify (chain, roots, NULL, &verdict, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (verdict->generation, ==, gen);
	g_assert_cmpuint (verdict->cek_slot, ==, json_object_get_int_member (exp, "cek_by_ask_slot"));
	g_assert_cmpuint (verdict->oca_slot, ==, json_object_get_int_member (exp, "oca_self_slot"));
	g_assert_cmpuint (verdict->pek_oca_slot, ==, json_object_get_int_member (exp, "pek_by_oca_slot"));
	g_assert_cmpuint (verdict->pek_cek_slot, ==, json_object_get_int_member (exp, "pek_by_cek_slot"));
	g_assert_cmpuint (verdict->pdh_slot, ==, json_object_get_int_member (exp, "pdh_by_pek_slot"));
	g_assert_cmpstr (verdict->ark_key_id,
			 ==,
			 json_object_get_string_member (json_object_get_object_member (exp, "ark"),
							"key_id"));

	/* per-certificate fields */
	list[0] = ac_sev_chain_get_pdh (chain);
	list[1] = ac_sev_chain_get_pek (chain);
	list[2] = ac_sev_chain_get_oca (chain);
	list[3] = ac_sev_chain_get_cek (chain);
	for (guint i = 0; i < 4; i++) {
		JsonObject *c = json_object_get_object_member (certs, names[i]);
		g_autofree gchar *fp = ac_sev_cert_fingerprint (list[i]);
		g_autofree gchar *usage = g_strdup_printf ("0x%x", ac_sev_cert_get_usage (list[i]));
		g_autofree gchar *algo = g_strdup_printf ("0x%x", ac_sev_cert_get_algo (list[i]));
		g_assert_cmpstr (fp, ==, json_object_get_string_member (c, "body_sha256"));
		g_assert_cmpstr (usage, ==, json_object_get_string_member (c, "pubkey_usage"));
		g_assert_cmpstr (algo, ==, json_object_get_string_member (c, "pubkey_algo"));
		g_assert_cmpint (ac_sev_cert_get_api_major (list[i]),
				 ==,
				 json_object_get_int_member (c, "api_major"));
		g_assert_cmpint (ac_sev_cert_get_api_minor (list[i]),
				 ==,
				 json_object_get_int_member (c, "api_minor"));
	}

	/* serialization round-trips byte for byte */
	again = ac_sev_chain_to_bytes (chain, full_layout);
	g_assert_true (g_bytes_equal (again, blob));

	/* the given generation works; another one is refused at the CEK link */
	g_clear_pointer (&verdict, ac_sev_chain_verdict_free);
	g_assert_true (ac_sev_chain_verify (chain, roots, gen, &verdict, &error));
	g_assert_no_error (error);
	g_assert_false (ac_sev_chain_verify (chain,
					     roots,
					     g_str_equal (gen, "rome") ? "milan" : "rome",
					     NULL,
					     &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	g_assert_nonnull (strstr (error->message, full_layout ? "ARK" : "CEK ← ASK"));
}

static void
test_real_chains (void)
{
	g_autoptr(JsonParser) parser = NULL;
	JsonObject *exp = load_json ("real-chains/expected.json", &parser);
	JsonObject *chains = json_object_get_object_member (exp, "chains");
	check_real_chain ("naples", FALSE, json_object_get_object_member (chains, "naples"));
	check_real_chain ("naples", TRUE, json_object_get_object_member (chains, "naples"));
	check_real_chain ("rome", FALSE, json_object_get_object_member (chains, "rome"));
	check_real_chain ("rome", TRUE, json_object_get_object_member (chains, "rome"));
}

static AcSevChain *
load_chain_mutated (const gchar *gen, gsize offset, guint8 xor_value, gsize fill_from, gsize fill_to)
{
	g_autofree gchar *rel = g_strdup_printf ("real-chains/%s/chain_sev.bin", gen);
	g_autoptr(GBytes) blob = sev_test_load (rel);
	g_autofree guint8 *buf = g_memdup2 (g_bytes_get_data (blob, NULL), g_bytes_get_size (blob));
	g_autoptr(GError) error = NULL;
	AcSevChain *chain;
	buf[offset] ^= xor_value;
	for (gsize i = fill_from; i < fill_to; i++)
		buf[i] = 0xff;
	chain = ac_sev_chain_parse (buf, g_bytes_get_size (blob), &error);
	g_assert_no_error (error);
	return chain;
}

static void
expect_link_failure (AcSevChain *chain, const gchar *link)
{
	g_autoptr(AcSevRoots) roots = ac_sev_roots_new_builtin ();
	g_autoptr(GError) error = NULL;
	g_assert_false (ac_sev_chain_verify (chain, roots, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	if (strstr (error->message, link) == NULL)
		g_error ("expected failure at %s, got: %s", link, error->message);
}

static void
test_negative_cases (void)
{
	const gchar *gens[] = { "naples", "rome" };
	for (guint g = 0; g < G_N_ELEMENTS (gens); g++) {
		g_autoptr(AcSevChain) pek_body = NULL;
		g_autoptr(AcSevChain) pdh_sig = NULL;
		g_autoptr(AcSevChain) pdh_slot2 = NULL;
		g_autoptr(AcSevChain) cek_body = NULL;
		g_autoptr(AcSevChain) oca_body = NULL;
		g_autoptr(AcSevRoots) roots = ac_sev_roots_new_builtin ();
		g_autoptr(GError) error = NULL;
		g_autoptr(GError) error2 = NULL;

		/* PEK api_minor (0x05, signed) flipped: neither CEK nor OCA signature holds */
		pek_body = load_chain_mutated (gens[g], AC_SEV_CERT_SIZE + 0x05, 0x01, 0, 0);
		expect_link_failure (pek_body, "PEK ← OCA");
		g_assert_false (ac_sev_cert_verify (ac_sev_chain_get_pek (pek_body),
						    ac_sev_chain_get_cek (pek_body),
						    NULL,
						    &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
		g_assert_false (ac_sev_cert_verify (ac_sev_chain_get_pek (pek_body),
						    ac_sev_chain_get_oca (pek_body),
						    NULL,
						    &error2));
		g_assert_error (error2, AC_ERROR, AC_ERROR_UNTRUSTED);

		/* PDH sig1.r first byte flipped */
		pdh_sig = load_chain_mutated (gens[g], 0x41c, 0x01, 0, 0);
		expect_link_failure (pdh_sig, "PDH ← PEK");

		/* unused PDH slot 2 full of 0xFF: outside the signed body, still valid */
		pdh_slot2 = load_chain_mutated (gens[g], 0, 0, 0x61c, 0x824);
		g_assert_true (ac_sev_chain_verify (pdh_slot2, roots, NULL, NULL, NULL));

		/* CEK body altered: no trusted ASK signs it */
		cek_body = load_chain_mutated (gens[g], 3 * AC_SEV_CERT_SIZE + 0x05, 0x01, 0, 0);
		expect_link_failure (cek_body, "CEK ← ASK");

		/* OCA body altered */
		oca_body = load_chain_mutated (gens[g], 2 * AC_SEV_CERT_SIZE + 0x05, 0x01, 0, 0);
		expect_link_failure (oca_body, "OCA ← OCA");
	}
}

static void
test_naples_cek_with_rome_ask (void)
{
	g_autoptr(AcSevCert) cek = NULL;
	g_autoptr(AcAmdCert) rome_ask = ac_sev_builtin_get_ask ("rome", NULL);
	g_autoptr(AcAmdCert) naples_ask = ac_sev_builtin_get_ask ("naples", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = sev_test_path ("real-chains/naples/cek.cert");

	cek = ac_sev_cert_parse_file (path, &error);
	g_assert_no_error (error);
	g_assert_false (ac_sev_cert_verify_by_amd (cek, rome_ask, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	g_clear_error (&error);
	g_assert_true (ac_sev_cert_verify_by_amd (cek, naples_ask, NULL, &error));
	g_assert_no_error (error);
}

static void
test_untrusted_roots (void)
{
	g_autoptr(GBytes) blob = sev_test_load ("real-chains/rome/chain_full.bin");
	g_autoptr(AcSevChain) chain =
	    ac_sev_chain_parse (g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), NULL);
	g_autoptr(AcSevRoots) empty = ac_sev_roots_new ();
	g_autoptr(AcSevRoots) naples_only = ac_sev_roots_new ();
	g_autoptr(GError) error = NULL;

	g_assert_nonnull (chain);
	g_assert_false (ac_sev_chain_verify (chain, empty, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	g_clear_error (&error);
	g_assert_true (ac_sev_roots_add_builtin (naples_only, "naples", NULL));
	g_assert_false (ac_sev_chain_verify (chain, naples_only, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	g_assert_nonnull (strstr (error->message, "not a trusted root"));
	g_clear_error (&error);
	/* unknown generation name */
	g_assert_false (ac_sev_chain_verify (chain, naples_only, "zen9", NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	/* a root whose ASK is not signed by its ARK is refused */
	{
		g_autoptr(AcSevRoots) r = ac_sev_roots_new ();
		g_autoptr(AcAmdCert) ark = ac_sev_builtin_get_ark ("rome", NULL);
		g_autoptr(AcAmdCert) ask = ac_sev_builtin_get_ask ("milan", NULL);
		g_assert_false (ac_sev_roots_add (r, "mixed", ark, ask, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	}
}

/* a private key through PEM and back is the same key; what is not PEM decodes to nothing */
static void
test_private_key_pem (void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) key = ac_sev_ec_generate (&error);
	g_autoptr(EVP_PKEY) back = NULL;
	g_autoptr(EVP_PKEY) none = NULL;
	g_autoptr(AcSecret) pem = NULL;
	const gchar *not_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

	g_assert_no_error (error);
	pem = ac_sev_private_key_to_pem (key);
	g_assert_nonnull (pem);
	g_assert_true (g_str_has_prefix (pem->data, "-----BEGIN PRIVATE KEY-----\n"));
	back = ac_sev_private_key_from_pem (pem->data, pem->len);
	g_assert_nonnull (back);
	g_assert_cmpint (EVP_PKEY_eq (key, back), ==, 1);
	none = ac_sev_private_key_from_pem (not_pem, strlen (not_pem));
	g_assert_null (none);
	ERR_clear_error ();
}

static void
test_malformed (void)
{
	g_autoptr(GBytes) blob = sev_test_load ("real-chains/rome/pdh.cert");
	const guint8 *orig = g_bytes_get_data (blob, NULL);
	struct {
		gsize off;
		guint32 value;
		const gchar *needle;
	} cases[] = {
		{ 0x000, 2, "SEV certificate version is 2, expected 1" },
		{ 0x004, 0x01000000, "SEV certificate reserved bytes 0x06-0x07 are not zero" },
		{ 0x008, 0x1005, "usage" },
		{ 0x00c, 0x2, "algorithm" }, /* PDH must be ECDH */
		{ 0x010, 1, "curve" },
		{ 0x014 + 48, 1, "coordinate" },
		{ 0x0a4, 1, "after the public key" },
		{ 0x014, 0x12345678, "public key is invalid" }, /* off the curve */
	};
	g_autoptr(GError) error = NULL;

	g_assert_null (ac_sev_cert_parse (orig, 2083, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	g_assert_null (ac_sev_chain_parse (orig, 2084, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
	g_clear_error (&error);
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree guint8 *buf = g_memdup2 (orig, AC_SEV_CERT_SIZE);
		buf[cases[i].off] = cases[i].value & 0xff;
		buf[cases[i].off + 1] = (cases[i].value >> 8) & 0xff;
		buf[cases[i].off + 2] = (cases[i].value >> 16) & 0xff;
		buf[cases[i].off + 3] = (cases[i].value >> 24) & 0xff;
		g_assert_null (ac_sev_cert_parse (buf, AC_SEV_CERT_SIZE, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		if (strstr (error->message, cases[i].needle) == NULL)
			g_error ("case %u: '%s' lacks '%s'", i, error->message, cases[i].needle);
		g_clear_error (&error);
	}
	/* an ARK: the same version and reserved-bytes rules, named for AMD certificates */
	{
		g_autoptr(GBytes) ark = sev_test_load ("amd-ark-ask/rome_ark.cert");
		g_autofree guint8 *buf = g_memdup2 (g_bytes_get_data (ark, NULL),
						    g_bytes_get_size (ark));
		buf[0x00] = 2;
		g_assert_null (ac_amd_cert_parse (buf, g_bytes_get_size (ark), NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_cmpstr (error->message, ==, "AMD certificate version is 2, expected 1");
		g_clear_error (&error);
		buf[0x00] = 1;
		buf[0x37] = 1;
		g_assert_null (ac_amd_cert_parse (buf, g_bytes_get_size (ark), NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_cmpstr (error->message, ==,
				 "AMD certificate reserved bytes 0x28-0x37 are not zero");
		g_clear_error (&error);
	}
	/* chain with certificates in the wrong order */
	{
		g_autoptr(GBytes) c = sev_test_load ("real-chains/rome/chain_sev.bin");
		g_autofree guint8 *buf = g_memdup2 (g_bytes_get_data (c, NULL), g_bytes_get_size (c));
		memcpy (buf, (const guint8 *)g_bytes_get_data (c, NULL) + AC_SEV_CERT_SIZE, AC_SEV_CERT_SIZE);
		g_assert_null (ac_sev_chain_parse (buf, g_bytes_get_size (c), &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_assert_nonnull (strstr (error->message, "PDH"));
		g_clear_error (&error);
	}
	/* AMD cert: truncated, unequal sizes */
	{
		g_autoptr(GBytes) a = sev_test_load ("amd-ark-ask/rome_ark.cert");
		g_autofree guint8 *buf = g_memdup2 (g_bytes_get_data (a, NULL), 1600);
		g_assert_null (ac_amd_cert_parse (buf, 63, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
		buf[0x38] = 0x00; /* pub_exp_size 4096 → 0 */
		buf[0x39] = 0x08; /* 2048 */
		g_assert_null (ac_amd_cert_parse (buf, 1600, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT);
		g_clear_error (&error);
	}
}

/* a full chain whose ASK is not the trusted one: accepted only if the trusted ARK signed it */
static void
test_rotated_ask (void)
{
	g_autofree gchar *dir = sev_test_path ("synthetic-platform");
	g_autofree gchar *ark_p = g_build_filename (dir, "ark.cert", NULL);
	g_autofree gchar *ask_p = g_build_filename (dir, "ask.cert", NULL);
	g_autofree gchar *cek_p = g_build_filename (dir, "cek.cert", NULL);
	g_autofree gchar *chain_p = g_build_filename (dir, "chain_sev.bin", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(AcAmdCert) ark = ac_amd_cert_parse_file (ark_p, &error);
	g_autoptr(AcAmdCert) ask = ac_amd_cert_parse_file (ask_p, &error);
	g_autoptr(AcSevChain) base = ac_sev_chain_parse_file (chain_p, &error);
	g_autoptr(EVP_PKEY) ark_key = sev_test_load_key ("synthetic-platform/ark_key.pem");
	g_autoptr(EVP_PKEY) new_key = EVP_RSA_gen (4096);
	g_autoptr(AcSevRoots) roots = ac_sev_roots_new ();
	guint8 id[16] = { 0xaa, 0xbb };
	g_autoptr(AcAmdCert) ask2 = NULL;
	g_autoptr(AcAmdCert) ask3 = NULL;
	g_autoptr(AcSevCert) cek2 = ac_sev_cert_parse_file (cek_p, &error);
	g_autoptr(AcSevCert) cek3 = ac_sev_cert_parse_file (cek_p, &error);
	g_autoptr(AcSevChain) chain2 = NULL;
	g_autoptr(AcSevChain) chain3 = NULL;
	g_autoptr(AcSevChainVerdict) v = NULL;

	g_assert_no_error (error);
	g_assert_true (ac_sev_roots_add (roots, "synthetic", ark, ask, &error));
	/* ASK' signed by the trusted ARK, CEK re-signed by ASK' */
	ask2 = ac_amd_cert_new (AC_SEV_USAGE_ASK, id, ac_amd_cert_get_key_id (ark), new_key, &error);
	g_assert_no_error (error);
	g_assert_true (ac_amd_cert_sign (ask2, ark, ark_key, &error));
	g_assert_true (ac_sev_cert_sign_by_amd (cek2, 0, ask2, new_key, &error));
	chain2 = ac_sev_chain_new (ac_sev_chain_get_pdh (base), ac_sev_chain_get_pek (base),
				   ac_sev_chain_get_oca (base), cek2, ask2, ark);
	g_assert_true (ac_sev_chain_verify (chain2, roots, NULL, &v, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (v->ask_key_id, ==, "aabb0000000000000000000000000000");
	/* ASK'' claims the ARK as its signer but signs itself: refused at ASK ← ARK */
	ask3 = ac_amd_cert_new (AC_SEV_USAGE_ASK, id, ac_amd_cert_get_key_id (ark), new_key, &error);
	g_assert_true (ac_amd_cert_sign (ask3, ark, new_key, &error));
	g_assert_true (ac_sev_cert_sign_by_amd (cek3, 0, ask3, new_key, &error));
	chain3 = ac_sev_chain_new (ac_sev_chain_get_pdh (base), ac_sev_chain_get_pek (base),
				   ac_sev_chain_get_oca (base), cek3, ask3, ark);
	g_assert_false (ac_sev_chain_verify (chain3, roots, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	g_assert_nonnull (strstr (error->message, "ASK ← ARK"));
	g_clear_error (&error);
	/* and the re-signed CEK no longer verifies with the trusted ASK in the export layout */
	{
		g_autoptr(AcSevChain) bare = ac_sev_chain_new (ac_sev_chain_get_pdh (base), ac_sev_chain_get_pek (base),
							       ac_sev_chain_get_oca (base), cek2, NULL, NULL);
		g_assert_false (ac_sev_chain_verify (bare, roots, NULL, NULL, &error));
		g_assert_error (error, AC_ERROR, AC_ERROR_UNTRUSTED);
	}
}

static GBytes *
fake_fetch (const gchar *url, gpointer user_data, GCancellable *cancellable, GError **error)
{
	guint *calls = user_data;
	(*calls)++;
	g_assert_true (g_str_has_prefix (url, "https://kdsintf.amd.com/cek/id/0001"));
	return sev_test_load ("real-chains/rome/cek.cert");
}

static void
test_kds_cache (void)
{
	guint8 id[64];
	guint calls = 0;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp ("ac-sev-kds-XXXXXX", &error);
	g_autoptr(AcSevCert) c1 = NULL;
	g_autoptr(AcSevCert) c2 = NULL;
	g_autofree gchar *url = NULL;

	for (guint i = 0; i < 64; i++)
		id[i] = i;
	url = ac_sev_kds_cek_url (id, 64);
	g_assert_cmpuint (strlen (url), ==, strlen ("https://kdsintf.amd.com/cek/id/") + 128);
	c1 = ac_sev_kds_get_cek (id, 64, dir, fake_fetch, &calls, NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (calls, ==, 1);
	c2 = ac_sev_kds_get_cek (id, 64, dir, fake_fetch, &calls, NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (calls, ==, 1); /* served from the cache */
	g_assert_cmpmem (ac_sev_cert_get_data (c1), AC_SEV_CERT_SIZE, ac_sev_cert_get_data (c2),
			 AC_SEV_CERT_SIZE);
	{
		g_autofree gchar *hex = g_path_get_basename (url);
		g_autofree gchar *name = g_strdup_printf ("cek-%s.cert", hex);
		g_autofree gchar *cached = g_build_filename (dir, name, NULL);
		g_autofree gchar *big = g_malloc0 (AC_SEV_CERT_SIZE + 1);
		g_autoptr(AcSevCert) c3 = NULL;
		g_autoptr(AcSevCert) c4 = NULL;

		/* a cache entry larger than a certificate is passed over, fetched and replaced */
		g_assert_true (g_file_test (cached, G_FILE_TEST_IS_REGULAR));
		g_assert_true (g_file_set_contents (cached, big, AC_SEV_CERT_SIZE + 1, NULL));
		c3 = ac_sev_kds_get_cek (id, 64, dir, fake_fetch, &calls, NULL, &error);
		g_assert_no_error (error);
		g_assert_cmpuint (calls, ==, 2);
		g_assert_cmpmem (ac_sev_cert_get_data (c3), AC_SEV_CERT_SIZE,
				 ac_sev_cert_get_data (c1), AC_SEV_CERT_SIZE);
		g_clear_pointer (&c3, ac_sev_cert_unref);
		c3 = ac_sev_kds_get_cek (id, 64, dir, NULL, NULL, NULL, &error);
		g_assert_no_error (error);
		g_assert_nonnull (c3);

		/* a FIFO in its place is never waited on: fetched, and the FIFO left alone */
		g_assert_cmpint (g_unlink (cached), ==, 0);
		g_assert_cmpint (mkfifo (cached, 0600), ==, 0);
		g_test_expect_message ("AcSev", G_LOG_LEVEL_WARNING,
				       "cannot cache the CEK in *is not a regular file (it is a FIFO)*");
		c4 = ac_sev_kds_get_cek (id, 64, dir, fake_fetch, &calls, NULL, &error);
		g_test_assert_expected_messages ();
		g_assert_no_error (error);
		g_assert_cmpuint (calls, ==, 3);
		g_assert_true (g_file_test (cached, G_FILE_TEST_EXISTS)
			       && !g_file_test (cached, G_FILE_TEST_IS_REGULAR));
	}
	/* cache only, unknown chip */
	id[0] = 0xff;
	g_assert_null (ac_sev_kds_get_cek (id, 64, dir, NULL, NULL, NULL, &error));
	g_assert_error (error, AC_ERROR, AC_ERROR_NOT_FOUND);
	test_util_rm_rf (dir);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/sev/cert/builtin-roots", test_builtin_roots);
	g_test_add_func ("/sev/cert/cross-generation", test_cross_generation);
	g_test_add_func ("/sev/cert/naples-ark-quirk", test_naples_ark_quirk);
	g_test_add_func ("/sev/chain/real", test_real_chains);
	g_test_add_func ("/sev/chain/negative", test_negative_cases);
	g_test_add_func ("/sev/chain/naples-cek-rome-ask", test_naples_cek_with_rome_ask);
	g_test_add_func ("/sev/chain/untrusted-roots", test_untrusted_roots);
	g_test_add_func ("/sev/cert/malformed", test_malformed);
	g_test_add_func ("/sev/cert/private-key-pem", test_private_key_pem);
	g_test_add_func ("/sev/chain/rotated-ask", test_rotated_ask);
	g_test_add_func ("/sev/kds/cache", test_kds_cache);
	return g_test_run ();
}
