/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A small table-driven validator: each object is a list of fields in pydantic dump order.
 */
#include "config.h"

#include <string.h>

#include "ac-aleph-schema.h"
#include "ac-aleph-util.h"
#include "ac-error.h"
#include "ac-json.h"

typedef enum {
	F_BOOL,
	F_INT,
	F_FLOAT,
	F_STRING,
	F_ENUM,
	F_ITEM_HASH,
	F_ADDRESS,
	F_CHAIN,
	F_OBJECT,
	F_ARRAY,
	F_STR_MAP,
	F_ANY_OBJECT,
	F_VOLUME,
} AcFieldKind;

typedef struct _AcSchema AcSchema;

typedef struct {
	const gchar *name;
	AcFieldKind kind;
	gboolean required;
	const gchar *def; /* JSON literal dumped when absent, NULL = omitted */
	gint64 min;
	gint64 max; /* int range; string length; array/map entries (0 = unlimited) */
	const gchar *const *values; /* F_ENUM */
	const AcSchema *sub;        /* F_OBJECT, or element of F_ARRAY when elem == F_OBJECT */
	AcFieldKind elem;           /* F_ARRAY element kind */
	gint64 elem_max;            /* F_ARRAY: string element length; F_STR_MAP: value length */
} AcField;

struct _AcSchema {
	const gchar *name;
	const AcField *fields;
	gboolean ignore_extra; /* extra="ignore" on the server; we still refuse unknown keys */
};

#define END                                                                                        \
	{                                                                                          \
		NULL, 0, FALSE, NULL, 0, 0, NULL, NULL, 0, 0                                       \
	}

static const gchar *const hypervisors[] = { "qemu", "firecracker", NULL };
static const gchar *const persistences[] = { "host", "store", NULL };
static const gchar *const payment_types[] = { "hold", "superfluid", "credit", NULL };
static const gchar *const store_payment_types[] = { "hold", "credit", NULL };
static const gchar *const store_item_types[] = { "storage", "ipfs", NULL };
static const gchar *const protocols[] = { "tcp", "udp", NULL };
static const gchar *const architectures[] = { "x86_64", "arm64", NULL };
static const gchar *const gpu_classes[] = { "0300", "0302", NULL };

static const gchar *const tee_modes[] = { "sev", "sev_snp", NULL };
static const gchar *const measurement_platforms[] = { "sev_snp", NULL };

/* measurements[].registers: the launch digest, 96 lowercase hex (checked in the rules) */
static const AcField registers_fields[] = {
	{ "launch", F_STRING, TRUE, NULL, 0, 96, NULL, NULL, 0, 0 },
	END,
};
static const AcSchema registers_schema = { "registers", registers_fields, FALSE };

static const AcField measurement_fields[] = {
	{ "platform", F_ENUM, TRUE, NULL, 0, 0, measurement_platforms, NULL, 0, 0 },
	{ "registers", F_OBJECT, TRUE, NULL, 0, 0, NULL, &registers_schema, 0, 0 },
	{ "vcpu_type", F_STRING, FALSE, NULL, 0, 64, NULL, NULL, 0, 0 },
	END,
};
static const AcSchema measurement_schema = { "measurements[]", measurement_fields, FALSE };

/* AC_ALEPH_MAX_MEASUREMENTS: aleph-message's MAX_MEASUREMENTS */
static const AcField trusted_execution_fields[] = {
	{ "firmware", F_ITEM_HASH, FALSE, NULL, 0, 0, NULL, NULL, 0, 0 },
	{ "policy", F_INT, FALSE, "1", 0, G_MAXUINT32, NULL, NULL, 0, 0 },
	{ "mode", F_ENUM, FALSE, NULL, 0, 0, tee_modes, NULL, 0, 0 },
	{ "runtime", F_ITEM_HASH, FALSE, NULL, 0, 0, NULL, NULL, 0, 0 },
	{ "measurements", F_ARRAY, FALSE, NULL, 0, 16, NULL, &measurement_schema, F_OBJECT, 0 },
	{ "attestation_port", F_INT, FALSE, NULL, 1, 65535, NULL, NULL, 0, 0 },
	END,
};
static const AcSchema trusted_execution_schema
    = { "trusted_execution", trusted_execution_fields, FALSE };

static const AcField environment_fields[] = {
	{ "internet", F_BOOL, FALSE, "false", 0, 0, NULL, NULL, 0, 0 },
	{ "aleph_api", F_BOOL, FALSE, "false", 0, 0, NULL, NULL, 0, 0 },
	{ "hypervisor", F_ENUM, FALSE, NULL, 0, 0, hypervisors, NULL, 0, 0 },
	{ "trusted_execution", F_OBJECT, FALSE, NULL, 0, 0, NULL, &trusted_execution_schema, 0, 0 },
	{ "reproducible", F_BOOL, FALSE, "false", 0, 0, NULL, NULL, 0, 0 },
	{ "shared_cache", F_BOOL, FALSE, "false", 0, 0, NULL, NULL, 0, 0 },
	END,
};
static const AcSchema environment_schema = { "environment", environment_fields, FALSE };

static const AcField port_fields[] = {
	{ "protocol", F_ENUM, FALSE, "\"tcp\"", 0, 0, protocols, NULL, 0, 0 },
	{ "port", F_INT, TRUE, NULL, 1, 65535, NULL, NULL, 0, 0 },
	END,
};
static const AcSchema port_schema = { "published_ports[]", port_fields, FALSE };

static const AcField resources_fields[] = {
	{ "vcpus", F_INT, FALSE, "1", 1, 256, NULL, NULL, 0, 0 },
	{ "memory", F_INT, FALSE, "128", 1, 1048576, NULL, NULL, 0, 0 },
	{ "seconds", F_INT, FALSE, "1", 1, 315360000, NULL, NULL, 0, 0 },
	{ "published_ports", F_ARRAY, FALSE, NULL, 0, 0, NULL, &port_schema, F_OBJECT, 0 },
	END,
};
static const AcSchema resources_schema = { "resources", resources_fields, FALSE };

static const AcField payment_fields[] = {
	{ "chain", F_CHAIN, FALSE, NULL, 0, 0, NULL, NULL, 0, 0 },
	{ "receiver", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "type", F_ENUM, TRUE, NULL, 0, 0, payment_types, NULL, 0, 0 },
	END,
};
static const AcSchema payment_schema = { "payment", payment_fields, FALSE };

static const AcField cpu_fields[] = {
	{ "architecture", F_ENUM, FALSE, NULL, 0, 0, architectures, NULL, 0, 0 },
	{ "vendor", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "features", F_ARRAY, FALSE, NULL, 0, 256, NULL, NULL, F_STRING, 256 },
	END,
};
static const AcSchema cpu_schema = { "cpu", cpu_fields, FALSE };

static const AcField node_fields[] = {
	{ "owner", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "address_regex", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "node_hash", F_ITEM_HASH, FALSE, NULL, 0, 0, NULL, NULL, 0, 0 },
	{ "terms_and_conditions", F_ITEM_HASH, FALSE, NULL, 0, 0, NULL, NULL, 0, 0 },
	END,
};
static const AcSchema node_schema = { "node", node_fields, FALSE };

static const AcField gpu_fields[] = {
	{ "vendor", F_STRING, TRUE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "device_name", F_STRING, TRUE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "device_class", F_ENUM, TRUE, NULL, 0, 0, gpu_classes, NULL, 0, 0 },
	{ "device_id", F_STRING, TRUE, NULL, 0, 256, NULL, NULL, 0, 0 },
	END,
};
static const AcSchema gpu_schema = { "gpu[]", gpu_fields, FALSE };

static const AcField requirements_fields[] = {
	{ "cpu", F_OBJECT, FALSE, NULL, 0, 0, NULL, &cpu_schema, 0, 0 },
	{ "node", F_OBJECT, FALSE, NULL, 0, 0, NULL, &node_schema, 0, 0 },
	{ "gpu", F_ARRAY, FALSE, NULL, 0, 256, NULL, &gpu_schema, F_OBJECT, 0 },
	END,
};
static const AcSchema requirements_schema = { "requirements", requirements_fields, FALSE };

static const AcField parent_fields[] = {
	{ "ref", F_ITEM_HASH, TRUE, NULL, 0, 0, NULL, NULL, 0, 0 },
	{ "use_latest", F_BOOL, FALSE, "true", 0, 0, NULL, NULL, 0, 0 },
	END,
};
static const AcSchema parent_schema = { "parent", parent_fields, FALSE };

static const AcField rootfs_fields[] = {
	{ "parent", F_OBJECT, TRUE, NULL, 0, 0, NULL, &parent_schema, 0, 0 },
	{ "persistence", F_ENUM, TRUE, NULL, 0, 0, persistences, NULL, 0, 0 },
	{ "size_mib", F_INT, TRUE, NULL, 1, 1953125, NULL, NULL, 0, 0 },
	{ "forgotten_by", F_ARRAY, FALSE, NULL, 0, 0, NULL, NULL, F_ITEM_HASH, 0 },
	END,
};
static const AcSchema rootfs_schema = { "rootfs", rootfs_fields, FALSE };

static const AcField immutable_volume_fields[] = {
	{ "comment", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "mount", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "ref", F_ITEM_HASH, TRUE, NULL, 0, 0, NULL, NULL, 0, 0 },
	{ "use_latest", F_BOOL, FALSE, "true", 0, 0, NULL, NULL, 0, 0 },
	END,
};
static const AcSchema immutable_volume_schema = { "volumes[]", immutable_volume_fields, FALSE };

static const AcField ephemeral_volume_fields[] = {
	{ "comment", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "mount", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "ephemeral", F_BOOL, FALSE, "true", 0, 0, NULL, NULL, 0, 0 },
	{ "size_mib", F_INT, TRUE, NULL, 1, 1000, NULL, NULL, 0, 0 },
	END,
};
static const AcSchema ephemeral_volume_schema = { "volumes[]", ephemeral_volume_fields, FALSE };

static const AcField persistent_volume_fields[] = {
	{ "comment", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "mount", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "parent", F_OBJECT, FALSE, NULL, 0, 0, NULL, &parent_schema, 0, 0 },
	{ "persistence", F_ENUM, FALSE, NULL, 0, 0, persistences, NULL, 0, 0 },
	{ "name", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "size_mib", F_INT, TRUE, NULL, 1, 1953125, NULL, NULL, 0, 0 },
	END,
};
static const AcSchema persistent_volume_schema = { "volumes[]", persistent_volume_fields, FALSE };

static const AcField instance_fields[] = {
	{ "address", F_ADDRESS, TRUE, NULL, 0, 0, NULL, NULL, 0, 0 },
	{ "time", F_FLOAT, TRUE, NULL, 0, 9223372036LL, NULL, NULL, 0, 0 },
	{ "allow_amend", F_BOOL, FALSE, "false", 0, 0, NULL, NULL, 0, 0 },
	{ "metadata", F_ANY_OBJECT, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "authorized_keys", F_ARRAY, FALSE, NULL, 0, 256, NULL, NULL, F_STRING, 8192 },
	{ "variables", F_STR_MAP, FALSE, NULL, 128, 256, NULL, NULL, 0, 4096 },
	{ "environment", F_OBJECT, TRUE, NULL, 0, 0, NULL, &environment_schema, 0, 0 },
	{ "resources", F_OBJECT, TRUE, NULL, 0, 0, NULL, &resources_schema, 0, 0 },
	{ "payment", F_OBJECT, FALSE, NULL, 0, 0, NULL, &payment_schema, 0, 0 },
	{ "requirements", F_OBJECT, FALSE, NULL, 0, 0, NULL, &requirements_schema, 0, 0 },
	{ "volumes", F_ARRAY, FALSE, "[]", 0, 256, NULL, NULL, F_VOLUME, 0 },
	{ "replaces", F_STRING, FALSE, NULL, 0, 128, NULL, NULL, 0, 0 },
	{ "rootfs", F_OBJECT, TRUE, NULL, 0, 0, NULL, &rootfs_schema, 0, 0 },
	END,
};
static const AcSchema instance_schema = { "INSTANCE content", instance_fields, FALSE };

static const AcField store_payment_fields[] = {
	{ "chain", F_CHAIN, FALSE, NULL, 0, 0, NULL, NULL, 0, 0 },
	{ "receiver", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "type", F_ENUM, TRUE, NULL, 0, 0, store_payment_types, NULL, 0, 0 },
	END,
};
static const AcSchema store_payment_schema = { "payment", store_payment_fields, FALSE };

static const AcField store_fields[] = {
	{ "address", F_ADDRESS, TRUE, NULL, 0, 0, NULL, NULL, 0, 0 },
	{ "time", F_FLOAT, TRUE, NULL, 0, 9223372036LL, NULL, NULL, 0, 0 },
	{ "item_type", F_ENUM, TRUE, NULL, 0, 0, store_item_types, NULL, 0, 0 },
	{ "item_hash", F_ITEM_HASH, TRUE, NULL, 0, 0, NULL, NULL, 0, 0 },
	{ "size", F_INT, FALSE, NULL, 0, G_MAXINT64, NULL, NULL, 0, 0 },
	{ "content_type", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "ref", F_STRING, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "metadata", F_ANY_OBJECT, FALSE, NULL, 0, 256, NULL, NULL, 0, 0 },
	{ "payment", F_OBJECT, FALSE, "{\"chain\":\"ETH\",\"type\":\"hold\"}", 0, 0, NULL,
	  &store_payment_schema, 0, 0 },
	END,
};
static const AcSchema store_schema = { "STORE content", store_fields, TRUE };

static const AcField forget_fields[] = {
	{ "address", F_ADDRESS, TRUE, NULL, 0, 0, NULL, NULL, 0, 0 },
	{ "time", F_FLOAT, TRUE, NULL, 0, 9223372036LL, NULL, NULL, 0, 0 },
	{ "hashes", F_ARRAY, TRUE, NULL, 0, 0, NULL, NULL, F_ITEM_HASH, 0 },
	{ "aggregates", F_ARRAY, FALSE, "[]", 0, 0, NULL, NULL, F_ITEM_HASH, 0 },
	{ "reason", F_STRING, FALSE, NULL, 0, 0, NULL, NULL, 0, 0 },
	END,
};
static const AcSchema forget_schema = { "FORGET content", forget_fields, FALSE };

static JsonNode *
normalize_object (const AcSchema *schema, JsonNode *node, const gchar *path, GError **error);

/* ac_json_type_name()'s, but for pydantic's name of a number with a fraction */
static const gchar *
node_type_name (JsonNode *node)
{
	if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_DOUBLE)
		return "a float";
	return ac_json_type_name (node);
}

static gboolean
check_value_type (JsonNode *node,
                  GType type,
                  const gchar *path,
                  const gchar *expected,
                  GError **error)
{
	if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type)
		return TRUE;
	g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT, "%s: got %s, expected %s", path,
	             node_type_name (node), expected);
	return FALSE;
}

static JsonNode *
normalize_value (const AcField *f,
                 AcFieldKind kind,
                 JsonNode *node,
                 const gchar *path,
                 GError **error);

static JsonNode *
normalize_volume (JsonNode *node, const gchar *path, GError **error)
{
	JsonObject *obj;

	if (!JSON_NODE_HOLDS_OBJECT (node)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: got %s, expected an object", path, node_type_name (node));
		return NULL;
	}
	obj = json_node_get_object (node);
	if (json_object_has_member (obj, "ephemeral"))
		return normalize_object (&ephemeral_volume_schema, node, path, error);
	if (json_object_has_member (obj, "ref"))
		return normalize_object (&immutable_volume_schema, node, path, error);
	return normalize_object (&persistent_volume_schema, node, path, error);
}

static JsonNode *
normalize_int (const AcField *f, JsonNode *node, const gchar *path, GError **error)
{
	gint64 v;
	if (!check_value_type (node, G_TYPE_INT64, path, "an integer", error))
		return NULL;
	v = json_node_get_int (node);
	if (v < f->min || v > f->max) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %" G_GINT64_FORMAT " is out of range, expected %" G_GINT64_FORMAT
		             "..%" G_GINT64_FORMAT,
		             path, v, f->min, f->max);
		return NULL;
	}
	return json_node_copy (node);
}

static JsonNode *
normalize_float (const AcField *f, JsonNode *node, const gchar *path, GError **error)
{
	gdouble v;
	if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64) {
		v = (gdouble)json_node_get_int (node);
	} else {
		if (!check_value_type (node, G_TYPE_DOUBLE, path, "a number", error))
			return NULL;
		v = json_node_get_double (node);
	}
	if (!(v >= (gdouble)f->min && v <= (gdouble)f->max)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %g is out of range, expected %" G_GINT64_FORMAT
		             "..%" G_GINT64_FORMAT,
		             path, v, f->min, f->max);
		return NULL;
	}
	return json_node_init_double (json_node_alloc (), v);
}

static JsonNode *
normalize_string (const AcField *f,
                  AcFieldKind kind,
                  JsonNode *node,
                  const gchar *path,
                  GError **error)
{
	const gchar *s;
	glong n;
	if (!check_value_type (node, G_TYPE_STRING, path, "a string", error))
		return NULL;
	s = json_node_get_string (node);
	n = g_utf8_strlen (s, -1);
	if (kind == F_STRING && f->max > 0 && n > f->max) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %ld characters, the limit is %" G_GINT64_FORMAT, path, n, f->max);
		return NULL;
	}
	if (kind == F_ENUM && !g_strv_contains ((const gchar *const *)f->values, s)) {
		g_autofree gchar *list = g_strjoinv ("|", (gchar **)f->values);
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: '%s' is not allowed, expected %s", path, s, list);
		return NULL;
	}
	if (kind == F_ITEM_HASH && !ac_item_hash_is_valid (s)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: '%s' is not an item hash, expected 64 lowercase hex digits "
		             "or an IPFS CID",
		             path, s);
		return NULL;
	}
	if (kind == F_ADDRESS) {
		if (n == 0 || n > 256) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: '%s' is not an address", path, s);
			return NULL;
		}
	}
	if (kind == F_CHAIN) {
		gboolean ok = n >= 1 && n <= 16;
		for (const gchar *p = s; ok && *p != '\0'; p++)
			ok = g_ascii_isupper (*p) || g_ascii_isdigit (*p) || *p == '_';
		if (!ok) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: '%s' is not a chain name, expected e.g. ETH", path, s);
			return NULL;
		}
	}
	return json_node_copy (node);
}

static JsonNode *
normalize_str_map (const AcField *f, JsonNode *node, const gchar *path, GError **error)
{
	JsonObject *obj;
	JsonObjectIter iter;
	const gchar *name;
	JsonNode *member;
	if (!JSON_NODE_HOLDS_OBJECT (node)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: got %s, expected an object of strings", path,
		             node_type_name (node));
		return NULL;
	}
	obj = json_node_get_object (node);
	if (json_object_get_size (obj) > (guint)f->max) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %u entries, the limit is %" G_GINT64_FORMAT, path,
		             json_object_get_size (obj), f->max);
		return NULL;
	}
	json_object_iter_init_ordered (&iter, obj);
	while (json_object_iter_next_ordered (&iter, &name, &member)) {
		g_autofree gchar *sub = g_strdup_printf ("%s.%s", path, name);
		if (g_utf8_strlen (name, -1) > f->min) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: key longer than %" G_GINT64_FORMAT " characters", sub,
			             f->min);
			return NULL;
		}
		if (!check_value_type (member, G_TYPE_STRING, sub, "a string", error))
			return NULL;
		if (g_utf8_strlen (json_node_get_string (member), -1) > f->elem_max) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: value longer than %" G_GINT64_FORMAT " characters", sub,
			             f->elem_max);
			return NULL;
		}
	}
	return json_node_copy (node);
}

static JsonNode *
normalize_array (const AcField *f, JsonNode *node, const gchar *path, GError **error)
{
	JsonArray *arr;
	g_autoptr (JsonArray) out = NULL;
	AcField elem = { 0 };
	if (!JSON_NODE_HOLDS_ARRAY (node)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: got %s, expected an array", path, node_type_name (node));
		return NULL;
	}
	arr = json_node_get_array (node);
	if (f->max > 0 && json_array_get_length (arr) > (guint)f->max) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: %u items, the limit is %" G_GINT64_FORMAT, path,
		             json_array_get_length (arr), f->max);
		return NULL;
	}
	elem.name = f->name;
	elem.kind = f->elem;
	elem.sub = f->sub;
	elem.max = f->elem_max;
	out = json_array_new ();
	for (guint i = 0; i < json_array_get_length (arr); i++) {
		g_autofree gchar *sub = g_strdup_printf ("%s[%u]", path, i);
		JsonNode *v
		    = normalize_value (&elem, f->elem, json_array_get_element (arr, i), sub, error);
		if (v == NULL)
			return NULL;
		json_array_add_element (out, v);
	}
	return json_node_init_array (json_node_alloc (), out);
}

static JsonNode *
normalize_value (const AcField *f,
                 AcFieldKind kind,
                 JsonNode *node,
                 const gchar *path,
                 GError **error)
{
	switch (kind) {
	case F_BOOL:
		if (!check_value_type (node, G_TYPE_BOOLEAN, path, "true or false", error))
			return NULL;
		return json_node_copy (node);
	case F_INT:
		return normalize_int (f, node, path, error);
	case F_FLOAT:
		return normalize_float (f, node, path, error);
	case F_STRING:
	case F_ENUM:
	case F_ITEM_HASH:
	case F_ADDRESS:
	case F_CHAIN:
		return normalize_string (f, kind, node, path, error);
	case F_OBJECT:
		return normalize_object (f->sub, node, path, error);
	case F_VOLUME:
		return normalize_volume (node, path, error);
	case F_ANY_OBJECT: {
		if (!JSON_NODE_HOLDS_OBJECT (node)) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: got %s, expected an object", path, node_type_name (node));
			return NULL;
		}
		if (f->max > 0
		    && json_object_get_size (json_node_get_object (node)) > (guint)f->max) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s: %u entries, the limit is %" G_GINT64_FORMAT, path,
			             json_object_get_size (json_node_get_object (node)), f->max);
			return NULL;
		}
		return json_node_copy (node);
	}
	case F_STR_MAP:
		return normalize_str_map (f, node, path, error);
	case F_ARRAY:
		return normalize_array (f, node, path, error);
	}
	g_set_error (error, AC_ERROR, AC_ERROR_INTERNAL, "%s: unknown field kind", path);
	return NULL;
}

static JsonNode *
normalize_object (const AcSchema *schema, JsonNode *node, const gchar *path, GError **error)
{
	JsonObject *obj;
	g_autoptr (JsonObject) out = NULL;
	JsonObjectIter iter;
	const gchar *name;
	JsonNode *member;

	if (!JSON_NODE_HOLDS_OBJECT (node)) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "%s: got %s, expected an object", path, node_type_name (node));
		return NULL;
	}
	obj = json_node_get_object (node);
	/* unknown keys: the server forbids them (extra="forbid") or silently drops them */
	json_object_iter_init_ordered (&iter, obj);
	while (json_object_iter_next_ordered (&iter, &name, &member)) {
		gboolean known = FALSE;
		for (const AcField *f = schema->fields; f->name != NULL; f++) {
			if (g_strcmp0 (f->name, name) == 0)
				known = TRUE;
		}
		if (!known) {
			g_autoptr (GString) names = g_string_new (NULL);
			for (const AcField *f = schema->fields; f->name != NULL; f++)
				g_string_append_printf (names, "%s%s", names->len ? ", " : "",
				                        f->name);
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "%s.%s: unknown field, expected one of %s", path, name,
			             names->str);
			return NULL;
		}
	}
	out = json_object_new ();
	for (const AcField *f = schema->fields; f->name != NULL; f++) {
		g_autofree gchar *sub = g_strdup_printf ("%s.%s", path, f->name);
		JsonNode *value = json_object_get_member (obj, f->name);
		JsonNode *norm;
		if (value == NULL || JSON_NODE_HOLDS_NULL (value)) {
			if (f->def != NULL) {
				norm = json_from_string (f->def, NULL);
				json_object_set_member (out, f->name, norm);
			} else if (f->required) {
				g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
				             "%s: required field is missing", sub);
				return NULL;
			}
			continue;
		}
		norm = normalize_value (f, f->kind, value, sub, error);
		if (norm == NULL)
			return NULL;
		json_object_set_member (out, f->name, norm);
	}
	return json_node_init_object (json_node_alloc (), out);
}

static JsonObject *
member_object (JsonObject *obj, const gchar *name)
{
	JsonNode *n = obj != NULL ? json_object_get_member (obj, name) : NULL;
	return (n != NULL && JSON_NODE_HOLDS_OBJECT (n)) ? json_node_get_object (n) : NULL;
}

static const gchar *
member_string (JsonObject *obj, const gchar *name)
{
	JsonNode *n = obj != NULL ? json_object_get_member (obj, name) : NULL;
	return (n != NULL && JSON_NODE_HOLDS_VALUE (n)
	        && json_node_get_value_type (n) == G_TYPE_STRING)
	           ? json_node_get_string (n)
	           : NULL;
}

/* the payment, node and GPU rules, the same for every INSTANCE */
static gboolean
check_node_rules (JsonObject *c, GError **error)
{
	JsonObject *env = member_object (c, "environment");
	JsonObject *payment = member_object (c, "payment");
	JsonObject *req = member_object (c, "requirements");
	JsonObject *node = member_object (req, "node");
	const gchar *ptype = member_string (payment, "type");
	gboolean payg = g_strcmp0 (ptype, "superfluid") == 0;
	gboolean credit = g_strcmp0 (ptype, "credit") == 0;
	gboolean has_node_hash = member_string (node, "node_hash") != NULL;
	gboolean confidential = member_object (env, "trusted_execution") != NULL;

	if ((payg || credit) && req != NULL && !has_node_hash) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "INSTANCE content.requirements.node.node_hash: required with payment "
		             "type \"%s\" when requirements are set",
		             ptype);
		return FALSE;
	}
	if (req != NULL && json_object_has_member (req, "gpu")) {
		if (!has_node_hash || g_strcmp0 (member_string (env, "hypervisor"), "qemu") != 0) {
			g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			                     "INSTANCE content.requirements.gpu: needs "
			                     "requirements.node.node_hash and hypervisor \"qemu\"");
			return FALSE;
		}
	}
	if (member_string (node, "terms_and_conditions") != NULL) {
		if (!has_node_hash || !(payg || credit || confidential)) {
			g_set_error_literal (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "INSTANCE content.requirements.node.terms_and_conditions: "
			    "needs node_hash and a PAYG, credit or confidential instance");
			return FALSE;
		}
	}
	return TRUE;
}

/* mode null or "sev": the SNP members are refused (the legacy flow ignores them) */
static gboolean
check_sev_only (JsonObject *tee, GError **error)
{
	static const gchar *const snp_only[] = { "runtime", "measurements", "attestation_port" };
	for (guint i = 0; i < G_N_ELEMENTS (snp_only); i++) {
		if (json_object_has_member (tee, snp_only[i])) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "INSTANCE content.environment.trusted_execution.%s: only with "
			             "mode \"sev_snp\" (this INSTANCE is legacy SEV)",
			             snp_only[i]);
			return FALSE;
		}
	}
	return TRUE;
}

/* mode "sev_snp" (aleph-message's validators, and the stricter choices of docs/snp.md) */
static gboolean
check_snp_rules (JsonObject *tee, GError **error)
{
	JsonNode *pn = json_object_get_member (tee, "policy");
	gint64 policy = pn != NULL ? json_node_get_int (pn) : 1;
	JsonNode *mn = json_object_get_member (tee, "measurements");
	JsonArray *ms = mn != NULL && JSON_NODE_HOLDS_ARRAY (mn) ? json_node_get_array (mn) : NULL;

	if (json_object_has_member (tee, "firmware")) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "INSTANCE content.environment.trusted_execution.firmware: must "
		                     "be null with mode \"sev_snp\" (the OVMF is the runtime "
		                     "bundle's)");
		return FALSE;
	}
	if (json_object_has_member (tee, "attestation_port")) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "INSTANCE content.environment.trusted_execution.attestation_port: "
		                     "must be null for an SEV-SNP instance (the port is the runtime "
		                     "manifest's; CRNs refuse a value)");
		return FALSE;
	}
	/* bit 17 must be one, bits 63:26 zero; the model's default (1) is not an SNP policy */
	if ((policy & (1 << 17)) == 0 || (policy >> 26) != 0) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "INSTANCE content.environment.trusted_execution.policy: 0x%" G_GINT64_MODIFIER
		             "x is not an SEV-SNP guest policy (bit 17 must be set, bits 63:26 "
		             "clear); an SNP INSTANCE carries it explicitly, such as 196608 (0x30000)",
		             policy);
		return FALSE;
	}
	if (member_string (tee, "runtime") == NULL) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "INSTANCE content.environment.trusted_execution.runtime: required "
		                     "with mode \"sev_snp\" (the item hash of the STORE holding the "
		                     "aleph-instance-runtime/1 manifest)");
		return FALSE;
	}
	if (ms == NULL || json_array_get_length (ms) == 0) {
		g_set_error_literal (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		                     "INSTANCE content.environment.trusted_execution.measurements: "
		                     "required with mode \"sev_snp\", 1 to 16 expected launch "
		                     "digests");
		return FALSE;
	}
	for (guint i = 0; i < json_array_get_length (ms); i++) {
		JsonObject *m = json_array_get_object_element (ms, i);
		const gchar *launch = member_string (member_object (m, "registers"), "launch");
		gboolean ok = launch != NULL && strlen (launch) == 96;
		for (const gchar *q = launch; ok && *q != '\0'; q++)
			ok = g_ascii_isdigit (*q) || (*q >= 'a' && *q <= 'f');
		if (!ok) {
			g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			             "INSTANCE content.environment.trusted_execution.measurements[%u]."
			             "registers.launch: '%s' is not a launch digest, expected 96 "
			             "lowercase hex digits",
			             i, launch != NULL ? launch : "");
			return FALSE;
		}
	}
	return TRUE;
}

/* aleph-message InstanceContent / InstanceEnvironment model validators */
static gboolean
check_instance_rules (JsonObject *c, GError **error)
{
	JsonObject *env = member_object (c, "environment");
	JsonObject *tee = member_object (env, "trusted_execution");
	gboolean confidential = tee != NULL;

	if (confidential && g_strcmp0 (member_string (env, "hypervisor"), "qemu") != 0) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "INSTANCE content.environment.trusted_execution: only supported "
		    "with environment.hypervisor \"qemu\"");
		return FALSE;
	}
	if (confidential && g_strcmp0 (member_string (tee, "mode"), "sev_snp") == 0)
		return check_snp_rules (tee, error) && check_node_rules (c, error);
	if (confidential && !check_sev_only (tee, error))
		return FALSE;
	/* optional in aleph-message, but the CRN downloads it unconditionally: a null fails there
	 */
	if (confidential
	    && member_string (member_object (env, "trusted_execution"), "firmware") == NULL) {
		g_set_error_literal (
		    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		    "INSTANCE content.environment.trusted_execution.firmware: required "
		    "(the CRN always downloads it), expected the STORE item hash of the "
		    "OVMF firmware");
		return FALSE;
	}
	return check_node_rules (c, error);
}

static gboolean
check_store_rules (JsonObject *c, GError **error)
{
	const gchar *item_type = member_string (c, "item_type");
	const gchar *item_hash = member_string (c, "item_hash");
	gboolean is_cid = item_hash != NULL && strlen (item_hash) != 64;

	if (g_strcmp0 (item_type, "storage") == 0 && is_cid) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "STORE content.item_hash: '%s' is a CID but item_type is \"storage\", "
		             "expected a sha256 hex digest",
		             item_hash);
		return FALSE;
	}
	if (g_strcmp0 (item_type, "ipfs") == 0 && !is_cid) {
		g_set_error (error, AC_ERROR, AC_ERROR_INVALID_INPUT,
		             "STORE content.item_hash: '%s' is not a CID but item_type is \"ipfs\"",
		             item_hash);
		return FALSE;
	}
	return TRUE;
}

gboolean
ac_aleph_content_type_is_supported (const gchar *type)
{
	return g_strcmp0 (type, "INSTANCE") == 0 || g_strcmp0 (type, "STORE") == 0
	       || g_strcmp0 (type, "FORGET") == 0;
}

JsonNode *
ac_aleph_content_normalize (const gchar *type, JsonNode *content, GError **error)
{
	const AcSchema *schema;
	g_autoptr (JsonNode) out = NULL;
	g_autofree gchar *path = NULL;

	if (g_strcmp0 (type, "INSTANCE") == 0)
		schema = &instance_schema;
	else if (g_strcmp0 (type, "STORE") == 0)
		schema = &store_schema;
	else if (g_strcmp0 (type, "FORGET") == 0)
		schema = &forget_schema;
	else {
		g_set_error (
		    error, AC_ERROR, AC_ERROR_UNSUPPORTED,
		    "message type '%s' is not supported, expected INSTANCE, STORE or FORGET", type);
		return NULL;
	}
	/* the paths read "INSTANCE content.rootfs.size_mib" */
	path = g_strdup_printf ("%s content", type);
	out = normalize_object (schema, content, path, error);
	if (out == NULL)
		return NULL;
	if (schema == &instance_schema && !check_instance_rules (json_node_get_object (out), error))
		return NULL;
	if (schema == &store_schema && !check_store_rules (json_node_get_object (out), error))
		return NULL;
	if (schema == &forget_schema) {
		JsonArray *h = json_node_get_array (
		    json_object_get_member (json_node_get_object (out), "hashes"));
		JsonArray *a = json_node_get_array (
		    json_object_get_member (json_node_get_object (out), "aggregates"));
		if (json_array_get_length (h) + json_array_get_length (a) == 0) {
			g_set_error_literal (
			    error, AC_ERROR, AC_ERROR_INVALID_INPUT,
			    "FORGET content.hashes: nothing to forget, expected at "
			    "least one item hash");
			return NULL;
		}
	}
	return g_steal_pointer (&out);
}
