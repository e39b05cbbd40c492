/*
 * virt-aleph tag, untag, validate (cli-tag.c) and status (cli-status.c): what they share.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libvirt/libvirt.h>

#include "ac-cli.h"

G_BEGIN_DECLS

/* DOMAIN on the command's connection (--connect); @conn_out is set when a domain is returned */
virDomainPtr
cli_tag_open_domain (AcCliGlobal *global,
                     const gchar *name,
                     virConnectPtr *conn_out,
                     GError **error);

G_END_DECLS
