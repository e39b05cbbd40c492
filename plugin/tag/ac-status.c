/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "ac-status.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "ac-domain.h"
#include "ac-error.h"
#include "ac-tag.h"
#include "ac-time.h"

/* One table drives formatting and parsing: element, attribute, field offset. An element with
 * attr NULL takes the field as its text. The root element is "" . */
typedef struct {
	const gchar *elem;
	const gchar *attr;
	gsize offset;
} AcStatusField;

#define F(e, a, m) { e, a, G_STRUCT_OFFSET (AcStatus, m) }
static const AcStatusField status_fields[] = {
	F ("", "state", state),
	F ("", "step", step),
	F ("", "updated", updated),
	F ("", "since", since),
	F ("", "tag", tag),
	F ("image", "path", image_path),
	F ("image", "sha256", image_sha256),
	F ("image", "cid", image_cid),
	F ("image", "luksUuid", image_luks_uuid),
	F ("aleph", "store", store_hash),
	F ("aleph", "instance", instance_hash),
	F ("aleph", "crn", crn),
	F ("aleph", "crnUrl", crn_url),
	F ("aleph", "ipv6", ipv6),
	F ("attestation", "time", attest_time),
	F ("attestation", "verdict", attest_verdict),
	F ("attestation", "measurement", attest_measurement),
	F ("attestation", "generation", attest_generation),
	F ("attestation", "tee", attest_tee),
	F ("error", "code", error_code),
	F ("error", "step", error_step),
	F ("error", NULL, error_message),
};
#undef F

static const gchar *child_elems[] = { "image", "aleph", "attestation", "error" };

static gchar **
field_ptr (const AcStatus *status, const AcStatusField *f)
{
	return (gchar **)G_STRUCT_MEMBER_P ((gpointer)status, f->offset);
}

AcStatus *
ac_status_new (void)
{
	return g_new0 (AcStatus, 1);
}

void
ac_status_free (AcStatus *status)
{
	if (status == NULL)
		return;
	for (guint i = 0; i < G_N_ELEMENTS (status_fields); i++)
		g_free (*field_ptr (status, &status_fields[i]));
	g_free (status);
}

/**
 * ac_status_new_keeping_results:
 *
 * Returns: a status with the results @current recorded (nullable) and nothing else.
 */
AcStatus *
ac_status_new_keeping_results (const AcStatus *current)
{
	AcStatus *st = ac_status_new ();

	if (current == NULL)
		return st;
	st->image_path = g_strdup (current->image_path);
	st->image_sha256 = g_strdup (current->image_sha256);
	st->image_cid = g_strdup (current->image_cid);
	st->image_luks_uuid = g_strdup (current->image_luks_uuid);
	st->store_hash = g_strdup (current->store_hash);
	st->instance_hash = g_strdup (current->instance_hash);
	st->crn = g_strdup (current->crn);
	st->crn_url = g_strdup (current->crn_url);
	/* not the IPv6: an address of the instance while it runs, which only its flow knows */
	st->attest_time = g_strdup (current->attest_time);
	st->attest_verdict = g_strdup (current->attest_verdict);
	st->attest_measurement = g_strdup (current->attest_measurement);
	st->attest_generation = g_strdup (current->attest_generation);
	st->attest_tee = g_strdup (current->attest_tee);
	st->updated = g_strdup (current->updated);
	return st;
}

/**
 * ac_status_touch:
 *
 * Sets the `updated` time to now.
 */
void
ac_status_touch (AcStatus *status)
{
	g_free (status->updated);
	status->updated = ac_time_now_utc ();
}

void
ac_status_set_error (AcStatus *status, const gchar *step, const GError *error)
{
	g_free (status->error_code);
	g_free (status->error_step);
	g_free (status->error_message);
	status->error_code = NULL;
	status->error_step = NULL;
	status->error_message = NULL;
	if (error == NULL)
		return;
	status->error_code = g_strdup (error->domain == AC_ERROR
					       ? ac_error_code_to_string (error->code)
					       : "internal");
	status->error_step = g_strdup (step);
	status->error_message = g_strdup (error->message);
}

gchar *
ac_status_format (const AcStatus *status)
{
	GString *str = g_string_new ("<" AC_STATUS_PREFIX ":status xmlns:" AC_STATUS_PREFIX "=\"" AC_STATUS_NS "\"");
	gboolean any_child = FALSE;

	for (guint i = 0; i < G_N_ELEMENTS (status_fields); i++) {
		const AcStatusField *f = &status_fields[i];
		const gchar *v = *field_ptr (status, f);
		if (f->elem[0] != '\0' || v == NULL)
			continue;
		g_autofree gchar *e = g_markup_escape_text (v, -1);
		g_string_append_printf (str, " %s=\"%s\"", f->attr, e);
	}
	g_string_append_printf (str, " progress=\"%u\"", MIN (status->progress, 100));
	if (status->total > 0)
		g_string_append_printf (str, " done=\"%" G_GUINT64_FORMAT "\" total=\"%" G_GUINT64_FORMAT "\"",
					MIN (status->done, status->total), status->total);
	g_string_append_c (str, '>');
	for (guint c = 0; c < G_N_ELEMENTS (child_elems); c++) {
		gboolean present = FALSE;
		const gchar *text = NULL;
		for (guint i = 0; i < G_N_ELEMENTS (status_fields); i++) {
			const AcStatusField *f = &status_fields[i];
			if (g_strcmp0 (f->elem, child_elems[c]) == 0 && *field_ptr (status, f) != NULL)
				present = TRUE;
		}
		if (!present)
			continue;
		any_child = TRUE;
		g_string_append_printf (str, "\n  <" AC_STATUS_PREFIX ":%s", child_elems[c]);
		for (guint i = 0; i < G_N_ELEMENTS (status_fields); i++) {
			const AcStatusField *f = &status_fields[i];
			const gchar *v = *field_ptr (status, f);
			if (g_strcmp0 (f->elem, child_elems[c]) != 0 || v == NULL)
				continue;
			if (f->attr == NULL) {
				text = v;
				continue;
			}
			g_autofree gchar *e = g_markup_escape_text (v, -1);
			g_string_append_printf (str, " %s=\"%s\"", f->attr, e);
		}
		if (text != NULL) {
			g_autofree gchar *e = g_markup_escape_text (text, -1);
			g_string_append_printf (str, ">%s</" AC_STATUS_PREFIX ":%s>", e, child_elems[c]);
		} else {
			g_string_append (str, "/>");
		}
	}
	g_string_append (str, any_child ? "\n</" AC_STATUS_PREFIX ":status>\n" : "</" AC_STATUS_PREFIX ":status>\n");
	return g_string_free (str, FALSE);
}

static void
read_fields (AcStatus *status, xmlNode *node, const gchar *elem)
{
	for (guint i = 0; i < G_N_ELEMENTS (status_fields); i++) {
		const AcStatusField *f = &status_fields[i];
		xmlChar *v;
		if (g_strcmp0 (f->elem, elem) != 0)
			continue;
		v = f->attr != NULL ? xmlGetNoNsProp (node, (const xmlChar *)f->attr)
				    : xmlNodeGetContent (node);
		if (v != NULL) {
			gchar **p = field_ptr (status, f);
			g_free (*p);
			*p = g_strdup ((const gchar *)v);
			xmlFree (v);
		}
	}
}

/**
 * ac_status_parse:
 * @xml: the status element alone, or a whole domain XML containing it
 *
 * Returns: the status, %NULL with %AC_ERROR_NOT_FOUND when a domain has none.
 */
AcStatus *
ac_status_parse (const gchar *xml, gssize len, GError **error)
{
	g_autoptr(AcStatus) status = ac_status_new ();
	xmlDocPtr doc;
	xmlNode *root;
	xmlNode *elem = NULL;

	if (len < 0)
		len = (gssize)strlen (xml);
	doc = xmlReadMemory (xml, (int)len, "status.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "malformed status XML");
		return NULL;
	}
	root = xmlDocGetRootElement (doc);
	if (root != NULL && g_strcmp0 ((const gchar *)root->name, "domain") == 0) {
		for (xmlNode *c = root->children; c != NULL; c = c->next) {
			if (c->type != XML_ELEMENT_NODE || g_strcmp0 ((const gchar *)c->name, "metadata") != 0)
				continue;
			for (xmlNode *m = c->children; m != NULL; m = m->next) {
				if (m->type == XML_ELEMENT_NODE && m->ns != NULL &&
				    g_strcmp0 ((const gchar *)m->ns->href, AC_STATUS_NS) == 0)
					elem = m;
			}
		}
	} else if (root != NULL && root->ns != NULL &&
		   g_strcmp0 ((const gchar *)root->ns->href, AC_STATUS_NS) == 0) {
		elem = root;
	}
	if (elem == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_NOT_FOUND,
				     "no status element (namespace " AC_STATUS_NS ")");
		xmlFreeDoc (doc);
		return NULL;
	}
	read_fields (status, elem, "");
	{
		xmlChar *p = xmlGetNoNsProp (elem, (const xmlChar *)"progress");
		guint64 v = 0;
		if (p != NULL && g_ascii_string_to_unsigned ((const gchar *)p, 10, 0, 100, &v, NULL))
			status->progress = (guint)v;
		xmlFree (p);
	}
	{
		xmlChar *d = xmlGetNoNsProp (elem, (const xmlChar *)"done");
		xmlChar *t = xmlGetNoNsProp (elem, (const xmlChar *)"total");
		guint64 dv = 0, tv = 0;
		if (d != NULL && t != NULL &&
		    g_ascii_string_to_unsigned ((const gchar *)t, 10, 1, G_MAXUINT64, &tv, NULL) &&
		    g_ascii_string_to_unsigned ((const gchar *)d, 10, 0, tv, &dv, NULL)) {
			status->done = dv;
			status->total = tv;
		}
		xmlFree (d);
		xmlFree (t);
	}
	for (xmlNode *c = elem->children; c != NULL; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			read_fields (status, c, (const gchar *)c->name);
	}
	xmlFreeDoc (doc);
	return g_steal_pointer (&status);
}

/**
 * ac_status_equal_ignoring_time:
 *
 * Whether writing @b over @a would change anything but the `updated` time: the service
 * writes only real changes, so it does not wake itself up with its own metadata events.
 */
gboolean
ac_status_equal_ignoring_time (const AcStatus *a, const AcStatus *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a->progress != b->progress || a->done != b->done || a->total != b->total)
		return FALSE;
	for (guint i = 0; i < G_N_ELEMENTS (status_fields); i++) {
		const AcStatusField *f = &status_fields[i];
		if (g_strcmp0 (f->attr, "updated") == 0)
			continue;
		if (g_strcmp0 (*field_ptr (a, f), *field_ptr (b, f)) != 0)
			return FALSE;
	}
	return TRUE;
}

/**
 * ac_status_tag_fingerprint:
 * @domain_xml: a domain's XML
 *
 * What identifies the domain's tag as the service sees it: the SHA-256 (16 hex digits) of its
 * canonical form (ac_tag_format()), or of the element as written when it does not parse. The
 * status records the fingerprint of the tag it is about, so a status left from an earlier
 * tag is told from a current one.
 *
 * Returns: the fingerprint, %NULL when the domain has no tag.
 */
gchar *
ac_status_tag_fingerprint (const gchar *domain_xml)
{
	g_autoptr(AcDomain) domain = NULL;
	g_autofree gchar *sum = NULL;

	if (domain_xml == NULL || !ac_tag_xml_has_tag (domain_xml, strlen (domain_xml)))
		return NULL;
	domain = ac_domain_parse (domain_xml, -1, NULL);
	if (domain != NULL && domain->tag_xml != NULL)
		return ac_domain_get_tag_fingerprint (domain);
	/* unreadable, or the namespace elsewhere than in <metadata>: the whole domain */
	sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, domain_xml, -1);
	return g_strndup (sum, 16);
}

/**
 * ac_status_is_work_in_progress:
 *
 * Whether the state is one virt-alephd is working on (building, publishing, attesting, or
 * queued: waiting for one of its slots): its `updated` time is then refreshed at least every
 * AC_STATUS_HEARTBEAT_S seconds.
 */
gboolean
ac_status_is_work_in_progress (const AcStatus *status)
{
	const gchar *busy[] = { "queued", "building", "publishing", "attesting", NULL };
	return status != NULL && status->state != NULL && g_strv_contains (busy, status->state);
}

/**
 * ac_status_age_s:
 *
 * Seconds from @rfc3339 to @now (negative when it lies in the future), or -1 when it is not a
 * time (nullable).
 */
gint64
ac_status_age_s (const gchar *rfc3339, GDateTime *now)
{
	g_autoptr(GDateTime) t = NULL;
	if (rfc3339 == NULL)
		return -1;
	t = g_date_time_new_from_iso8601 (rfc3339, NULL);
	if (t == NULL)
		return -1;
	return g_date_time_difference (now, t) / G_USEC_PER_SEC;
}
