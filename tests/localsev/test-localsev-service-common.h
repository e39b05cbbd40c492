/*
 * What the tests of the local SEV service share (test-localsev-service.c,
 * test-localsev-service-image.c, test-localsev-service-snp.c): a host whose domains are libvirt's
 * test driver's and whose SEV is the fake's, the fixture, the secret store and the steps of the
 * service.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib/gstdio.h>
#include <libvirt/virterror.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ac-error.h"
#include "ac-image-build.h"
#include "ac-localsev-domain.h"
#include "ac-localsev-image.h"
#include "ac-localsev-store.h"
#include "ac-secret-store.h"
#include "ac-localsev-service.h"
#include "ac-sev-host-fake.h"
#include "ac-sev-host-libvirt.h"
#include "ac-sev-secret.h"
#include "ac-virt.h"
#include "../test-util.h"

#define PASSPHRASE "correct horse battery staple"
#define UUID "6a0d2d0b-2c8e-4f55-9f34-4e8b4b1f0c21"
#define NAME "conf-vm"

extern AcSevPsp *psp;         /* the synthetic platform (tests/data/localsev/platform) */
extern GString *logged;       /* every log line, to check no passphrase reaches one */
extern AcSevPsp *psp_other;   /* another platform, trusted too */
extern virConnectPtr secrets; /* secret:///embed, one per process */
extern gchar *secrets_root;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (virSecret, virSecretFree)

G_DECLARE_FINAL_TYPE (TestHost, test_host, TEST, HOST, GObject)

struct _TestHost {
	GObject parent_instance;
	AcSevHost *fake;    /* SEV info, launch measurement, secret injection */
	AcSevHost *libvirt; /* domain state */
	virConnectPtr conn;
};

/* ---- fixture ------------------------------------------------------------------------------- */

typedef struct {
	gchar *tmp;
	gchar *firmware;
	gchar *disk;
	gchar *sha256;
	virConnectPtr conn;
	virDomainPtr dom;
	AcSevHostFake *fake;
	TestHost *host;
	AcLocalsevOptions *opts;
	AcStatus *status;    /* what the daemon would have recorded last */
	GPtrArray *statuses; /* of AcStatus: the intermediate ones (AcLocalsevServiceRun) */
	GCancellable *cancellable;
	guint cancel_at; /* cancel once a "building" status reaches this progress (0: never) */
} Fixture;

gchar *
data_path (const gchar *rel);
gchar *
domain_xml (Fixture *f, const gchar *policy);
void
define (Fixture *f, const gchar *policy);
void
put_secret_private (Fixture *f, const gchar *value, gsize len, gboolean private);
void
put_secret (Fixture *f, const gchar *value, gsize len);
void
fixture_setup (Fixture *f, gconstpointer data);
void
fixture_teardown (Fixture *f, gconstpointer data);
gboolean
reconcile (Fixture *f, GError **error);
void
on_status (const AcStatus *status, gpointer user_data);
gboolean
reconcile_run (Fixture *f, GError **error);
guint
building_statuses (Fixture *f);
gchar *
inactive_xml (Fixture *f);
AcLocalsevRecord *
record (Fixture *f);
void
start (Fixture *f, gboolean paused);
void
destroy (Fixture *f);
void
assert_error (GError *error, gint code, const gchar *names);
void
assert_nothing_injected (Fixture *f);
void
assert_failed_status (Fixture *f, const gchar *step, gint code);
gchar *
assert_defined_with (Fixture *f, const AcLocalsevRecord *r);
/* an image can be built here: as root, with each of @tools (NULL-terminated) in PATH; the test
 * is skipped (g_test_skip) otherwise */
gboolean
can_build (const gchar *const *tools);
void
check_secret (Fixture *f);

void
localsev_service_test_init (int *argc, char ***argv);
int
localsev_service_test_run (void);
