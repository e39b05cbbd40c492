/*
 * What the tests of the local SEV flow against the software PSP share (test-localsev.c,
 * test-localsev-refusals.c): the synthetic platforms, the fixture (a state directory, the
 * firmware, a fake host) and the steps prepare → start → attest.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "ac-error.h"
#include "ac-localsev.h"
#include "ac-localsev-domain.h"
#include "ac-sev-host-fake.h"
#include "ac-sev-policy.h"
#include "ac-sev-secret.h"
#include "../test-util.h"
#if HAVE_LIBVIRT
#include "ac-virt.h"
#endif

#define PASSPHRASE "correct horse battery staple"
#define UUID "6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c21"

extern AcSevPsp *psp;       /* the synthetic platform (tests/data/localsev/platform) */
extern AcSevPsp *psp_other; /* another platform, also trusted */

typedef struct {
	gchar *tmp;
	gchar *firmware;
	gchar *disk;
	gchar *sha256;
	AcSevHostFake *fake;
	AcLocalsevOptions *opts;
} Fixture;

gchar *
data_path (const gchar *rel);
void
copy_file (const gchar *from, const gchar *to);
void
fixture_setup (Fixture *f, gconstpointer data);
void
fixture_teardown (Fixture *f, gconstpointer data);
gchar *
domain_xml (Fixture *f, const gchar *policy, guint vcpus);
AcTag *
tag_of (const gchar *xml);
AcLocalsevPrepared *
prepare (Fixture *f, const AcTag *tag, const gchar *xml);
void
start (Fixture *f, const gchar *xml, gboolean paused);
void
assert_refused (Fixture *f, GError *error, gint code, const gchar *names);
/* attest (with PASSPHRASE) must refuse as assert_refused says; the error is left in *error */
void
attest_refused (Fixture *f,
                const AcTag *tag,
                const gchar *xml,
                gint code,
                const gchar *names,
                GError **error);
/* attest (with PASSPHRASE) must succeed, PASSPHRASE injected */
void
attest_ok (Fixture *f, const AcTag *tag, const gchar *xml);
void
assert_mode (const gchar *path, guint mode);
gchar *
session_file (Fixture *f, const AcLocalsevRecord *r, const gchar *suffix);
void
assert_libvirt_valid (const gchar *xml);
void
assert_libvirt_round_trip (const AcLocalsevRecord *record, const gchar *xml);
void
check_secret (Fixture *f);
void
happy_path (Fixture *f, const gchar *policy, guint vcpus);

/* loads the platforms; returns g_test_run()'s result after freeing them */
int
localsev_test_run (void);
