/*
 * The client tests' attest-agent: the devnet's (devnet/ac-devnet-snp-agent.h), its reports
 * from a software guest, and the last checked "luks_passphrase" kept for the test to compare.
 * See test-aleph-snp-agent.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "test-aleph-snp-agent.h"

#include "ac-devnet-snp-agent.h"

struct _TestSnpAgent {
	AcSnpGuest *guest;
	AcDevnetSnpAgent *agent;
	GMutex lock;
	TestSnpAgentSeen seen;
	gboolean stopped;
};

static GBytes *
agent_report (gpointer user_data, const guint8 *report_data, GError **error)
{
	TestSnpAgent *self = user_data;
	return ac_snp_guest_get_report (self->guest, report_data, 1, error);
}

static void
agent_event (gpointer user_data, const AcDevnetSnpAgentEvent *event)
{
	TestSnpAgent *self = user_data;
	const gchar *luks;
	if (event->type != AC_DEVNET_SNP_AGENT_EVENT_INJECTION || event->secrets == NULL)
		return;
	luks = ac_snp_secrets_lookup (event->secrets, AC_SNP_INJECT_LUKS_KEY, NULL);
	if (luks == NULL)
		return;
	g_mutex_lock (&self->lock);
	g_free (self->seen.luks_passphrase);
	self->seen.luks_passphrase = g_strdup (luks);
	g_mutex_unlock (&self->lock);
}

TestSnpAgent *
test_snp_agent_start (const TestSnpAgentConfig *config)
{
	TestSnpAgent *self = g_new0 (TestSnpAgent, 1);
	AcDevnetSnpAgentConfig c = { 0 };
	g_autoptr (GError) error = NULL;

	g_mutex_init (&self->lock);
	self->guest = config->guest;
	c.cert = config->cert;
	c.key = config->key;
	c.later_cert = config->later_cert;
	c.later_key = config->later_key;
	memcpy (c.pk_raw, config->pk_raw, sizeof c.pk_raw);
	c.owner = config->owner;
	c.report = agent_report;
	c.event = agent_event;
	c.user_data = self;
	c.stale_nonce = config->stale_nonce;
	c.fresh_answer = config->fresh_answer;
	c.inject_answer = config->inject_answer;
	c.hello = config->hello;
	c.silent = config->silent;
	self->agent = ac_devnet_snp_agent_start (&c, &error);
	g_assert_no_error (error);
	return self;
}

guint16
test_snp_agent_get_port (TestSnpAgent *self)
{
	return ac_devnet_snp_agent_get_port (self->agent);
}

gsize
test_snp_agent_peek_bytes (TestSnpAgent *self)
{
	AcDevnetSnpAgentSeen s;
	ac_devnet_snp_agent_get_seen (self->agent, &s);
	return (gsize)s.bytes;
}

const TestSnpAgentSeen *
test_snp_agent_stop (TestSnpAgent *self)
{
	if (!self->stopped) {
		AcDevnetSnpAgentSeen s;
		ac_devnet_snp_agent_stop (self->agent);
		ac_devnet_snp_agent_get_seen (self->agent, &s);
		self->seen.handshakes = s.handshakes;
		self->seen.failed = s.failed;
		self->seen.bytes = (gsize)s.bytes;
		self->seen.fresh = s.fresh;
		self->seen.injections = s.injections;
		self->seen.injections_ok = s.injections_ok;
		self->stopped = TRUE;
	}
	return &self->seen;
}

void
test_snp_agent_free (TestSnpAgent *self)
{
	if (self == NULL)
		return;
	test_snp_agent_stop (self);
	ac_devnet_snp_agent_free (self->agent);
	g_free (self->seen.luks_passphrase);
	g_mutex_clear (&self->lock);
	g_free (self);
}
