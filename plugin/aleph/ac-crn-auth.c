/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "ac-aleph-util.h"
#include "ac-codec.h"
#include "ac-crn-auth.h"
#include "ac-digest.h"
#include "ac-error.h"
#include "ac-secret.h"
#include "ac-time.h"

struct _AcCrnAuth {
	guint8 priv[32];
	guint8 x[32];
	guint8 y[32];
	gchar *domain;
	gchar *payload;
	gchar *header;
	GDateTime *expires;
};

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BN_CTX, BN_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIGNUM, BN_clear_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EC_GROUP, EC_GROUP_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EC_POINT, EC_POINT_clear_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY_CTX, EVP_PKEY_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_MD_CTX, EVP_MD_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ECDSA_SIG, ECDSA_SIG_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OSSL_PARAM_BLD, OSSL_PARAM_BLD_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (OSSL_PARAM, OSSL_PARAM_free)

static gboolean
p256_public_key (const guint8 priv[32], guint8 x[32], guint8 y[32], GError **error)
{
	g_autoptr(EC_GROUP) group = EC_GROUP_new_by_curve_name (NID_X9_62_prime256v1);
	g_autoptr(BN_CTX) ctx = BN_CTX_new ();
	g_autoptr(BIGNUM) d = BN_bin2bn (priv, 32, NULL);
	g_autoptr(BIGNUM) bx = BN_new ();
	g_autoptr(BIGNUM) by = BN_new ();
	g_autoptr(EC_POINT) q = NULL;

	if (group == NULL || ctx == NULL || d == NULL || bx == NULL || by == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "OpenSSL: out of memory");
		return FALSE;
	}
	if (BN_is_zero (d) || BN_cmp (d, EC_GROUP_get0_order (group)) >= 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "P-256 private key is zero or not below the group order");
		return FALSE;
	}
	q = EC_POINT_new (group);
	if (q == NULL || !EC_POINT_mul (group, q, d, NULL, NULL, ctx) ||
	    !EC_POINT_get_affine_coordinates (group, q, bx, by, ctx) ||
	    BN_bn2binpad (bx, x, 32) != 32 || BN_bn2binpad (by, y, 32) != 32) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
				     "OpenSSL could not derive the P-256 public key");
		return FALSE;
	}
	return TRUE;
}

static void
hmac_sha256 (const guint8 *key, gsize key_len, const guint8 *a, gsize a_len, const guint8 *b,
	     gsize b_len, const guint8 *c, gsize c_len, const guint8 *d, gsize d_len, guint8 out[32])
{
	/* HMAC(key, a||b||c||d) with a small stack buffer (inputs are ≤ 32+1+32+32 bytes) */
	guint8 buf[32 + 1 + 32 + 32];
	gsize n = 0;
	unsigned int out_len = 32;

	memcpy (buf + n, a, a_len);
	n += a_len;
	if (b_len) {
		memcpy (buf + n, b, b_len);
		n += b_len;
	}
	if (c_len) {
		memcpy (buf + n, c, c_len);
		n += c_len;
	}
	if (d_len) {
		memcpy (buf + n, d, d_len);
		n += d_len;
	}
	HMAC (EVP_sha256 (), key, (int)key_len, buf, n, out, &out_len);
	ac_secret_wipe (buf, sizeof (buf));
}

gboolean
ac_es256_sign_deterministic (const guint8 priv[32],
			     const guint8 *msg,
			     gsize msg_len,
			     guint8 sig[64],
			     GError **error)
{
	g_autoptr(EC_GROUP) group = EC_GROUP_new_by_curve_name (NID_X9_62_prime256v1);
	g_autoptr(BN_CTX) ctx = BN_CTX_new ();
	const BIGNUM *n;
	g_autoptr(BIGNUM) d = BN_bin2bn (priv, 32, NULL);
	g_autoptr(BIGNUM) z = NULL;
	g_autoptr(BIGNUM) k = BN_new ();
	g_autoptr(BIGNUM) r = BN_new ();
	g_autoptr(BIGNUM) s = BN_new ();
	g_autoptr(BIGNUM) kinv = BN_new ();
	g_autoptr(BIGNUM) tmp = BN_new ();
	g_autoptr(EC_POINT) kg = NULL;
	guint8 h1[32];
	guint8 h1_red[32];
	guint8 V[32], K[32];
	const guint8 zero = 0x00, one = 0x01;
	gboolean ok = FALSE;

	if (group == NULL || ctx == NULL || d == NULL || k == NULL || r == NULL || s == NULL ||
	    kinv == NULL || tmp == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "OpenSSL: out of memory");
		return FALSE;
	}
	n = EC_GROUP_get0_order (group);
	kg = EC_POINT_new (group);
	ac_sha256 (msg, msg_len, h1);
	z = BN_bin2bn (h1, 32, NULL);
	/* RFC 6979 §3.2: bits2octets(h1) = (h1 mod n) */
	BN_mod (tmp, z, n, ctx);
	BN_bn2binpad (tmp, h1_red, 32);
	memset (V, 0x01, 32);
	memset (K, 0x00, 32);
	hmac_sha256 (K, 32, V, 32, &zero, 1, priv, 32, h1_red, 32, K);
	hmac_sha256 (K, 32, V, 32, NULL, 0, NULL, 0, NULL, 0, V);
	hmac_sha256 (K, 32, V, 32, &one, 1, priv, 32, h1_red, 32, K);
	hmac_sha256 (K, 32, V, 32, NULL, 0, NULL, 0, NULL, 0, V);
	for (guint attempt = 0; attempt < 64 && !ok; attempt++) {
		hmac_sha256 (K, 32, V, 32, NULL, 0, NULL, 0, NULL, 0, V);
		BN_bin2bn (V, 32, k);
		if (!BN_is_zero (k) && BN_cmp (k, n) < 0 &&
		    EC_POINT_mul (group, kg, k, NULL, NULL, ctx) &&
		    EC_POINT_get_affine_coordinates (group, kg, tmp, NULL, ctx) &&
		    BN_nnmod (r, tmp, n, ctx) && !BN_is_zero (r) &&
		    BN_mod_inverse (kinv, k, n, ctx) != NULL &&
		    BN_mod_mul (tmp, r, d, n, ctx) && BN_mod_add (tmp, tmp, z, n, ctx) &&
		    BN_mod_mul (s, kinv, tmp, n, ctx) && !BN_is_zero (s)) {
			ok = TRUE;
			break;
		}
		hmac_sha256 (K, 32, V, 32, &zero, 1, NULL, 0, NULL, 0, K);
		hmac_sha256 (K, 32, V, 32, NULL, 0, NULL, 0, NULL, 0, V);
	}
	ac_secret_wipe (V, sizeof (V));
	ac_secret_wipe (K, sizeof (K));
	if (!ok) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL, "ES256 signing failed");
		return FALSE;
	}
	BN_bn2binpad (r, sig, 32);
	BN_bn2binpad (s, sig + 32, 32);
	return TRUE;
}

gboolean
ac_es256_verify (const guint8 x[32],
		 const guint8 y[32],
		 const guint8 *msg,
		 gsize msg_len,
		 const guint8 sig[64])
{
	g_autoptr(OSSL_PARAM_BLD) bld = OSSL_PARAM_BLD_new ();
	g_autoptr(OSSL_PARAM) params = NULL;
	g_autoptr(EVP_PKEY_CTX) pctx = NULL;
	g_autoptr(EVP_PKEY) pkey = NULL;
	g_autoptr(EVP_MD_CTX) md = NULL;
	g_autoptr(ECDSA_SIG) esig = ECDSA_SIG_new ();
	guint8 pub[65];
	unsigned char *der = NULL;
	int der_len;
	int rc;
	BIGNUM *r, *s;

	if (bld == NULL || esig == NULL)
		return FALSE;
	pub[0] = 0x04;
	memcpy (pub + 1, x, 32);
	memcpy (pub + 33, y, 32);
	if (!OSSL_PARAM_BLD_push_utf8_string (bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string (bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof (pub)))
		return FALSE;
	params = OSSL_PARAM_BLD_to_param (bld);
	pctx = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL);
	if (params == NULL || pctx == NULL || EVP_PKEY_fromdata_init (pctx) <= 0 ||
	    EVP_PKEY_fromdata (pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		return FALSE; /* not a point on the curve */
	r = BN_bin2bn (sig, 32, NULL);
	s = BN_bin2bn (sig + 32, 32, NULL);
	if (r == NULL || s == NULL || !ECDSA_SIG_set0 (esig, r, s)) {
		BN_free (r);
		BN_free (s);
		return FALSE;
	}
	der_len = i2d_ECDSA_SIG (esig, &der);
	if (der_len <= 0)
		return FALSE;
	md = EVP_MD_CTX_new ();
	rc = md != NULL && EVP_DigestVerifyInit (md, NULL, EVP_sha256 (), NULL, pkey) == 1 &&
	     EVP_DigestVerify (md, der, (size_t)der_len, msg, msg_len) == 1;
	OPENSSL_free (der);
	return rc;
}

gchar *
ac_crn_domain_from_url (const gchar *url, GError **error)
{
	g_autoptr(GUri) uri = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *full = NULL;
	const gchar *host;

	/* sanitize_url: https:// when no scheme */
	full = strstr (url, "://") != NULL ? g_strdup (url) : g_strconcat ("https://", url, NULL);
	uri = g_uri_parse (full, G_URI_FLAGS_NONE, &error_local);
	if (uri == NULL || g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0') {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "CRN URL '%s' has no host name: %s", url,
			     error_local != NULL ? error_local->message : "empty host");
		return NULL;
	}
	host = g_uri_get_host (uri);
	return g_ascii_strdown (host, -1);
}

AcCrnAuth *
ac_crn_auth_new (AcEthAccount *account,
		 const gchar *domain,
		 GDateTime *expires,
		 const guint8 *p256_key,
		 GError **error)
{
	g_autoptr(AcCrnAuth) self = g_new0 (AcCrnAuth, 1);
	g_autofree gchar *x64 = NULL;
	g_autofree gchar *y64 = NULL;
	g_autofree gchar *exp = NULL;
	g_autofree gchar *payload_hex = NULL;
	g_autofree gchar *signature = NULL;
	GString *p;
	GString *h;

	if (domain == NULL || domain[0] == '\0') {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				     "CRN domain is empty");
		return NULL;
	}
	if (p256_key != NULL) {
		memcpy (self->priv, p256_key, 32);
	} else {
		g_autoptr(EC_GROUP) group = EC_GROUP_new_by_curve_name (NID_X9_62_prime256v1);
		g_autoptr(BIGNUM) d = BN_secure_new ();
		if (group == NULL || d == NULL ||
		    !BN_priv_rand_range (d, EC_GROUP_get0_order (group)) || BN_is_zero (d) ||
		    BN_bn2binpad (d, self->priv, 32) != 32) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INTERNAL,
					     "OpenSSL could not generate a P-256 key");
			return NULL;
		}
	}
	if (!p256_public_key (self->priv, self->x, self->y, error))
		return NULL;
	self->domain = g_strdup (domain);
	self->expires = g_date_time_to_utc (expires);
	x64 = ac_codec_base64url_encode (self->x, 32);
	y64 = ac_codec_base64url_encode (self->y, 32);
	exp = ac_time_format_utc_usec (expires);

	/* Python SDK key order and json.dumps default separators */
	p = g_string_new ("{\"pubkey\": {\"crv\": \"P-256\", \"kty\": \"EC\", \"x\": ");
	ac_json_append_python_string (p, x64);
	g_string_append (p, ", \"y\": ");
	ac_json_append_python_string (p, y64);
	g_string_append (p, "}, \"alg\": \"ECDSA\", \"domain\": ");
	ac_json_append_python_string (p, domain);
	g_string_append (p, ", \"address\": ");
	ac_json_append_python_string (p, ac_eth_account_get_address (account));
	g_string_append (p, ", \"expires\": ");
	ac_json_append_python_string (p, exp);
	g_string_append (p, ", \"chain\": \"ETH\"}");
	self->payload = g_string_free (p, FALSE);

	signature = ac_eth_account_sign_personal_hex (account, (const guint8 *)self->payload,
						      strlen (self->payload), error);
	if (signature == NULL)
		return NULL;
	payload_hex = ac_codec_hex_encode ((const guint8 *)self->payload, strlen (self->payload));
	h = g_string_new ("{\"sender\": ");
	ac_json_append_python_string (h, ac_eth_account_get_address (account));
	g_string_append_printf (h, ", \"payload\": \"%s\", \"signature\": \"%s\", \"content\": "
				   "{\"domain\": ",
				payload_hex, signature);
	ac_json_append_python_string (h, domain);
	g_string_append (h, "}}");
	self->header = g_string_free (h, FALSE);
	return g_steal_pointer (&self);
}

void
ac_crn_auth_free (AcCrnAuth *self)
{
	if (self == NULL)
		return;
	ac_secret_wipe (self->priv, sizeof (self->priv));
	g_free (self->domain);
	g_free (self->payload);
	g_free (self->header);
	if (self->expires != NULL)
		g_date_time_unref (self->expires);
	g_free (self);
}

const gchar *
ac_crn_auth_get_pubkey_payload (AcCrnAuth *self)
{
	return self->payload;
}

const gchar *
ac_crn_auth_get_pubkey_header (AcCrnAuth *self)
{
	return self->header;
}

const gchar *
ac_crn_auth_get_domain (AcCrnAuth *self)
{
	return self->domain;
}

gboolean
ac_crn_auth_is_expired (AcCrnAuth *self, GDateTime *now, gint64 margin_seconds)
{
	return g_date_time_difference (self->expires, now) <= margin_seconds * G_TIME_SPAN_SECOND;
}

gchar *
ac_crn_auth_sign_operation (AcCrnAuth *self,
			    const gchar *method,
			    const gchar *path,
			    GDateTime *now,
			    GError **error)
{
	g_autofree gchar *t = ac_time_format_utc_usec (now);
	g_autofree gchar *payload_hex = NULL;
	g_autofree gchar *sig_hex = NULL;
	guint8 sig[64];
	GString *p;
	g_autofree gchar *payload = NULL;

	if (g_strcmp0 (method, "GET") != 0 && g_strcmp0 (method, "POST") != 0 &&
	    g_strcmp0 (method, "DELETE") != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "CRN operation method '%s' is not GET, POST or DELETE", method);
		return NULL;
	}
	if (path == NULL || path[0] != '/' || strchr (path, '?') != NULL) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			     "CRN operation path '%s' must start with / and carry no query",
			     path != NULL ? path : "(null)");
		return NULL;
	}
	p = g_string_new ("{\"time\": ");
	ac_json_append_python_string (p, t);
	g_string_append (p, ", \"method\": ");
	ac_json_append_python_string (p, method);
	g_string_append (p, ", \"path\": ");
	ac_json_append_python_string (p, path);
	g_string_append (p, ", \"domain\": ");
	ac_json_append_python_string (p, self->domain);
	g_string_append (p, "}");
	payload = g_string_free (p, FALSE);
	if (!ac_es256_sign_deterministic (self->priv, (const guint8 *)payload, strlen (payload),
					  sig, error))
		return NULL;
	payload_hex = ac_codec_hex_encode ((const guint8 *)payload, strlen (payload));
	sig_hex = ac_codec_hex_encode (sig, sizeof (sig));
	return g_strdup_printf ("{\"payload\": \"%s\", \"signature\": \"%s\"}", payload_hex,
				sig_hex);
}

/* ---- server side ---- */

static gboolean
auth_fail (GError **error, guint *http_status, guint status, const gchar *msg)
{
	if (http_status != NULL)
		*http_status = status;
	g_set_error_literal (error, AC_ERROR, AC_ERROR_REFUSED, msg);
	return FALSE;
}

static const gchar *
obj_string (JsonObject *o, const gchar *name)
{
	JsonNode *n = json_object_get_member (o, name);
	if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string (n);
}

static JsonObject *
parse_hex_json (const gchar *hex, JsonNode **holder)
{
	g_autoptr(GByteArray) bytes = NULL;
	if (hex == NULL ||
	    (bytes = ac_codec_hex_decode ("payload", hex, AC_CODEC_HEX_ALLOW_0X, NULL)) == NULL)
		return NULL;
	*holder = ac_json_parse_untrusted ("payload", (const gchar *)bytes->data, bytes->len, NULL);
	if (*holder == NULL || !JSON_NODE_HOLDS_OBJECT (*holder))
		return NULL;
	return json_node_get_object (*holder);
}

static gboolean
b64url_decode32 (const gchar *s, guint8 out[32])
{
	g_autofree guint8 *bin = NULL;
	gsize len = 0;

	/* 43 characters, no padding (the JWK form); the caller answers 400 without the reason */
	bin = ac_codec_base64url_decode ("jwk coordinate", s, 32, 32, AC_ERROR_INVALID_INPUT, &len,
					 NULL);
	if (bin == NULL)
		return FALSE;
	memcpy (out, bin, 32);
	return TRUE;
}

static GDateTime *
parse_time (const gchar *s)
{
	if (s == NULL || strlen (s) > 64)
		return NULL;
	/* fromisoformat after replacing Z: a timezone is required */
	return g_date_time_new_from_iso8601 (s, NULL);
}

gboolean
ac_crn_auth_verify_request (const gchar *pubkey_header,
			    const gchar *operation_header,
			    const gchar *domain,
			    const gchar *method,
			    const gchar *path,
			    GDateTime *now,
			    gchar **sender_out,
			    guint *http_status,
			    GError **error)
{
	g_autoptr(JsonNode) pk_node = NULL;
	g_autoptr(JsonNode) pk_payload_node = NULL;
	g_autoptr(JsonNode) op_node = NULL;
	g_autoptr(JsonNode) op_payload_node = NULL;
	g_autoptr(GDateTime) expires = NULL;
	g_autoptr(GDateTime) op_time = NULL;
	g_autoptr(GByteArray) pk_payload_bytes = NULL;
	g_autoptr(GByteArray) op_payload_bytes = NULL;
	g_autoptr(GByteArray) op_sig = NULL;
	g_autofree gchar *recovered = NULL;
	JsonObject *pk, *pk_payload, *op, *op_payload, *jwk;
	JsonNode *jwk_node;
	const gchar *address, *chain, *sig_hex, *s;
	guint8 x[32], y[32];

	if (pubkey_header == NULL)
		return auth_fail (error, http_status, 400, "Missing X-SignedPubKey header");
	pk_node = ac_json_parse_untrusted ("X-SignedPubKey", pubkey_header, strlen (pubkey_header), NULL);
	if (pk_node == NULL || !JSON_NODE_HOLDS_OBJECT (pk_node))
		return auth_fail (error, http_status, 400, "Invalid X-SignedPubKey format");
	pk = json_node_get_object (pk_node);
	sig_hex = obj_string (pk, "signature");
	s = obj_string (pk, "payload");
	if (sig_hex == NULL || s == NULL ||
	    (pk_payload_bytes = ac_codec_hex_decode ("payload", s, AC_CODEC_HEX_ALLOW_0X, NULL)) ==
		NULL)
		return auth_fail (error, http_status, 400, "Invalid X-SignedPubKey data");
	pk_payload = parse_hex_json (s, &pk_payload_node);
	if (pk_payload == NULL)
		return auth_fail (error, http_status, 400, "Invalid X-SignedPubKey data");
	jwk_node = json_object_get_member (pk_payload, "pubkey");
	address = obj_string (pk_payload, "address");
	chain = obj_string (pk_payload, "chain");
	if (chain == NULL && json_object_has_member (pk_payload, "chain"))
		return auth_fail (error, http_status, 400, "Invalid X-SignedPubKey data");
	expires = parse_time (obj_string (pk_payload, "expires"));
	if (jwk_node == NULL || !JSON_NODE_HOLDS_OBJECT (jwk_node) || address == NULL ||
	    expires == NULL)
		return auth_fail (error, http_status, 400, "Invalid X-SignedPubKey data");
	jwk = json_node_get_object (jwk_node);
	if (g_date_time_compare (expires, now) <= 0)
		return auth_fail (error, http_status, 401, "Token expired");
	if (chain != NULL && g_strcmp0 (chain, "ETH") != 0)
		return auth_fail (error, http_status, 400, "Invalid X-SignedPubKey data");
	if (!ac_eth_recover_personal (pk_payload_bytes->data, pk_payload_bytes->len, sig_hex,
				      &recovered, NULL) ||
	    !ac_eth_address_equal (recovered, address))
		return auth_fail (error, http_status, 401, "Invalid signature");

	if (operation_header == NULL)
		return auth_fail (error, http_status, 400, "Missing X-SignedOperation header");
	op_node = ac_json_parse_untrusted ("X-SignedOperation", operation_header,
					   strlen (operation_header), NULL);
	if (op_node == NULL || !JSON_NODE_HOLDS_OBJECT (op_node))
		return auth_fail (error, http_status, 400, "Invalid X-SignedOperation format");
	op = json_node_get_object (op_node);
	s = obj_string (op, "payload");
	if (s == NULL ||
	    (op_payload_bytes = ac_codec_hex_decode ("payload", s, AC_CODEC_HEX_ALLOW_0X, NULL)) ==
		NULL ||
	    (op_sig = ac_codec_hex_decode ("signature", obj_string (op, "signature"),
					   AC_CODEC_HEX_ALLOW_0X, NULL)) == NULL)
		return auth_fail (error, http_status, 400, "Invalid X-SignedOperation fields");
	op_payload = parse_hex_json (s, &op_payload_node);
	if (op_payload == NULL)
		return auth_fail (error, http_status, 400, "Invalid X-SignedOperation fields");
	op_time = parse_time (obj_string (op_payload, "time"));
	s = obj_string (op_payload, "method");
	if (op_time == NULL || s == NULL ||
	    (g_strcmp0 (s, "POST") != 0 && g_strcmp0 (s, "GET") != 0 && g_strcmp0 (s, "DELETE") != 0) ||
	    obj_string (op_payload, "path") == NULL || obj_string (op_payload, "domain") == NULL ||
	    ABS (g_date_time_difference (op_time, now)) >
		AC_CRN_AUTH_MAX_SKEW_SECONDS * G_TIME_SPAN_SECOND)
		return auth_fail (error, http_status, 400, "Invalid X-SignedOperation fields");
	if (g_strcmp0 (obj_string (op_payload, "domain"), domain) != 0) {
		g_autofree gchar *m = g_strdup_printf ("Invalid domain: Signed: '%s' != Request: '%s'",
						       obj_string (op_payload, "domain"), domain);
		return auth_fail (error, http_status, 401, m);
	}
	if (g_strcmp0 (obj_string (op_payload, "path"), path) != 0) {
		g_autofree gchar *m = g_strdup_printf ("Invalid path. Signed: '%s' != Request: '%s'",
						       obj_string (op_payload, "path"), path);
		return auth_fail (error, http_status, 401, m);
	}
	if (g_strcmp0 (obj_string (op_payload, "method"), method) != 0) {
		g_autofree gchar *m = g_strdup_printf ("Invalid method. Signed: '%s' != Request: '%s'",
						       obj_string (op_payload, "method"), method);
		return auth_fail (error, http_status, 401, m);
	}
	if (g_strcmp0 (obj_string (jwk, "kty"), "EC") != 0 ||
	    g_strcmp0 (obj_string (jwk, "crv"), "P-256") != 0 ||
	    !b64url_decode32 (obj_string (jwk, "x"), x) || !b64url_decode32 (obj_string (jwk, "y"), y) ||
	    op_sig->len != 64 ||
	    !ac_es256_verify (x, y, op_payload_bytes->data, op_payload_bytes->len, op_sig->data))
		return auth_fail (error, http_status, 401, "Signature could not verified");
	if (sender_out != NULL)
		*sender_out = g_strdup (address);
	if (http_status != NULL)
		*http_status = 200;
	return TRUE;
}
