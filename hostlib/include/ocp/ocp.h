/**
 * @file ocp/ocp.h
 * libocp, the terminal side of One-Card Pass: everything in one include.
 *
 * Conventions of the whole API: every function returns an ocp_status (0 is
 * success, ocp_strerror() says the rest); memory is the caller's except
 * the objects an `_open` function makes, which its `_close` frees; lengths
 * go in and come back out through pointers.  A transport, a session and a
 * key store are used by one thread at a time; different ones may be used
 * from different threads at once.
 */
#ifndef OCP_OCP_H
#define OCP_OCP_H

#include "ocp/batch.h"
#include "ocp/card.h"
#include "ocp/ccid.h"
#include "ocp/export.h"
#include "ocp/issue.h"
#include "ocp/keystore.h"
#include "ocp/pcsc.h"
#include "ocp/status.h"
#include "ocp/trace.h"
#include "ocp/transport.h"
#include "ocp/wire.h"

#endif
