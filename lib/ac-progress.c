/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A tree of weighted steps. Each node has a list of steps with weights; the current step
 * may have a child node that reports its own fraction. The root emits ::changed with the
 * overall fraction and the current step path whenever a leaf moves. Drawing it (a bar, lines,
 * NDJSON events) is the business of whoever listens: the CLI's ac-cli-progress.c.
 */
#include "ac-progress.h"

typedef struct {
	gchar *id;
	guint weight;
} AcProgressStep;

struct _AcProgress {
	GObject parent_instance;
	gchar *id;
	GArray *steps; /* of AcProgressStep */
	guint current; /* index of the step in progress */
	guint total_weight;
	gdouble leaf_fraction; /* used when there are no steps */
	guint64 leaf_done;     /* the units of the last ac_progress_set_fraction() */
	guint64 leaf_total;
	AcProgress *child;     /* owned; for the current step */
	AcProgress *parent;    /* weak */
};

enum { SIGNAL_CHANGED, SIGNAL_LAST };
static guint signals[SIGNAL_LAST] = { 0 };

G_DEFINE_TYPE (AcProgress, ac_progress, G_TYPE_OBJECT)

static void
ac_progress_step_clear (gpointer data)
{
	AcProgressStep *step = data;
	g_free (step->id);
}

static AcProgress *
ac_progress_get_root (AcProgress *self)
{
	while (self->parent != NULL)
		self = self->parent;
	return self;
}

gdouble
ac_progress_get_fraction (AcProgress *self)
{
	guint done_weight = 0;
	gdouble frac;

	g_return_val_if_fail (AC_IS_PROGRESS (self), 0.0);
	if (self->steps->len == 0 || self->total_weight == 0)
		return self->leaf_fraction;
	for (guint i = 0; i < self->current && i < self->steps->len; i++)
		done_weight += g_array_index (self->steps, AcProgressStep, i).weight;
	frac = (gdouble)done_weight;
	if (self->current < self->steps->len && self->child != NULL)
		frac += g_array_index (self->steps, AcProgressStep, self->current).weight *
			ac_progress_get_fraction (self->child);
	return CLAMP (frac / self->total_weight, 0.0, 1.0);
}

/**
 * ac_progress_get_step_path:
 *
 * The ids of the current steps from this node down, joined with '/': "build/encrypt".
 */
gchar *
ac_progress_get_step_path (AcProgress *self)
{
	g_autoptr(GString) str = g_string_new (NULL);
	for (AcProgress *node = self; node != NULL; node = node->child) {
		if (node->current >= node->steps->len)
			break;
		if (str->len > 0)
			g_string_append_c (str, '/');
		g_string_append (str, g_array_index (node->steps, AcProgressStep, node->current).id);
	}
	return g_string_free (g_steal_pointer (&str), FALSE);
}

static void
ac_progress_notify (AcProgress *self)
{
	AcProgress *root = ac_progress_get_root (self);
	gdouble fraction = ac_progress_get_fraction (root);
	g_autofree gchar *path = ac_progress_get_step_path (root);

	g_signal_emit (root, signals[SIGNAL_CHANGED], 0, fraction, path);
}

/**
 * ac_progress_add_step:
 * @id: a short machine-readable name ("encrypt")
 * @weight: relative cost of the step (any unit; only ratios matter)
 */
void
ac_progress_add_step (AcProgress *self, const gchar *id, guint weight)
{
	AcProgressStep step = { g_strdup (id), weight };
	g_return_if_fail (AC_IS_PROGRESS (self));
	g_return_if_fail (id != NULL);
	g_array_append_val (self->steps, step);
	self->total_weight += weight;
}

/**
 * ac_progress_get_child:
 *
 * The progress of the current step, for a callee to subdivide. Owned by @self.
 */
AcProgress *
ac_progress_get_child (AcProgress *self)
{
	g_return_val_if_fail (AC_IS_PROGRESS (self), NULL);
	if (self->child == NULL) {
		self->child = ac_progress_new (self->id);
		self->child->parent = self;
	}
	return self->child;
}

void
ac_progress_step_done (AcProgress *self)
{
	g_return_if_fail (AC_IS_PROGRESS (self));
	if (self->current >= self->steps->len) {
		g_warning ("progress %s: step_done() with no step left", self->id);
		return;
	}
	g_clear_object (&self->child);
	self->current++;
	ac_progress_notify (self);
}

/**
 * ac_progress_set_fraction:
 *
 * For a leaf (a node without steps): @done of @total units are finished.
 */
void
ac_progress_set_fraction (AcProgress *self, guint64 done, guint64 total)
{
	g_return_if_fail (AC_IS_PROGRESS (self));
	self->leaf_fraction = total == 0 ? 1.0 : CLAMP ((gdouble)done / (gdouble)total, 0.0, 1.0);
	self->leaf_done = MIN (done, total);
	self->leaf_total = total;
	ac_progress_notify (self);
}

/**
 * ac_progress_peek_child:
 *
 * The progress of the current step if a callee asked for it, else %NULL (never creates one).
 */
AcProgress *
ac_progress_peek_child (AcProgress *self)
{
	g_return_val_if_fail (AC_IS_PROGRESS (self), NULL);
	return self->child;
}

/**
 * ac_progress_get_units:
 *
 * The units (bytes, for the builder and the uploads) the deepest current step last reported
 * with ac_progress_set_fraction(): FALSE when it reported none.
 */
gboolean
ac_progress_get_units (AcProgress *self, guint64 *done, guint64 *total)
{
	AcProgress *node = self;
	g_return_val_if_fail (AC_IS_PROGRESS (self), FALSE);
	while (node->child != NULL)
		node = node->child;
	if (node->leaf_total == 0)
		return FALSE;
	*done = node->leaf_done;
	*total = node->leaf_total;
	return TRUE;
}

void
ac_progress_finished (AcProgress *self)
{
	g_return_if_fail (AC_IS_PROGRESS (self));
	g_clear_object (&self->child);
	self->current = self->steps->len;
	self->leaf_fraction = 1.0;
	ac_progress_notify (self);
}

/* the id given to ac_progress_new(): what a drawing calls the whole ("build") */
const gchar *
ac_progress_get_id (AcProgress *self)
{
	g_return_val_if_fail (AC_IS_PROGRESS (self), NULL);
	return self->id;
}

static void
ac_progress_finalize (GObject *object)
{
	AcProgress *self = AC_PROGRESS (object);
	g_clear_object (&self->child);
	g_array_unref (self->steps);
	g_free (self->id);
	G_OBJECT_CLASS (ac_progress_parent_class)->finalize (object);
}

static void
ac_progress_class_init (AcProgressClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS (klass);
	object_class->finalize = ac_progress_finalize;

	/**
	 * AcProgress::changed:
	 * @fraction: 0.0 … 1.0 overall
	 * @step: the current step path
	 */
	signals[SIGNAL_CHANGED] = g_signal_new ("changed",
						G_TYPE_FROM_CLASS (object_class),
						G_SIGNAL_RUN_LAST,
						0,
						NULL,
						NULL,
						NULL,
						G_TYPE_NONE,
						2,
						G_TYPE_DOUBLE,
						G_TYPE_STRING);
}

static void
ac_progress_init (AcProgress *self)
{
	self->steps = g_array_new (FALSE, TRUE, sizeof (AcProgressStep));
	g_array_set_clear_func (self->steps, ac_progress_step_clear);
}

AcProgress *
ac_progress_new (const gchar *id)
{
	AcProgress *self = g_object_new (AC_TYPE_PROGRESS, NULL);
	self->id = g_strdup (id != NULL ? id : "progress");
	return self;
}
